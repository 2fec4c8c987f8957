// What a node page's auto-sleep section shows: the node's effective settings (which it sets
// itself), what the node said at the last run that asked it (sleep status, enable, disable, apply:
// the autosleep role reports it with set_stats, kept in the operation's results), and the latest
// entry of its journal. Pure data: templates/web/partials/node-sleep.hbs renders it, escaped.
import type { Db } from '../db/index.js';
import type { FleetNode } from '../fleet/index.js';
import { latestOperation } from '../ops/index.js';
import {
  effectiveSettings,
  inheritedSettings,
  lastJournalEntry,
  scopeOverrides,
  scopeSettings,
  settingText,
  SLEEP_DEFAULTS,
  SLEEP_LABELS,
  SLEEP_REPORT_STAT,
  type SleepCheck,
  type SleepOverrides,
  type SleepSettings,
} from '../sleep/index.js';
import { choices } from './views.js';

/** The runs whose operation carries the node's verdict. */
const ASKING_KINDS = ['sleep-status', 'sleep-enable', 'sleep-disable', 'sleep-apply'];

interface Reported {
  installed?: unknown;
  status?: { state?: unknown; sleeps_in?: unknown; detail?: unknown; checks?: unknown; idle_since?: unknown } | null;
  error?: unknown;
}

export interface SleepStateView {
  operation: { id: number; kind: string; status: string; at: string; running: boolean };
  state: string;
  /** The state as a class name (not installed: not-installed). */
  stateClass: string;
  detail: string;
  sleepsIn: number | null;
  idleSince: string | null;
  checks: SleepCheck[];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** What the node said at the latest run that asked it, or why it said nothing. */
function lastState(db: Db, node: FleetNode): SleepStateView | null {
  const said = askedState(db, node);
  return said ? { ...said, stateClass: said.state.replace(/[^A-Za-z0-9-]+/g, '-') } : null;
}

function askedState(db: Db, node: FleetNode): Omit<SleepStateView, 'stateClass'> | null {
  const op = latestOperation(db, ASKING_KINDS, node.cluster ? [node.hostname, node.cluster] : [node.hostname]);
  if (!op) return null;
  const operation = { id: op.id, kind: op.kind, status: op.status, at: op.finishedAt ?? op.startedAt, running: op.status === 'running' };
  const none = { operation, sleepsIn: null, idleSince: null, checks: [] };
  if (operation.running) return { ...none, state: 'asking', detail: 'the run is under way' };
  const reported = op.results[node.hostname]?.[SLEEP_REPORT_STAT] as Reported | undefined;
  if (!reported) {
    const failure = op.failures[node.hostname];
    // Asleep is the usual reason a node does not answer: say so before Ansible's words.
    if (failure?.status === 'unreachable') return { ...none, state: 'unreachable', detail: `did not answer SSH: asleep or off (${failure.message.split('\n')[0] ?? ''})` };
    return { ...none, state: 'failed', detail: failure ? failure.message.split('\n')[0] ?? '' : `the run reported nothing for ${node.hostname} (${op.exitMeaning ?? op.status})` };
  }
  if (reported.installed === false) return { ...none, state: 'not installed', detail: 'auto-sleep is not installed on the node: Enable or Send settings installs it' };
  const status = reported.status;
  if (!status) return { ...none, state: 'failed', detail: `the evaluator failed: ${text(reported.error)}` };
  return {
    operation,
    state: text(status.state),
    detail: text(status.detail),
    sleepsIn: typeof status.sleeps_in === 'number' ? status.sleeps_in : null,
    idleSince: typeof status.idle_since === 'string' ? status.idle_since : null,
    checks: Array.isArray(status.checks)
      ? (status.checks as Record<string, unknown>[]).map((c) => ({ check: text(c['check']), state: text(c['state']) as SleepCheck['state'], detail: text(c['detail']) }))
      : [],
  };
}

/** A node page's auto-sleep section. */
export function nodeSleepView(db: Db, node: FleetNode) {
  const effective = effectiveSettings(db, node);
  const inherited = inheritedSettings(db, node);
  const own = scopeOverrides(db, { kind: 'node', id: node.id, name: node.hostname });
  const state = lastState(db, node);
  const journal = lastJournalEntry(db, node.id);
  return {
    url: `/fragments/nodes/${node.id}/sleep`,
    node: { id: node.id, hostname: node.hostname, role: node.role, cluster: node.cluster },
    sleepable: effective.sleepable,
    settings: settingsList(effective, own),
    state,
    /** For the page's wait on this server's run (see pages.ts). */
    operation: state ? { id: state.operation.id, running: state.operation.running } : null,
    lastEvent: journal,
    // The form edits the node's own values; an empty field inherits (its placeholder says what).
    form: settingsForm(
      `/api/v1/nodes/${node.id}/sleep`,
      own,
      inherited,
      "An empty field inherits from the cluster (or mko's default), shown in grey. The node gets the settings at the next Enable, Disable or Send settings.",
    ),
  };
}

/** The effective settings but sleepable, each marked `here` when the scope sets it itself. */
function settingsList(effective: SleepSettings, own: SleepOverrides) {
  return SLEEP_LABELS.filter(([key]) => key !== 'sleepable').map(([key, label]) => ({ key, label, value: settingText(effective[key]), here: own[key] !== undefined && own[key] !== null }));
}

/** The form that edits one scope's own settings (PATCH, empty inherits): a node's or a cluster's. */
function settingsForm(url: string, own: SleepOverrides, inherited: SleepSettings, hint: string) {
  return {
    url,
    hint,
    number: (['timeout', 'interval', 'cpuLoad', 'netBytesPerSecond', 'drainTimeout', 'grace'] as const).map((key) => ({
      key,
      label: SLEEP_LABELS.find(([k]) => k === key)?.[1] ?? key,
      value: own[key] ?? '',
      placeholder: settingText(inherited[key]),
      step: key === 'cpuLoad' ? 'any' : '1',
    })),
    excludedNamespaces: own.excludedNamespaces ? own.excludedNamespaces.join(',') : '',
    excludedNamespacesInherited: settingText(inherited.excludedNamespaces),
    hooksDir: own.hooksDir ?? '',
    hooksDirInherited: inherited.hooksDir,
    commands: own.commands ? own.commands.map((argv) => JSON.stringify(argv)).join('\n') : '',
    commandsInherited: settingText(inherited.commands),
    actions: choices(['suspend', 'poweroff'], own.action ?? ''),
    actionInherited: inherited.action,
    drain: choices(['true', 'false'], own.drain === undefined || own.drain === null ? '' : String(own.drain)),
    drainInherited: settingText(inherited.drain),
  };
}

/**
 * A cluster page's auto-sleep section: each node's sleepable flag and last known state, the
 * cluster's settings (which its nodes inherit), a form for them, and a button that sends them.
 */
export function clusterSleepView(db: Db, cluster: { id: number; name: string }, nodes: readonly FleetNode[]) {
  const scope = { kind: 'cluster' as const, id: cluster.id, name: cluster.name };
  const own = scopeOverrides(db, scope);
  const effective = scopeSettings(db, scope, own);
  return {
    url: `/fragments/clusters/${cluster.id}/sleep`,
    cluster: { id: cluster.id, name: cluster.name },
    nodes: nodes.map((node) => ({ id: node.id, hostname: node.hostname, role: node.role, sleepable: effectiveSettings(db, node).sleepable, state: lastState(db, node) })),
    settings: settingsList(effective, own),
    form: settingsForm(
      `/api/v1/clusters/${cluster.id}/sleep`,
      own,
      SLEEP_DEFAULTS,
      "The cluster's own values; its nodes inherit them unless they set their own. An empty field takes mko's default, shown in grey. Nodes get the settings at the next Enable, Disable or Send settings.",
    ),
  };
}
