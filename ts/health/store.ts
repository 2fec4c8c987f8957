// The latest result of each check and the health events: the tables health_checks and
// health_events of migration 0012 (notifiers and deliveries are notifiers.ts's).
import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import type { CheckResult, CheckSeverity, CheckStatus } from './checks.js';
import { oneResultPerCheck, resolvedByAbsence, stateKey, statusChanges, type CheckScope, type StoredCheck } from './changes.js';

/** A check's latest result, and since when it has had that status. */
export interface HealthState {
  scope: CheckScope;
  subject: string;
  id: string;
  severity: CheckSeverity;
  status: CheckStatus;
  summary: string;
  evidence: string;
  fix: string | null;
  since: string;
  checkedAt: string;
  operationId: number | null;
}

/** A check changed status. */
export interface HealthEvent {
  id: number;
  at: string;
  scope: CheckScope;
  subject: string;
  check: string;
  severity: CheckSeverity;
  /** null: first seen. */
  from: CheckStatus | null;
  to: CheckStatus;
  summary: string;
  evidence: string;
  fix: string | null;
  operationId: number | null;
}

interface StateRow {
  scope: CheckScope;
  subject: string;
  check_id: string;
  severity: CheckSeverity;
  status: CheckStatus;
  summary: string;
  evidence: string;
  fix: string | null;
  since: string;
  checked_at: string;
  operation_id: number | null;
}

interface EventRow {
  id: number;
  at: string;
  scope: CheckScope;
  subject: string;
  check_id: string;
  severity: CheckSeverity;
  from_status: CheckStatus | null;
  to_status: CheckStatus;
  summary: string;
  evidence: string;
  fix: string | null;
  operation_id: number | null;
}

const toState = (r: StateRow): HealthState => ({
  scope: r.scope,
  subject: r.subject,
  id: r.check_id,
  severity: r.severity,
  status: r.status,
  summary: r.summary,
  evidence: r.evidence,
  fix: r.fix,
  since: r.since,
  checkedAt: r.checked_at,
  operationId: r.operation_id,
});

const toEvent = (r: EventRow): HealthEvent => ({
  id: r.id,
  at: r.at,
  scope: r.scope,
  subject: r.subject,
  check: r.check_id,
  severity: r.severity,
  from: r.from_status,
  to: r.to_status,
  summary: r.summary,
  evidence: r.evidence,
  fix: r.fix,
  operationId: r.operation_id,
});

/**
 * Store one pass's results: each check's latest state, and an event for each status change. One
 * transaction: a reader sees the states and their events together, and two passes at once (a
 * timer's and one by hand) cannot both record the same change, since the second compares against
 * what the first wrote. Returns the new events, oldest first.
 */
export function recordResults(db: Db, results: readonly CheckResult[], options: { operationId: number | null; at?: Date }): HealthEvent[] {
  const at = (options.at ?? new Date()).toISOString();
  const reported = oneResultPerCheck(results);
  const upsert = db.prepare(
    `INSERT INTO health_checks (scope, subject, check_id, severity, status, summary, evidence, fix, since, checked_at, operation_id)
     VALUES (@scope, @subject, @id, @severity, @status, @summary, @evidence, @fix, @at, @at, @operationId)
     ON CONFLICT (scope, subject, check_id) DO UPDATE SET
       since = CASE WHEN health_checks.status = excluded.status THEN health_checks.since ELSE excluded.since END,
       severity = excluded.severity, status = excluded.status, summary = excluded.summary, evidence = excluded.evidence,
       fix = excluded.fix, checked_at = excluded.checked_at, operation_id = excluded.operation_id`,
  );
  const insertEvent = db.prepare(
    `INSERT INTO health_events (at, scope, subject, check_id, severity, from_status, to_status, summary, evidence, fix, operation_id)
     VALUES (@at, @scope, @subject, @id, @severity, @from, @status, @summary, @evidence, @fix, @operationId)`,
  );
  return writeTransaction(db, () => {
    const stored = (db.prepare('SELECT scope, subject, check_id AS id, severity, status FROM health_checks').all() as StoredCheck[]);
    const previous = new Map(stored.map((r) => [stateKey(r), r.status]));
    const checks = [...reported, ...resolvedByAbsence(stored, reported)];
    const changes = statusChanges(previous, checks);
    for (const r of checks) upsert.run({ ...fields(r), at, operationId: options.operationId });
    const ids = changes.map(({ result, from }) => Number(insertEvent.run({ ...fields(result), from, at, operationId: options.operationId }).lastInsertRowid));
    return ids.map((id) => getEvent(db, id));
  });
}

const fields = (r: CheckResult) => ({ scope: r.scope, subject: r.subject, id: r.id, severity: r.severity, status: r.status, summary: r.summary, evidence: r.evidence, fix: r.fix });

export function getEvent(db: Db, id: number): HealthEvent {
  const row = db.prepare('SELECT * FROM health_events WHERE id = ?').get(id) as EventRow | undefined;
  if (!row) throw new UserError(`no health event ${id}: see mko health history`);
  return toEvent(row);
}

/**
 * The latest state of every check whose subject is still in the fleet (a node of that hostname,
 * a cluster of that name), by scope, subject and check.
 */
export function latestStates(db: Db, filter: { subject?: string } = {}): HealthState[] {
  const rows = db
    .prepare(
      `SELECT h.* FROM health_checks h
       WHERE (@subject IS NULL OR h.subject = @subject COLLATE NOCASE)
         AND ((h.scope = 'node' AND EXISTS (SELECT 1 FROM nodes n WHERE n.hostname = h.subject COLLATE NOCASE))
           OR (h.scope = 'cluster' AND EXISTS (SELECT 1 FROM clusters c WHERE c.name = h.subject COLLATE NOCASE)))
       ORDER BY h.scope = 'node', h.subject, h.check_id`,
    )
    .all({ subject: filter.subject ?? null }) as StateRow[];
  return rows.map(toState);
}

export interface HistoryFilter {
  subject?: string;
  check?: string;
  limit?: number;
}

/** Health events, newest first. */
export function listHealthEvents(db: Db, filter: HistoryFilter = {}): HealthEvent[] {
  const rows = db
    .prepare(
      `SELECT * FROM health_events WHERE (@subject IS NULL OR subject = @subject COLLATE NOCASE) AND (@check IS NULL OR check_id = @check)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({ subject: filter.subject ?? null, check: filter.check ?? null, limit: filter.limit ?? 20 }) as EventRow[];
  return rows.map(toEvent);
}

/** A subject's checks summed up: the worst status, how many checks, which do not pass, when last checked. */
export interface SubjectHealth {
  scope: CheckScope;
  subject: string;
  status: CheckStatus;
  checks: number;
  notPassing: HealthState[];
  checkedAt: string;
}

const RANK: Record<CheckStatus, number> = { pass: 0, unknown: 1, warn: 2, fail: 3 };

export function subjectHealth(states: readonly HealthState[]): SubjectHealth[] {
  const bySubject = new Map<string, HealthState[]>();
  for (const s of states) {
    const key = `${s.scope}\u0000${s.subject}`;
    bySubject.set(key, [...(bySubject.get(key) ?? []), s]);
  }
  return [...bySubject.values()].map((list) => {
    const first = list[0] as HealthState;
    const notPassing = list.filter((s) => s.status !== 'pass').sort((a, b) => RANK[b.status] - RANK[a.status] || a.id.localeCompare(b.id));
    return {
      scope: first.scope,
      subject: first.subject,
      status: notPassing[0]?.status ?? 'pass',
      checks: list.length,
      notPassing,
      checkedAt: list.map((s) => s.checkedAt).sort().at(-1) ?? first.checkedAt,
    };
  });
}
