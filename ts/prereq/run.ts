import type { Db } from '../db/index.js';
import { resolveTarget } from '../fleet/index.js';
import { reportChecker } from '../hardware/index.js';
import { runFields, runForHostReports, type PlaybookResult, type RunContext } from '../ops/index.js';

/** One check of the prerequisites role (roles/prerequisites/tasks/evaluate.yml). */
export interface PrereqCheck {
  name: string;
  /** A failing hard check fails the node; the others are recommendations. */
  hard: boolean;
  ok: boolean;
  detail: string;
  /** Failing before this run, passing after its fix. */
  fixed: boolean;
}

/** What the role writes per host to `<prerequisites_report_dir>/<inventory_hostname>.json`. */
export interface PrereqReport {
  schema: 1;
  host: string;
  checked_at: string;
  fix: boolean;
  check_mode: boolean;
  reboot_required: boolean;
  passed: boolean;
  checks: PrereqCheck[];
}

const prereqReportSchema = {
  type: 'object',
  properties: {
    schema: { const: 1 },
    host: { type: 'string' },
    checked_at: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' },
    fix: { type: 'boolean' },
    check_mode: { type: 'boolean' },
    reboot_required: { type: 'boolean' },
    passed: { type: 'boolean' },
    checks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          hard: { type: 'boolean' },
          ok: { type: 'boolean' },
          detail: { type: 'string' },
          fixed: { type: 'boolean' },
        },
        required: ['name', 'hard', 'ok', 'detail', 'fixed'],
      },
    },
  },
  required: ['schema', 'host', 'checked_at', 'fix', 'check_mode', 'reboot_required', 'passed', 'checks'],
};

export const parsePrereqReport = reportChecker<PrereqReport>(prereqReportSchema);

export type HostPrereqOutcome =
  | { host: string; status: 'reported'; report: PrereqReport }
  | { host: string; status: 'rejected' | 'unreachable' | 'failed'; reason: string };

export interface PrereqResult {
  target: string;
  operationId: number;
  status: PlaybookResult['status'];
  exitCode: number | null;
  exitMeaning: string;
  hosts: HostPrereqOutcome[];
  /** Every host reported and passed every hard check. */
  passed: boolean;
}

export interface PrereqOptions {
  /** Fix what can be fixed (install-prerequisites); false checks only, in Ansible's --check mode. */
  fix: boolean;
  /** Refresh the apt cache before installing (default true). */
  aptUpdate?: boolean;
  /** More role variables, e.g. prerequisites_ports. */
  vars?: Record<string, unknown>;
}

/** Run the prerequisites playbook on the given inventory hosts and read each host's report. */
export async function runPrerequisites(
  db: Db,
  selection: { target: string; limit: string; hosts: string[] },
  options: RunContext & PrereqOptions,
): Promise<PrereqResult> {
  const { result, files } = await runForHostReports(db, {
    kind: options.fix ? 'prerequisites-install' : 'prerequisites-check',
    target: selection.target,
    playbook: 'prerequisites.yml',
    limit: selection.limit,
    check: !options.fix,
    reportDirVar: 'prerequisites_report_dir',
    hosts: selection.hosts,
    extraVars: { ...options.vars, prerequisites_fix: options.fix, prerequisites_apt_update: options.aptUpdate ?? true },
    ...runFields(options),
  });
  const hosts = files.map((file): HostPrereqOutcome => {
    if (file.status !== 'reported') return file;
    const parsed = parsePrereqReport(file.text);
    return parsed.ok ? { host: file.host, status: 'reported', report: parsed.value } : { host: file.host, status: 'rejected', reason: parsed.error };
  });
  return {
    target: selection.target,
    operationId: result.operationId,
    status: result.status,
    exitCode: result.exitCode,
    exitMeaning: result.exitMeaning,
    hosts,
    passed: hosts.every((h) => h.status === 'reported' && h.report.passed),
  };
}

/** Check (or, with fix, install) the prerequisites of a node or of every node of a cluster. */
export function checkPrerequisites(db: Db, ref: string, options: RunContext & PrereqOptions): Promise<PrereqResult> {
  const target = resolveTarget(db, ref);
  return runPrerequisites(db, { target: target.name, limit: target.limit, hosts: target.nodes.map((n) => n.hostname) }, options);
}
