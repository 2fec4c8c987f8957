// Shared by every playbook that writes one JSON file per host to the controller (hardware,
// prerequisites, wol, nut, cluster status): give the playbook a private directory, read what came back.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { dataDirFor } from '../paths.js';
import { makeRunDir } from './run-dir.js';
import { runPlaybook, type PlaybookResult, type PlaybookRun } from './runner.js';

export type HostFile =
  | { host: string; status: 'reported'; text: string }
  | { host: string; status: 'unreachable' | 'failed'; reason: string };

export interface ReportingRun extends Omit<PlaybookRun, 'extraVars'> {
  /** The extra variable that names the report directory, e.g. hardware_report_dir. */
  reportDirVar: string;
  /** Inventory hostnames whose <host>.json is expected. */
  hosts: string[];
  extraVars?: Record<string, unknown>;
}

/**
 * Run a playbook that writes `<dir>/<inventory_hostname>.json` per host into a private (0700)
 * temporary directory, and return each expected host's file or why there is none.
 */
export async function runForHostReports(db: Db, run: ReportingRun): Promise<{ result: PlaybookResult; files: HostFile[] }> {
  const dir = makeRunDir(dataDirFor(run.dbPath), 'reports');
  try {
    const { reportDirVar, hosts, extraVars, ...rest } = run;
    const result = await runPlaybook(db, { ...rest, extraVars: { ...extraVars, [reportDirVar]: dir } });
    const files = hosts.map((host): HostFile => {
      const file = path.join(dir, `${host}.json`);
      if (existsSync(file)) return { host, status: 'reported', text: readFileSync(file, 'utf8') };
      const recap = result.recap[host];
      const failure = result.failures[host];
      const message = failure?.message.split('\n')[0] || undefined;
      // With ignore_unreachable, ansible-core counts the host as ok (unreachable=0, ignored=1): the failure says it.
      if ((recap && recap.unreachable > 0) || failure?.status === 'unreachable') {
        return { host, status: 'unreachable', reason: message ?? 'unreachable' };
      }
      if (result.status === 'cancelled') return { host, status: 'failed', reason: 'cancelled before its report was written' };
      if (message) return { host, status: 'failed', reason: message };
      if (!recap) return { host, status: 'failed', reason: `not in the run (ansible-playbook: ${result.exitMeaning})` };
      return { host, status: 'failed', reason: 'the playbook wrote no report for it' };
    });
    return { result, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
