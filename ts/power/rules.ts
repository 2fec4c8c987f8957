// Power rules: when <event> happens on <ups>, do <action> to <cluster>, after a delay, in priority
// order. Every input is checked before anything is written: bad input leaves the database as it was.
import { findByRef, refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { getCluster } from '../fleet/index.js';
import { validate } from '../validate/index.js';
import { numberOrText } from '../wol/index.js';
import { EVENT_KINDS, type UpsEventKind } from './detect.js';
import { getUps } from './ups.js';

export const ACTIONS = ['graceful_shutdown', 'force_shutdown', 'startup', 'wake_on_lan', 'scale_down', 'scale_up', 'notify'] as const;
export type PowerActionKind = (typeof ACTIONS)[number];

/** Actions that change a cluster's state: one of them per cluster at a time. notify runs beside them. */
export const CLUSTER_ACTIONS: readonly PowerActionKind[] = ['graceful_shutdown', 'force_shutdown', 'startup', 'wake_on_lan', 'scale_down', 'scale_up'];

export interface Workload {
  namespace: string;
  kind: 'deployment' | 'statefulset';
  name: string;
}

export interface RuleOptions {
  /** notify: the command, run with /bin/sh -c. */
  command?: string;
  /** notify: seconds before the command is stopped (default 60). */
  commandTimeout?: number;
  /** scale_down / scale_up: the workloads. */
  workloads?: Workload[];
  /** graceful_shutdown: seconds each drain may take. */
  drainTimeout?: number;
}

export interface PowerRule {
  id: number;
  name: string;
  upsId: number;
  ups: string;
  clusterId: number;
  cluster: string;
  event: UpsEventKind;
  action: PowerActionKind;
  batteryThreshold: number | null;
  /** Seconds. */
  actionDelay: number;
  priority: number;
  enabled: boolean;
  options: RuleOptions;
  executionCount: number;
  lastRunAt: string | null;
  lastResult: string | null;
  createdAt: string;
}

interface RuleRow {
  id: number;
  name: string;
  ups_id: number;
  ups: string;
  cluster_id: number;
  cluster: string;
  event: UpsEventKind;
  action: PowerActionKind;
  battery_threshold: number | null;
  action_delay: number;
  priority: number;
  enabled: number;
  options: string;
  execution_count: number;
  last_run_at: string | null;
  last_result: string | null;
  created_at: string;
}

const SELECT_RULES = `
  SELECT r.*, u.name AS ups, c.name AS cluster
  FROM power_rules r JOIN upses u ON u.id = r.ups_id JOIN clusters c ON c.id = r.cluster_id`;

function toRule(row: RuleRow): PowerRule {
  return {
    id: row.id,
    name: row.name,
    upsId: row.ups_id,
    ups: row.ups,
    clusterId: row.cluster_id,
    cluster: row.cluster,
    event: row.event,
    action: row.action,
    batteryThreshold: row.battery_threshold,
    actionDelay: row.action_delay,
    priority: row.priority,
    enabled: row.enabled === 1,
    options: JSON.parse(row.options) as RuleOptions,
    executionCount: row.execution_count,
    lastRunAt: row.last_run_at,
    lastResult: row.last_result,
    createdAt: row.created_at,
  };
}

export interface RuleInput {
  ups: string;
  cluster: string;
  event: string;
  action: string;
  name?: string;
  batteryThreshold?: number | string;
  actionDelay?: number | string;
  priority?: number | string;
  /** `ns/name` (a deployment) or `ns/kind/name`, comma-separated. */
  workloads?: string;
  command?: string;
  commandTimeout?: number | string;
  drainTimeout?: number | string;
  enabled?: boolean;
}

export const ruleSchema = {
  type: 'object',
  properties: {
    ups: { type: 'string', minLength: 1, hint: 'a UPS name' },
    cluster: { type: 'string', minLength: 1, hint: 'a cluster name or id' },
    event: { type: 'string', enum: [...EVENT_KINDS], hint: `one of ${EVENT_KINDS.join(', ')}` },
    action: { type: 'string', enum: [...ACTIONS], hint: `one of ${ACTIONS.join(', ')}` },
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', hint: 'a rule name of up to 63 letters, digits, ".", "_" or "-"' },
    batteryThreshold: { type: 'integer', minimum: 0, maximum: 100, hint: 'a whole percentage from 0 to 100' },
    actionDelay: { type: 'number', minimum: 0, maximum: 86400, hint: 'seconds from 0 to 86400 (fractions allowed, e.g. 0.5)' },
    priority: { type: 'integer', minimum: -1000000, maximum: 1000000, hint: 'an integer from -1000000 to 1000000 (larger runs first)' },
    workloads: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]*/((deployment|statefulset)/)?[a-z0-9][a-z0-9.-]*(,[a-z0-9][a-z0-9-]*/((deployment|statefulset)/)?[a-z0-9][a-z0-9.-]*)*$',
      hint: 'a comma-separated list of namespace/name or namespace/kind/name (kind deployment or statefulset), e.g. default/web,media/statefulset/db',
    },
    command: { type: 'string', minLength: 1, maxLength: 4000, hint: 'a shell command of at most 4000 characters' },
    commandTimeout: { type: 'number', minimum: 1, maximum: 86400, hint: 'seconds from 1 to 86400' },
    drainTimeout: { type: 'integer', minimum: 0, maximum: 86400, hint: 'whole seconds from 0 to 86400' },
    enabled: { type: 'boolean', hint: 'true or false' },
  },
  required: ['ups', 'cluster', 'event', 'action'],
  additionalProperties: false,
};

export const ruleFlags = {
  ups: 'ups',
  cluster: 'cluster',
  event: 'event',
  action: 'action',
  name: '--name',
  batteryThreshold: '--battery-threshold',
  actionDelay: '--action-delay',
  priority: '--priority',
  workloads: '--workloads',
  command: '--command',
  commandTimeout: '--command-timeout',
  drainTimeout: '--drain-timeout',
};

function parseWorkloads(text: string): Workload[] {
  return text.split(',').map((item) => {
    const parts = item.split('/');
    const [namespace = '', kindOrName = '', name] = parts;
    return name === undefined ? { namespace, kind: 'deployment' as const, name: kindOrName } : { namespace, kind: kindOrName as Workload['kind'], name };
  });
}

export function workloadText(w: Workload): string {
  return w.kind === 'deployment' ? `${w.namespace}/${w.name}` : `${w.namespace}/${w.kind}/${w.name}`;
}

type CheckedInput = Omit<RuleInput, 'batteryThreshold' | 'actionDelay' | 'priority' | 'commandTimeout' | 'drainTimeout'> & {
  batteryThreshold?: number;
  actionDelay?: number;
  priority?: number;
  commandTimeout?: number;
  drainTimeout?: number;
};

interface CheckedRule {
  name: string;
  upsId: number;
  clusterId: number;
  event: UpsEventKind;
  action: PowerActionKind;
  threshold: number | null;
  delay: number;
  priority: number;
  enabled: 0 | 1;
  options: string;
}

/** Every check of a rule's fields, as `rules create` makes them; nothing is written here. */
function checkRule(db: Db, input: RuleInput): CheckedRule {
  const numeric = (value: number | string | undefined) => (value === undefined ? {} : { v: numberOrText(value) });
  const raw: Record<string, unknown> = { ...input };
  for (const key of ['batteryThreshold', 'actionDelay', 'priority', 'commandTimeout', 'drainTimeout'] as const) {
    const n = numeric(input[key]);
    if ('v' in n) raw[key] = n.v;
  }
  const data = validate<CheckedInput>(ruleSchema, raw, ruleFlags);
  if (data.name !== undefined) refuseNumericName(data.name, ruleFlags.name);
  const ups = getUps(db, data.ups);
  const cluster = getCluster(db, data.cluster);
  const event = data.event as UpsEventKind;
  const action = data.action as PowerActionKind;
  if (data.batteryThreshold !== undefined && event !== 'low_battery') {
    throw new UserError(`--battery-threshold applies to low_battery rules only, not to ${event}`);
  }
  if (action === 'notify' && data.command === undefined) throw new UserError('missing --command: a notify rule runs a command');
  if (action !== 'notify' && (data.command !== undefined || data.commandTimeout !== undefined)) {
    throw new UserError(`--command applies to notify rules only, not to ${action}`);
  }
  if ((action === 'scale_down' || action === 'scale_up') && data.workloads === undefined) {
    throw new UserError(`missing --workloads: ${action} needs the workloads to scale, e.g. --workloads default/web`);
  }
  if (action !== 'scale_down' && action !== 'scale_up' && data.workloads !== undefined) {
    throw new UserError(`--workloads applies to scale_down and scale_up rules only, not to ${action}`);
  }
  if (data.drainTimeout !== undefined && action !== 'graceful_shutdown') throw new UserError(`--drain-timeout applies to graceful_shutdown rules only, not to ${action}`);
  const options: RuleOptions = {
    ...(data.command !== undefined ? { command: data.command } : {}),
    ...(data.commandTimeout !== undefined ? { commandTimeout: data.commandTimeout } : {}),
    ...(data.workloads !== undefined ? { workloads: parseWorkloads(data.workloads) } : {}),
    ...(data.drainTimeout !== undefined ? { drainTimeout: data.drainTimeout } : {}),
  };
  return {
    name: data.name ?? `${ups.name}-${event}-${action}`.replace(/_/g, '-').toLowerCase(),
    upsId: ups.id,
    clusterId: cluster.id,
    event,
    action,
    threshold: data.batteryThreshold ?? null,
    delay: data.actionDelay ?? 0,
    priority: data.priority ?? 0,
    enabled: data.enabled === false ? 0 : 1,
    options: JSON.stringify(options),
  };
}

/** Under the write lock: the UPS and cluster still exist, and no other rule has the name. */
function refuseRuleClash(db: Db, rule: CheckedRule, named: boolean, self?: number): void {
  // Removed meanwhile is a clean error, not a foreign-key one.
  getUps(db, String(rule.upsId));
  getCluster(db, rule.clusterId);
  const other = findRule(db, rule.name);
  if (other && other.id !== self) throw new UserError(`rule ${rule.name} already exists: choose another ${named ? '--name' : 'name with --name'}`);
}

export function createRule(db: Db, input: RuleInput): PowerRule {
  const rule = checkRule(db, input);
  // Checked and inserted under the write lock: two rules of one name cannot both get in.
  return writeTransaction(db, () => {
    refuseRuleClash(db, rule, input.name !== undefined);
    const id = db
      .prepare(
        `INSERT INTO power_rules (name, ups_id, cluster_id, event, action, battery_threshold, action_delay, priority, enabled, options)
         VALUES (@name, @upsId, @clusterId, @event, @action, @threshold, @delay, @priority, @enabled, @options)`,
      )
      .run(rule).lastInsertRowid;
    return getRule(db, Number(id));
  });
}

/** A rule's fields as `rules create` takes them, to change some and check the whole again. */
function ruleInput(rule: PowerRule): RuleInput {
  const o = rule.options;
  return {
    ups: rule.ups,
    cluster: rule.cluster,
    event: rule.event,
    action: rule.action,
    name: rule.name,
    actionDelay: rule.actionDelay,
    priority: rule.priority,
    enabled: rule.enabled,
    ...(rule.batteryThreshold !== null ? { batteryThreshold: rule.batteryThreshold } : {}),
    ...(o.workloads ? { workloads: o.workloads.map(workloadText).join(',') } : {}),
    ...(o.command !== undefined ? { command: o.command } : {}),
    ...(o.commandTimeout !== undefined ? { commandTimeout: o.commandTimeout } : {}),
    ...(o.drainTimeout !== undefined ? { drainTimeout: o.drainTimeout } : {}),
  };
}

/**
 * Change a rule: the given fields replace the rule's (null drops an optional one, e.g. the
 * threshold when the event changes), and the result is checked as `rules create` checks a new one.
 */
export function updateRule(db: Db, ref: string, changes: Record<string, unknown>): PowerRule {
  const current = getRule(db, ref);
  const merged: Record<string, unknown> = { ...ruleInput(current), ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === null) delete merged[key];
  const rule = checkRule(db, merged as unknown as RuleInput);
  return writeTransaction(db, () => {
    getRule(db, current.id);
    refuseRuleClash(db, rule, true, current.id);
    db.prepare(
      `UPDATE power_rules SET name = @name, ups_id = @upsId, cluster_id = @clusterId, event = @event, action = @action,
         battery_threshold = @threshold, action_delay = @delay, priority = @priority, enabled = @enabled, options = @options,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE id = @id`,
    ).run({ ...rule, id: current.id });
    return getRule(db, current.id);
  });
}

export function listRules(db: Db, filter: { ups?: string } = {}): PowerRule[] {
  const upsId = filter.ups !== undefined ? getUps(db, filter.ups).id : null;
  const rows = db.prepare(`${SELECT_RULES} WHERE (@upsId IS NULL OR r.ups_id = @upsId) ORDER BY u.name, r.priority DESC, r.name`).all({ upsId }) as RuleRow[];
  return rows.map(toRule);
}

export function findRule(db: Db, ref: string | number): PowerRule | undefined {
  const row = findByRef<RuleRow>(db, SELECT_RULES, { id: 'r.id', name: 'r.name' }, ref);
  return row ? toRule(row) : undefined;
}

export function getRule(db: Db, ref: string | number): PowerRule {
  const rule = findRule(db, ref);
  if (!rule) throw new UserError(`no rule ${quote(String(ref))}: see mko ups rules list`);
  return rule;
}

export function setRuleEnabled(db: Db, ref: string, enabled: boolean): PowerRule {
  const rule = getRule(db, ref);
  db.prepare(`UPDATE power_rules SET enabled = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(enabled ? 1 : 0, rule.id);
  return getRule(db, rule.id);
}

/** Delete a rule; its pending actions go with it (a running one finishes). */
export function deleteRule(db: Db, ref: string): PowerRule {
  const rule = getRule(db, ref);
  const running = db.prepare("SELECT count(*) AS n FROM power_actions WHERE rule_id = ? AND status = 'running'").get(rule.id) as { n: number };
  if (running.n > 0) throw new UserError(`rule ${rule.name} has an action running: wait for it (mko ups actions), or disable the rule`);
  db.prepare('DELETE FROM power_rules WHERE id = ?').run(rule.id);
  return rule;
}

/** Enabled rules of one UPS for one event, larger priority first. */
export function rulesFor(db: Db, upsId: number, event: UpsEventKind): PowerRule[] {
  const rows = db.prepare(`${SELECT_RULES} WHERE r.ups_id = ? AND r.event = ? AND r.enabled = 1 ORDER BY r.priority DESC, r.id`).all(upsId, event) as RuleRow[];
  return rows.map(toRule);
}

/** Charge thresholds of a UPS's enabled low_battery rules (the detector arms these). */
export function thresholdsFor(db: Db, upsId: number): number[] {
  const rows = db
    .prepare("SELECT DISTINCT battery_threshold AS t FROM power_rules WHERE ups_id = ? AND event = 'low_battery' AND enabled = 1 AND battery_threshold IS NOT NULL")
    .all(upsId) as { t: number }[];
  return rows.map((r) => r.t);
}
