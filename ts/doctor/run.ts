import type { Db } from '../db/index.js';
import { resolveTarget, type FleetNode } from '../fleet/index.js';
import { shellWord, sshLogin } from '../inventory/index.js';
import { sudoersFileFor } from '../ssh/index.js';
import type { CheckResult } from '../health/checks.js';
import { runFields, runForHostReports, type HostFile, type PlaybookResult, type RunContext } from '../ops/index.js';
import { parseDiagnosticsReport } from './report.js';
import { storeResults } from './store.js';

/** The kinds of operation that store check results: mko doctor's runs, and mko health watch's passes. */
export const CHECK_RUN_KINDS = ['doctor', 'health'] as const;
export type CheckRunKind = (typeof CHECK_RUN_KINDS)[number];
export const isCheckRun = (kind: string): kind is CheckRunKind => (CHECK_RUN_KINDS as readonly string[]).includes(kind);

export interface DoctorOptions {
  /** Only the checks marked cheap (what mko health watch runs on a schedule). */
  cheapOnly?: boolean;
  /** More role variables, e.g. diagnostics_cert_warn_days (thresholds). */
  vars?: Record<string, unknown>;
  /** The operation's kind: 'doctor', or 'health' for a pass of mko health watch (pruned by it). */
  kind?: CheckRunKind;
}

export interface DoctorRun {
  operationId: number;
  results: CheckResult[];
  target: { name: string; kind: 'node' | 'cluster' };
  status: PlaybookResult['status'];
  exitMeaning: string;
}

/** A run found a problem that needs acting on now: a critical check failed. mko doctor exits 2. */
export function hasFailures(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail' && r.severity === 'critical');
}

const failed = (id: string, host: string, summary: string, evidence: string, fix: string | null): CheckResult => ({
  id, scope: 'node', subject: host, severity: 'critical', status: 'fail', summary, evidence, fix, cheap: true,
});

/**
 * The fix for a node whose login user lost passwordless sudo: install the same sudoers drop-in as
 * the node's set-up instructions (checked by visudo first), over an ssh -t login so that sudo can
 * ask for the user's password once; it ends with `sudo -n true`, so it fails unless it worked.
 */
export function sudoFix(node: FleetNode, dataDir: string): string {
  if (node.sshUser === 'root') return `mko node test-ssh ${node.hostname}`;
  const script = [
    `f=$(mktemp) && echo "${node.sshUser} ALL=(ALL:ALL) NOPASSWD: ALL" > "$f" && sudo visudo -cf "$f"`,
    `sudo install -m 0440 -o root -g root "$f" ${sudoersFileFor(node.sshUser)}; rm -f "$f"; sudo -n true`,
  ].join(' && ');
  return `${sshLogin(node, dataDir, { tty: true })} ${shellWord(script)}`;
}

/** What a host without a report says: unreachable, no sudo, or a run that broke there. */
function missingReport(file: Exclude<HostFile, { status: 'reported' }>, node: FleetNode, dataDir: string): CheckResult {
  if (file.status === 'unreachable') {
    return failed('ssh.reachable', file.host, `cannot reach ${file.host} over SSH`, file.reason, `mko node test-ssh ${file.host}`);
  }
  if (/sudo|become|privilege|password is required/i.test(file.reason)) {
    return failed('ssh.sudo', file.host, `${node.sshUser} cannot run commands as root with sudo on ${file.host}: give it passwordless sudo again (the fix asks for its password once)`,
      file.reason, sudoFix(node, dataDir));
  }
  return failed('diagnostics.run', file.host, `the checks could not run on ${file.host}`, file.reason, null);
}

/**
 * Run mko doctor's checks on a node, or on every node of a cluster: the diagnostics playbook
 * writes one report per reached host; a host without one gives a failed result of its own
 * (ssh.reachable when it could not be reached). The results are stored with the run's operation.
 */
export async function runDoctor(db: Db, ctx: RunContext, target: string, opts: DoctorOptions = {}): Promise<DoctorRun> {
  const resolved = resolveTarget(db, target);
  const { result, files } = await runForHostReports(db, {
    kind: opts.kind ?? 'doctor',
    target: resolved.name,
    playbook: 'doctor.yml',
    limit: resolved.limit,
    reportDirVar: 'diagnostics_report_dir',
    hosts: resolved.nodes.map((n) => n.hostname),
    extraVars: { ...opts.vars, diagnostics_cheap_only: opts.cheapOnly === true },
    ...runFields(ctx),
  });
  const nodeResults: CheckResult[] = [];
  const clusterResults: CheckResult[] = [];
  resolved.nodes.forEach((node, i) => {
    const file = files[i];
    if (!file) return;
    if (file.status !== 'reported') {
      nodeResults.push(missingReport(file, node, ctx.dataDir));
      return;
    }
    const parsed = parseDiagnosticsReport(file.text);
    if (!parsed.ok) {
      nodeResults.push(failed('diagnostics.run', node.hostname, `the report of ${node.hostname} was rejected`, parsed.error, null));
      return;
    }
    for (const check of parsed.value.checks) (check.scope === 'cluster' ? clusterResults : nodeResults).push(check);
  });
  const results = [...nodeResults, ...clusterResults];
  storeResults(db, result.operationId, results);
  return { operationId: result.operationId, results, target: { name: resolved.name, kind: resolved.kind }, status: result.status, exitMeaning: result.exitMeaning };
}
