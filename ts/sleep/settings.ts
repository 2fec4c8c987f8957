// Auto-sleep settings: mko's defaults, a cluster's row, a node's row (each NULL column inherits).
// The effective settings of a node reach it through the inventory (mko_sleep, marked unsafe) and
// the autosleep role's JSON template: nothing here is ever evaluated on the way.
import type { Db } from '../db/index.js';
import { writeTransaction } from '../db/transaction.js';
import { quote, UserError } from '../errors.js';
import { findCluster, findNode, getNode, listNodes, type FleetNode } from '../fleet/index.js';
import { validate } from '../validate/index.js';

export type SleepAction = 'suspend' | 'poweroff';

export interface SleepSettings {
  sleepable: boolean;
  timeout: number;
  interval: number;
  cpuLoad: number;
  netBytesPerSecond: number;
  excludedNamespaces: string[];
  action: SleepAction;
  drain: boolean;
  drainTimeout: number;
  grace: number;
  hooksDir: string;
  commands: string[][];
}

/** What a cluster or node row sets; absent or null fields inherit. */
export type SleepOverrides = { [K in keyof SleepSettings]?: SleepSettings[K] | null };

export const SLEEP_DEFAULTS: SleepSettings = {
  sleepable: false,
  timeout: 1800,
  interval: 60,
  cpuLoad: 0.5,
  netBytesPerSecond: 100000,
  excludedNamespaces: ['kube-system'],
  action: 'suspend',
  drain: false,
  drainTimeout: 120,
  grace: 60,
  hooksDir: '/etc/mko/autosleep/pre-sleep.d',
  commands: [],
};

const COLUMNS: Record<keyof SleepSettings, string> = {
  sleepable: 'sleepable',
  timeout: 'timeout',
  interval: 'interval',
  cpuLoad: 'cpu_load',
  netBytesPerSecond: 'net_bytes_per_second',
  excludedNamespaces: 'excluded_namespaces',
  action: 'action',
  drain: 'drain',
  drainTimeout: 'drain_timeout',
  grace: 'grace',
  hooksDir: 'hooks_dir',
  commands: 'commands',
};
const KEYS = Object.keys(COLUMNS) as (keyof SleepSettings)[];
const JSON_KEYS = new Set<keyof SleepSettings>(['excludedNamespaces', 'commands']);
const BOOL_KEYS = new Set<keyof SleepSettings>(['sleepable', 'drain']);

/** The command-line spelling of each setting, for one-line errors. */
export const SLEEP_FLAGS: Record<keyof SleepSettings, string> = {
  sleepable: 'sleepable',
  timeout: '--timeout',
  interval: '--interval',
  cpuLoad: '--cpu-load',
  netBytesPerSecond: '--net-bytes',
  excludedNamespaces: '--exclude-namespaces',
  action: '--action',
  drain: '--drain',
  drainTimeout: '--drain-timeout',
  grace: '--grace',
  hooksDir: '--hooks-dir',
  commands: '--command',
};

/** Each setting with the words the CLI's table and the node page show it under. */
export const SLEEP_LABELS: readonly (readonly [keyof SleepSettings, string])[] = [
  ['sleepable', 'sleepable'],
  ['timeout', 'timeout (s)'],
  ['interval', 'interval (s)'],
  ['cpuLoad', 'cpu load per CPU'],
  ['netBytesPerSecond', 'network (B/s)'],
  ['excludedNamespaces', 'excluded namespaces'],
  ['action', 'action'],
  ['drain', 'drain'],
  ['drainTimeout', 'drain timeout (s)'],
  ['grace', 'grace (s)'],
  ['hooksDir', 'hooks dir'],
  ['commands', 'commands'],
];

/** A setting's value as one line: yes/no, lists joined by commas (a command as its JSON list), none for an empty list. */
export const settingText = (v: unknown): string =>
  Array.isArray(v) ? (v.length === 0 ? 'none' : v.map((x) => (Array.isArray(x) ? JSON.stringify(x) : String(x))).join(', ')) : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);

const NAMESPACE = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** What a cluster or node row may set, each value checked (writeOverrides checks with it). */
export const sleepOverridesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sleepable: { type: 'boolean', hint: 'true or false' },
    timeout: { type: 'integer', minimum: 1, maximum: 604800, hint: 'whole seconds from 1 to 604800 (a week), e.g. 1800' },
    interval: { type: 'integer', minimum: 1, maximum: 3600, hint: 'whole seconds from 1 to 3600, e.g. 60' },
    cpuLoad: { type: 'number', exclusiveMinimum: 0, maximum: 1000, hint: 'a load per CPU above 0, e.g. 0.5' },
    netBytesPerSecond: { type: 'integer', minimum: 0, maximum: 100000000000, hint: 'whole bytes per second, e.g. 100000' },
    excludedNamespaces: {
      type: 'array',
      maxItems: 100,
      items: { type: 'string', pattern: NAMESPACE },
      hint: 'a comma-separated list of Kubernetes namespace names, e.g. kube-system,monitoring',
    },
    action: { type: 'string', enum: ['suspend', 'poweroff'], hint: 'suspend or poweroff' },
    drain: { type: 'boolean', hint: 'true or false' },
    drainTimeout: { type: 'integer', minimum: 1, maximum: 86400, hint: 'whole seconds from 1 to 86400, e.g. 120' },
    grace: { type: 'integer', minimum: 0, maximum: 3600, hint: 'whole seconds from 0 to 3600, e.g. 60' },
    hooksDir: {
      type: 'string',
      pattern: '^/[A-Za-z0-9._/-]*$',
      maxLength: 255,
      hint: 'an absolute directory path of letters, digits, ".", "_", "-" and "/", e.g. /etc/mko/autosleep/pre-sleep.d',
    },
    commands: {
      type: 'array',
      maxItems: 20,
      items: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 1000, printable: true } },
      hint: 'JSON argument lists of one-line strings, e.g. ["pgrep","-x","rsync"] (run without a shell; exit 0 means busy)',
    },
  },
};

interface SettingsRow {
  [column: string]: number | string | null;
}

function fromRow(row: SettingsRow | undefined): SleepOverrides {
  if (!row) return {};
  const out: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = row[COLUMNS[key]];
    if (value === null || value === undefined) continue;
    out[key] = JSON_KEYS.has(key) ? (JSON.parse(String(value)) as unknown) : BOOL_KEYS.has(key) ? value === 1 : value;
  }
  return out as SleepOverrides;
}

const defined = (o: SleepOverrides): Partial<SleepSettings> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<SleepSettings>;

export type SleepScope = { kind: 'cluster'; id: number; name: string } | { kind: 'node'; id: number; name: string };

/** A node (id or hostname), else a cluster (id or name). */
export function resolveScope(db: Db, ref: string): SleepScope {
  const node = findNode(db, ref);
  const cluster = findCluster(db, ref);
  if (node && cluster) throw new UserError(`"${ref}" names both node ${node.hostname} and cluster ${cluster.name}: use node id ${node.id} or cluster id ${cluster.id}`);
  if (node) return { kind: 'node', id: node.id, name: node.hostname };
  if (cluster) return { kind: 'cluster', id: cluster.id, name: cluster.name };
  throw new UserError(`no node or cluster ${quote(ref)}: see mko node list and mko cluster list`);
}

export function scopeOverrides(db: Db, scope: SleepScope): SleepOverrides {
  const column = scope.kind === 'cluster' ? 'cluster_id' : 'node_id';
  return fromRow(db.prepare(`SELECT * FROM sleep_settings WHERE ${column} = ?`).get(scope.id) as SettingsRow | undefined);
}

/** What a node inherits: defaults, then its cluster's row. */
export function inheritedSettings(db: Db, node: FleetNode): SleepSettings {
  const cluster = node.clusterId === null ? {} : scopeOverrides(db, { kind: 'cluster', id: node.clusterId, name: node.cluster ?? '' });
  return { ...SLEEP_DEFAULTS, ...defined(cluster) };
}

/** A node's effective settings: defaults, then its cluster's row, then its own. */
export function effectiveSettings(db: Db, node: FleetNode): SleepSettings {
  const own = scopeOverrides(db, { kind: 'node', id: node.id, name: node.hostname });
  return { ...inheritedSettings(db, node), ...defined(own) };
}

/** A scope's settings as they take effect: a node's, or a cluster's over the defaults. */
export function scopeSettings(db: Db, scope: SleepScope, stored: SleepOverrides = scopeOverrides(db, scope)): SleepSettings {
  return scope.kind === 'node' ? effectiveSettings(db, getNode(db, scope.name)) : { ...SLEEP_DEFAULTS, ...defined(stored) };
}

/** Check overrides as the user gave them; a one-line error naming the flag otherwise. */
export function checkOverrides(input: SleepOverrides): SleepOverrides {
  // null clears a field: always valid; what is set must fit.
  validate<Partial<SleepSettings>>(sleepOverridesSchema, defined(input), SLEEP_FLAGS);
  return input;
}

/** Write overrides for a scope (null clears a field; absent leaves it), in one transaction. */
export function writeOverrides(db: Db, scope: SleepScope, input: SleepOverrides, options: { reset?: boolean } = {}): SleepOverrides {
  const checked = checkOverrides(input);
  const column = scope.kind === 'cluster' ? 'cluster_id' : 'node_id';
  return writeTransaction(db, () => {
    if (options.reset) db.prepare(`DELETE FROM sleep_settings WHERE ${column} = ?`).run(scope.id);
    db.prepare(`INSERT INTO sleep_settings (${column}) VALUES (?) ON CONFLICT (${column}) DO NOTHING`).run(scope.id);
    const keys = KEYS.filter((k) => k in checked);
    if (keys.length > 0) {
      const sets = keys.map((k) => `${COLUMNS[k]} = @${k}`).join(', ');
      const values: Record<string, unknown> = { id: scope.id };
      for (const k of keys) {
        const v = checked[k];
        values[k] = v === null || v === undefined ? null : JSON_KEYS.has(k) ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 1 : 0) : v;
      }
      db.prepare(`UPDATE sleep_settings SET ${sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE ${column} = @id`).run(values);
    }
    return scopeOverrides(db, scope);
  });
}

/** The inventory's mko_sleep for every node, in the role's spelling (keys snake_case). */
export function sleepHostVars(db: Db): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const node of listNodes(db)) {
    const s = effectiveSettings(db, node);
    out.set(node.hostname, {
      sleepable: s.sleepable,
      timeout: s.timeout,
      interval: s.interval,
      cpu_load: s.cpuLoad,
      net_bytes_per_second: s.netBytesPerSecond,
      excluded_namespaces: s.excludedNamespaces,
      action: s.action,
      drain: s.drain,
      drain_timeout: s.drainTimeout,
      grace: s.grace,
      hooks_dir: s.hooksDir,
      commands: s.commands,
    });
  }
  return out;
}

/**
 * Whether `node` may be made sleepable. A control-plane node may be a dqlite voter (or become one
 * when a voter goes away), so at worst every sleepable control-plane node is asleep at once: at
 * least 2 control-plane nodes of its cluster must stay non-sleepable. The node re-checks the real
 * voters before each sleep (roles/autosleep).
 */
export function refuseUnsafeEnable(db: Db, ref: string): void {
  const node = getNode(db, ref);
  if (node.role !== 'control-plane') return;
  const peers = node.cluster ? listNodes(db, { cluster: node.cluster }).filter((n) => n.role === 'control-plane' && n.id !== node.id) : [];
  const awake = peers.filter((n) => !effectiveSettings(db, n).sleepable);
  if (awake.length < 2) {
    throw new UserError(
      `cannot make ${node.hostname} sleepable: it is a control-plane node (a dqlite voter, or one in waiting) and ` +
        `${awake.length === 0 ? 'no other' : 'only 1 other'} control-plane node of ${node.cluster ? `cluster ${node.cluster}` : 'its cluster'} stays awake (${awake.map((n) => n.hostname).join(', ') || 'none'}); ` +
        `2 must, for the datastore's quorum: keep ${node.hostname} awake, or add control-plane nodes`,
    );
  }
}
