// mko sleep enable|disable|apply|status|now: the autosleep role's playbooks, one run each, with
// the per-node reports read back and the nodes' journals recorded (journal.ts).
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getNode, resolveTarget, type FleetNode } from '../fleet/index.js';
import { runForHostReports, runFields, type CheckMode, type HostFile, type RunContext } from '../ops/index.js';
import { lastJournalEntry, recordJournal } from './journal.js';
import { effectiveSettings, refuseUnsafeEnable, writeOverrides, type SleepSettings } from './settings.js';

export interface SleepCheck {
  check: string;
  state: 'busy' | 'idle' | 'unknown';
  detail: string;
}

export interface SleepNodeStatus {
  host: string;
  nodeId: number;
  role: FleetNode['role'];
  /** What mko has stored for it. */
  settings: SleepSettings;
  /** reported: the node answered; unreachable / failed: it did not (asleep, off, or broken). */
  result: HostFile['status'];
  /** not sleepable | awake | idle | going to sleep | unreachable | not installed | failed */
  state: string;
  /** Seconds until it sleeps, when every check finds it idle. */
  sleepsIn: number | null;
  detail: string;
  checks: SleepCheck[];
  idleSince: string | null;
  /** Operations made now from the node's journal (its own sleeps and wakes). */
  recorded: number[];
}

/**
 * The key under which the autosleep role's status step reports each node's verdict with set_stats
 * (kept in the operation's results): { installed, status (the evaluator's, or null), error }.
 */
export const SLEEP_REPORT_STAT = 'mko_autosleep';

export interface SleepRunResult {
  operationId: number;
  ok: boolean;
  nodes: SleepNodeStatus[];
}

type Json = Record<string, unknown>;
const parse = (file: HostFile): Json | null => {
  if (file.status !== 'reported') return null;
  try {
    return JSON.parse(file.text) as Json;
  } catch {
    return null;
  }
};

function lastJournalLine(db: Db, nodeId: number): string {
  const row = lastJournalEntry(db, nodeId);
  if (!row) return '';
  return row.outcome === 'slept' ? `; it went to sleep at ${row.at}` : `; last auto-sleep event: ${row.outcome} at ${row.at}`;
}

function nodeStatus(db: Db, node: FleetNode, file: HostFile): SleepNodeStatus {
  const base = { host: node.hostname, nodeId: node.id, role: node.role, settings: effectiveSettings(db, node), result: file.status, checks: [], idleSince: null, sleepsIn: null, recorded: [] as number[] };
  if (file.status !== 'reported') {
    // Asleep is the usual reason here: say so before Ansible's words.
    if (file.status === 'unreachable') return { ...base, state: 'unreachable', detail: `does not answer SSH: asleep or off${lastJournalLine(db, node.id)}` };
    return { ...base, state: 'failed', detail: file.reason };
  }
  const report = parse(file) ?? {};
  const recorded = recordJournal(db, node, report['journal'], null);
  const status = report['status'] as Json | null | undefined;
  if (report['installed'] === false) return { ...base, recorded, state: 'not installed', detail: 'auto-sleep is not installed: mko sleep apply installs it' };
  if (!status) return { ...base, recorded, state: 'failed', detail: `the evaluator failed: ${String(report['error'] ?? '')}` };
  return {
    ...base,
    recorded,
    state: String(status['state']),
    sleepsIn: typeof status['sleeps_in'] === 'number' ? status['sleeps_in'] : null,
    detail: String(status['detail'] ?? ''),
    checks: Array.isArray(status['checks']) ? (status['checks'] as SleepCheck[]) : [],
    idleSince: typeof status['idle_since'] === 'string' ? status['idle_since'] : null,
  };
}

async function statusRun(db: Db, kind: string, target: string, playbook: string, nodes: FleetNode[], ctx: RunContext & CheckMode): Promise<SleepRunResult> {
  const { result, files } = await runForHostReports(db, {
    kind,
    target,
    playbook,
    reportDirVar: 'autosleep_report_dir',
    hosts: nodes.map((n) => n.hostname),
    extraVars: { mko_hosts_target: nodes.map((n) => n.hostname).join(',') },
    ...(ctx.check ? { check: true } : {}),
    ...runFields(ctx),
  });
  const out = nodes.map((n, i) => nodeStatus(db, n, files[i] as HostFile));
  return { operationId: result.operationId, ok: result.status === 'succeeded', nodes: out };
}

/** mko sleep status [target]: every check on every node, why it is awake or when it sleeps. */
export function sleepStatus(db: Db, ref: string, ctx: RunContext): Promise<SleepRunResult> {
  const target = resolveTarget(db, ref);
  return statusRun(db, 'sleep-status', target.name, 'sleep-status.yml', target.nodes, ctx);
}

/** mko sleep apply <target>: install auto-sleep and push the stored settings to the nodes. */
export function applySleep(db: Db, ref: string, ctx: RunContext & CheckMode): Promise<SleepRunResult> {
  const target = resolveTarget(db, ref);
  return statusRun(db, 'sleep-apply', target.name, 'autosleep.yml', target.nodes, ctx);
}

/** mko sleep enable|disable <node>: store it (a voter only when quorum is safe), then apply it. */
export function setSleepable(db: Db, ref: string, on: boolean, ctx: RunContext & CheckMode): Promise<SleepRunResult> {
  const node = getNode(db, ref);
  if (on) refuseUnsafeEnable(db, node.hostname);
  if (!ctx.check) writeOverrides(db, { kind: 'node', id: node.id, name: node.hostname }, { sleepable: on });
  return statusRun(db, on ? 'sleep-enable' : 'sleep-disable', node.hostname, 'autosleep.yml', [node], ctx);
}

export interface SleepNowResult {
  operationId: number;
  host: string;
  /** slept | cancelled | failed | would sleep (check mode) */
  outcome: string;
  reason: string;
  cordoned: boolean;
  drained: boolean;
  /** The node's SSH port closed (power-off); null for suspend or when it did not go. */
  gone: boolean | null;
  ok: boolean;
}

/** mko sleep now <node>: the sleep sequence at once (the node re-checks the voters itself). */
export async function sleepNow(db: Db, ref: string, ctx: RunContext & CheckMode): Promise<SleepNowResult> {
  const node = getNode(db, ref);
  if (!node.cluster) throw new UserError(`node ${node.hostname} is in no cluster: auto-sleep cordons a Kubernetes node; assign it with mko cluster assign`);
  const { result, files } = await runForHostReports(db, {
    kind: 'sleep-now',
    target: node.hostname,
    playbook: 'sleep-now.yml',
    reportDirVar: 'autosleep_report_dir',
    hosts: [node.hostname],
    extraVars: { mko_hosts_target: node.hostname },
    ...(ctx.check ? { check: true } : {}),
    ...runFields(ctx),
  });
  const file = files[0] as HostFile;
  const report = parse(file) ?? {};
  const entry = (report['entry'] ?? {}) as Json;
  if (entry['id']) recordJournal(db, node, [entry], result.operationId);
  const outcome = ctx.check ? 'would sleep' : typeof entry['outcome'] === 'string' ? entry['outcome'] : 'failed';
  const reason = String(entry['reason'] ?? report['error'] ?? (file.status !== 'reported' ? file.reason : ''));
  return {
    operationId: result.operationId,
    host: node.hostname,
    outcome,
    reason,
    cordoned: entry['cordoned'] === true,
    drained: entry['drained'] === true,
    gone: typeof report['gone'] === 'boolean' && outcome === 'slept' && entry['action'] === 'poweroff' ? report['gone'] : null,
    ok: result.status === 'succeeded' && (ctx.check === true || outcome === 'slept'),
  };
}
