// The result of one health check, as the diagnostics role reports it and as mko stores, prints and
// serves it. `mko doctor` runs every check; `mko health watch` runs the cheap ones on a schedule and
// records a health event when a check's status changes. The role writes one JSON file per host
// (`<diagnostics_report_dir>/<inventory_hostname>.json`, shape `DiagnosticsReport`); checks that need
// every member at once (quorum, clock skew, /etc/hosts across members) come back in the report of the
// host that ran them, with scope 'cluster'.

/** pass: fine. warn: works, but act soon. fail: broken or at risk now. unknown: could not tell (host unreachable, tool missing). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';

export const CHECK_STATUSES: readonly CheckStatus[] = ['pass', 'warn', 'fail', 'unknown'];

/** How bad a non-pass result of this check is: critical ones make `mko doctor` exit 2. */
export type CheckSeverity = 'critical' | 'warning' | 'info';

export interface CheckResult {
  /** Stable id, dotted: e.g. `ssh.sudo`, `hosts.resolve`, `microk8s.services`, `dqlite.quorum`, `certs.expiry`. */
  id: string;
  scope: 'node' | 'cluster';
  /** The node's name for scope 'node', the cluster's name for scope 'cluster'. */
  subject: string;
  severity: CheckSeverity;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** What was seen that says so (command output, values), short; may be empty. */
  evidence: string;
  /** The exact command that fixes it, or null when there is nothing to run (pass, or no fix). */
  fix: string | null;
  /** Part of the cheap set run by `mko health watch` (no heavy commands, seconds per host). */
  cheap: boolean;
}

/** What the diagnostics role writes per host. */
export interface DiagnosticsReport {
  host: string;
  /** ISO 8601, controller clock, when the host's checks finished. */
  checkedAt: string;
  checks: CheckResult[];
}

/** The worst status of a set: fail > warn > unknown > pass. */
export function worstStatus(results: readonly Pick<CheckResult, 'status'>[]): CheckStatus {
  const rank: Record<CheckStatus, number> = { pass: 0, unknown: 1, warn: 2, fail: 3 };
  return results.reduce<CheckStatus>((worst, r) => (rank[r.status] > rank[worst] ? r.status : worst), 'pass');
}

const STATUS_ORDER: Record<CheckStatus, number> = { fail: 0, warn: 1, unknown: 2, pass: 3 };

/** Results with what needs acting on first: fail, warn, unknown, pass (the order given within each). */
export function worstFirst<T extends Pick<CheckResult, 'status'>>(results: readonly T[]): T[] {
  return [...results].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status]);
}
