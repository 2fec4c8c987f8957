// What a pass of the cheap checks changed: the state logic of mko health, apart from storage, so
// that it reads in one place. A check that keeps its status is no event; a new status is one event
// (pass -> fail, fail -> warn, pass -> unknown when a host stopped answering, ...). A check seen for
// the first time is an event only when it does not pass: a fleet that is fine says nothing.
import { CHECK_STATUSES, worstStatus, type CheckResult, type CheckStatus } from './checks.js';

export type CheckScope = CheckResult['scope'];

/** What identifies a check's state: a check id on one subject. */
export const stateKey = (r: Pick<CheckResult, 'scope' | 'subject' | 'id'>): string => `${r.scope}\u0000${r.subject}\u0000${r.id}`;

export interface StatusChange {
  result: CheckResult;
  /** null: the check is new (never stored for this subject). */
  from: CheckStatus | null;
}

/**
 * One result per (scope, subject, check): a cluster check may come back from several members; the
 * worst of them counts (a member that sees no quorum outweighs one that does).
 */
export function oneResultPerCheck(results: readonly CheckResult[]): CheckResult[] {
  const kept = new Map<string, CheckResult>();
  for (const r of results) {
    const key = stateKey(r);
    const before = kept.get(key);
    if (!before || worstStatus([before, r]) !== before.status) kept.set(key, r);
  }
  return [...kept.values()];
}

/** The results whose status differs from the stored one (or that are new and not passing). */
export function statusChanges(previous: ReadonlyMap<string, CheckStatus>, results: readonly CheckResult[]): StatusChange[] {
  const changes: StatusChange[] = [];
  for (const result of results) {
    if (!CHECK_STATUSES.includes(result.status)) throw new Error(`check ${result.id} on ${result.subject}: status ${String(result.status)} is none of ${CHECK_STATUSES.join(', ')}`);
    const from = previous.get(stateKey(result)) ?? null;
    if (from === result.status) continue;
    if (from === null && result.status === 'pass') continue;
    changes.push({ result, from });
  }
  return changes;
}

/**
 * What runDoctor reports in place of a node's report when it has none (unreachable, no sudo, the
 * run broke there). Those results exist only while something is wrong: nothing reports them as
 * passing later, so absence has to mean "fixed" (see resolvedByAbsence).
 */
export const MISSING_REPORT_CHECKS: ReadonlySet<string> = new Set(['ssh.reachable', 'ssh.sudo', 'diagnostics.run']);

export interface StoredCheck {
  scope: CheckScope;
  subject: string;
  id: string;
  severity: CheckResult['severity'];
  status: CheckStatus;
}

/**
 * A node that reported in full this pass (any result beside the missing-report ones) no longer
 * has the checks it did not report: a stored non-passing one (say ssh.reachable, from when the node
 * was off) passes now. A node that did not report keeps its other checks as they were: an
 * unreachable node is one event (ssh.reachable), not one per check.
 */
export function resolvedByAbsence(stored: readonly StoredCheck[], results: readonly CheckResult[]): CheckResult[] {
  const reported = new Set(results.filter((r) => r.scope === 'node' && !MISSING_REPORT_CHECKS.has(r.id)).map((r) => r.subject));
  const present = new Set(results.map(stateKey));
  return stored
    .filter((s) => s.scope === 'node' && s.status !== 'pass' && reported.has(s.subject) && !present.has(stateKey(s)))
    .map((s) => ({ id: s.id, scope: s.scope, subject: s.subject, severity: s.severity, status: 'pass', summary: `${s.id} no longer reported: ${s.subject} reports in full again`, evidence: '', fix: null, cheap: true }));
}
