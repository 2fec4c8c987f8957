// Events, status samples, the watcher's per-UPS state, and the actions rules started: the tables
// of migration 0005 other than upses and power_rules.
import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import type { DetectedEvent, UpsEventKind } from './detect.js';
import type { PowerActionKind } from './rules.js';

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export interface UpsEvent extends DetectedEvent {
  id: number;
  upsId: number;
  ups: string;
  at: string;
}

interface EventRow {
  id: number;
  ups_id: number;
  ups: string;
  kind: UpsEventKind;
  at: string;
  status: string | null;
  charge: number | null;
  runtime: number | null;
  threshold: number | null;
  detail: string;
}

const SELECT_EVENTS = 'SELECT e.*, u.name AS ups FROM ups_events e JOIN upses u ON u.id = e.ups_id';

function toEvent(row: EventRow): UpsEvent {
  return {
    id: row.id,
    upsId: row.ups_id,
    ups: row.ups,
    kind: row.kind,
    at: row.at,
    status: row.status,
    charge: row.charge,
    runtime: row.runtime,
    threshold: row.threshold,
    detail: row.detail,
  };
}

export function recordEvent(db: Db, upsId: number, event: DetectedEvent, at: Date = new Date()): UpsEvent {
  const id = db
    .prepare(
      `INSERT INTO ups_events (ups_id, kind, at, status, charge, runtime, threshold, detail)
       VALUES (@upsId, @kind, @at, @status, @charge, @runtime, @threshold, @detail)`,
    )
    .run({ upsId, at: at.toISOString(), kind: event.kind, status: event.status, charge: event.charge, runtime: event.runtime, threshold: event.threshold, detail: event.detail })
    .lastInsertRowid;
  return getEvent(db, Number(id));
}

export function getEvent(db: Db, id: number): UpsEvent {
  const row = db.prepare(`${SELECT_EVENTS} WHERE e.id = ?`).get(id) as EventRow | undefined;
  if (!row) throw new UserError(`no UPS event ${id}`);
  return toEvent(row);
}

export function listEvents(db: Db, filter: { upsId?: number; limit?: number } = {}): UpsEvent[] {
  const rows = db
    .prepare(`${SELECT_EVENTS} WHERE (@upsId IS NULL OR e.ups_id = @upsId) ORDER BY e.id DESC LIMIT @limit`)
    .all({ upsId: filter.upsId ?? null, limit: filter.limit ?? 20 }) as EventRow[];
  return rows.map(toEvent);
}

/** The id of the UPS's latest power_loss: a battery rule fires at most once per outage. */
export function currentOutage(db: Db, upsId: number): number | null {
  const row = db.prepare("SELECT max(id) AS id FROM ups_events WHERE ups_id = ? AND kind = 'power_loss'").get(upsId) as { id: number | null };
  return row.id;
}

export interface UpsReading {
  at: string;
  error: string | null;
  status: string | null;
  charge: number | null;
  runtime: number | null;
  load: number | null;
  inputVoltage: number | null;
}

export function recordSample(db: Db, upsId: number, sample: UpsReading): void {
  db.prepare(
    `INSERT INTO ups_samples (ups_id, at, error, status, charge, runtime, load, input_voltage)
     VALUES (@upsId, @at, @error, @status, @charge, @runtime, @load, @inputVoltage)`,
  ).run({ upsId, ...sample });
}

export function listSamples(db: Db, upsId: number, limit = 20): UpsReading[] {
  return (
    db
      .prepare('SELECT at, error, status, charge, runtime, load, input_voltage FROM ups_samples WHERE ups_id = ? ORDER BY id DESC LIMIT ?')
      .all(upsId, limit) as (Omit<UpsReading, 'inputVoltage'> & { input_voltage: number | null })[]
  ).map(({ input_voltage, ...rest }) => ({ ...rest, inputVoltage: input_voltage }));
}

export interface UpsWatchState extends UpsReading {
  upsId: number;
  okAt: string | null;
  detector: string;
}

/** The latest poll of a UPS: when, what it said, and the detector's state. */
export function saveWatchState(db: Db, state: UpsWatchState): void {
  db.prepare(
    `INSERT INTO ups_state (ups_id, polled_at, ok_at, error, status, charge, runtime, load, input_voltage, detector)
     VALUES (@upsId, @at, @okAt, @error, @status, @charge, @runtime, @load, @inputVoltage, @detector)
     ON CONFLICT (ups_id) DO UPDATE SET polled_at = excluded.polled_at, ok_at = excluded.ok_at, error = excluded.error,
       status = excluded.status, charge = excluded.charge, runtime = excluded.runtime, load = excluded.load,
       input_voltage = excluded.input_voltage, detector = excluded.detector`,
  ).run(state);
}

export function getWatchState(db: Db, upsId: number): UpsWatchState | undefined {
  const row = db.prepare('SELECT * FROM ups_state WHERE ups_id = ?').get(upsId) as
    | { ups_id: number; polled_at: string; ok_at: string | null; error: string | null; status: string | null; charge: number | null; runtime: number | null; load: number | null; input_voltage: number | null; detector: string }
    | undefined;
  if (!row) return undefined;
  return {
    upsId: row.ups_id,
    at: row.polled_at,
    okAt: row.ok_at,
    error: row.error,
    status: row.status,
    charge: row.charge,
    runtime: row.runtime,
    load: row.load,
    inputVoltage: row.input_voltage,
    detector: row.detector,
  };
}

export type ActionStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired' | 'interrupted';

export interface PowerAction {
  id: number;
  ruleId: number;
  rule: string;
  priority: number;
  eventId: number;
  event: UpsEventKind;
  upsId: number;
  clusterId: number;
  cluster: string;
  action: PowerActionKind;
  status: ActionStatus;
  dueAt: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  operationId: number | null;
  cancelledByEventId: number | null;
  detail: string;
}

interface ActionRow {
  id: number;
  rule_id: number;
  rule: string;
  priority: number;
  event_id: number;
  event: UpsEventKind;
  ups_id: number;
  cluster_id: number;
  cluster: string;
  action: PowerActionKind;
  status: ActionStatus;
  due_at: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  operation_id: number | null;
  cancelled_by_event_id: number | null;
  detail: string;
}

const SELECT_ACTIONS = `
  SELECT a.*, r.name AS rule, r.priority, e.kind AS event, e.ups_id, c.name AS cluster
  FROM power_actions a
  JOIN power_rules r ON r.id = a.rule_id
  JOIN ups_events e ON e.id = a.event_id
  JOIN clusters c ON c.id = a.cluster_id`;

function toAction(row: ActionRow): PowerAction {
  return {
    id: row.id,
    ruleId: row.rule_id,
    rule: row.rule,
    priority: row.priority,
    eventId: row.event_id,
    event: row.event,
    upsId: row.ups_id,
    clusterId: row.cluster_id,
    cluster: row.cluster,
    action: row.action,
    status: row.status,
    dueAt: row.due_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    operationId: row.operation_id,
    cancelledByEventId: row.cancelled_by_event_id,
    detail: row.detail,
  };
}

export function findAction(db: Db, id: number): PowerAction | undefined {
  const row = db.prepare(`${SELECT_ACTIONS} WHERE a.id = ?`).get(id) as ActionRow | undefined;
  return row ? toAction(row) : undefined;
}

export function getAction(db: Db, id: number): PowerAction {
  const action = findAction(db, id);
  if (!action) throw new UserError(`no power action ${id}`);
  return action;
}

export function listActions(db: Db, filter: { status?: ActionStatus; ruleId?: number; limit?: number } = {}): PowerAction[] {
  const rows = db
    .prepare(`${SELECT_ACTIONS} WHERE (@status IS NULL OR a.status = @status) AND (@ruleId IS NULL OR a.rule_id = @ruleId) ORDER BY a.id DESC LIMIT @limit`)
    .all({ status: filter.status ?? null, ruleId: filter.ruleId ?? null, limit: filter.limit ?? 20 }) as ActionRow[];
  return rows.map(toAction);
}

export function scheduleAction(db: Db, spec: { ruleId: number; eventId: number; clusterId: number; action: PowerActionKind; dueAt: Date; detail?: string }): PowerAction {
  const id = db
    .prepare('INSERT INTO power_actions (rule_id, event_id, cluster_id, action, due_at, detail) VALUES (@ruleId, @eventId, @clusterId, @action, @dueAt, @detail)')
    .run({ ...spec, dueAt: spec.dueAt.toISOString(), detail: spec.detail ?? '' }).lastInsertRowid;
  return getAction(db, Number(id));
}

/** Whether a rule already acted (or is about to) since the given event: at most once per outage. */
export function ruleActedSince(db: Db, ruleId: number, eventId: number): boolean {
  const row = db.prepare("SELECT count(*) AS n FROM power_actions WHERE rule_id = ? AND event_id >= ? AND status NOT IN ('cancelled', 'expired')").get(ruleId, eventId) as { n: number };
  return row.n > 0;
}

export function markActionRunning(db: Db, id: number, detail?: string): void {
  db.prepare(`UPDATE power_actions SET status = 'running', started_at = ${NOW}, detail = coalesce(@detail, detail) WHERE id = @id`).run({ id, detail: detail ?? null });
}

export function linkActionOperation(db: Db, id: number, operationId: number): void {
  db.prepare('UPDATE power_actions SET operation_id = ? WHERE id = ?').run(operationId, id);
}

/** The end of an action that ran: its own row and its rule's count and last result, together. */
export function finishAction(db: Db, id: number, end: { status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted'; operationId: number | null; detail: string }): void {
  writeTransaction(db, () => {
    db.prepare(`UPDATE power_actions SET status = @status, finished_at = ${NOW}, operation_id = coalesce(@operationId, operation_id), detail = @detail WHERE id = @id`).run({
      id,
      ...end,
    });
    const action = getAction(db, id);
    const result = `${end.status}${action.operationId !== null ? ` (operation ${action.operationId})` : ''}${end.detail ? `: ${end.detail}` : ''}`;
    db.prepare(`UPDATE power_rules SET execution_count = execution_count + 1, last_run_at = ${NOW}, last_result = ? WHERE id = ?`).run(result, action.ruleId);
  });
}

/** An action that never ran: cancelled (power back first, the rule disabled) or expired. */
export function dropAction(db: Db, id: number, end: { status: 'cancelled' | 'expired'; detail: string; byEventId?: number }): void {
  writeTransaction(db, () => {
    db.prepare(`UPDATE power_actions SET status = @status, finished_at = ${NOW}, detail = @detail, cancelled_by_event_id = @byEventId WHERE id = @id`).run({
      id,
      status: end.status,
      detail: end.detail,
      byEventId: end.byEventId ?? null,
    });
    db.prepare('UPDATE power_rules SET last_result = ? WHERE id = (SELECT rule_id FROM power_actions WHERE id = ?)').run(`${end.status}: ${end.detail}`, id);
  });
}

export function actionsWithStatus(db: Db, status: ActionStatus): PowerAction[] {
  return (db.prepare(`${SELECT_ACTIONS} WHERE a.status = ? ORDER BY a.due_at, a.id`).all(status) as ActionRow[]).map(toAction);
}

export interface ScaledWorkload {
  namespace: string;
  kind: 'deployment' | 'statefulset';
  name: string;
  replicas: number;
}

/** Keep the replica count from before the first scale-down: a second one (already 0) does not overwrite it. */
export function rememberReplicas(db: Db, clusterId: number, actionId: number, workloads: ScaledWorkload[]): void {
  const insert = db.prepare(
    `INSERT INTO power_scaled_workloads (cluster_id, namespace, kind, name, replicas, action_id)
     VALUES (@clusterId, @namespace, @kind, @name, @replicas, @actionId) ON CONFLICT DO NOTHING`,
  );
  writeTransaction(db, () => workloads.forEach((w) => insert.run({ clusterId, actionId, ...w })));
}

export function rememberedReplicas(db: Db, clusterId: number): ScaledWorkload[] {
  return db.prepare('SELECT namespace, kind, name, replicas FROM power_scaled_workloads WHERE cluster_id = ? ORDER BY namespace, name').all(clusterId) as ScaledWorkload[];
}

export function forgetReplicas(db: Db, clusterId: number, workloads: readonly { namespace: string; kind: string; name: string }[]): void {
  const remove = db.prepare('DELETE FROM power_scaled_workloads WHERE cluster_id = @clusterId AND namespace = @namespace AND kind = @kind AND name = @name');
  writeTransaction(db, () => workloads.forEach((w) => remove.run({ clusterId, namespace: w.namespace, kind: w.kind, name: w.name })));
}
