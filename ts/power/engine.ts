// The rules engine: turns stored UPS events into actions on clusters.
//
// - A matching rule schedules an action, due after the rule's delay; the due time is stored, so a
//   restarted watcher re-arms it (resume). Delays are real timers.
// - Power coming back (power_restored) cancels every battery-triggered action that has not started
//   yet, and the cancellation is recorded; comm_restored does the same for comm_lost actions.
// - One cluster action (shutdown, startup, wake, scale) per cluster at a time: a due action waits
//   for the running one, and among waiting ones the larger priority goes first. So a restore that
//   arrives during a shutdown waits for it to finish, then starts up. notify runs beside them.
// - Power-on between clusters (startup, wake_on_lan) goes by cluster priority: while one of a
//   cluster with a lower priority number is due or running, another cluster's power-on waits for it
//   (rule priority is the other way round: the larger one goes first within a cluster).
// - An inactive cluster (mko cluster update --no-active) is left alone: its rules' cluster actions
//   are cancelled when they fall due, and the cancellation says why; notify still runs.
// - A battery rule acts at most once per outage (the time since the UPS's latest power_loss).
// - What runs an action is an ActionRunner: the engine decides when, the runner does it.
import type { Db } from '../db/index.js';
import { getCluster, type Cluster } from '../fleet/index.js';
import type { UpsEventKind } from './detect.js';
import { CLUSTER_ACTIONS, getRule, rulesFor, type PowerActionKind, type PowerRule } from './rules.js';
import {
  actionsWithStatus,
  currentOutage,
  dropAction,
  findAction,
  finishAction,
  getAction,
  getEvent,
  linkActionOperation,
  markActionRunning,
  ruleActedSince,
  scheduleAction,
  type PowerAction,
  type UpsEvent,
} from './store.js';

export interface ActionRequest {
  action: PowerAction;
  rule: PowerRule;
  event: UpsEvent;
  cluster: Cluster;
  /** Record the operation as soon as it exists, so it is linked while it runs. */
  linkOperation(operationId: number): void;
}

export interface ActionResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  operationId: number | null;
  detail: string;
}

/** Does what a rule says. Stopping the signal asks it to stop (the watcher is going away). */
export interface ActionRunner {
  run(request: ActionRequest, signal: AbortSignal): Promise<ActionResult>;
}

export interface EngineOptions {
  db: Db;
  runner: ActionRunner;
  log?: (line: string) => void;
  /** At start, actions overdue by more than this are expired instead of run (default 10 min). */
  lateLimitMs?: number;
}

export const DEFAULT_LATE_LIMIT_MS = 600_000;

const BATTERY_EVENTS: readonly UpsEventKind[] = ['power_loss', 'low_battery', 'critical_battery'];
/** Which pending actions an event makes pointless. */
const CANCELS: Partial<Record<UpsEventKind, readonly UpsEventKind[]>> = {
  power_restored: BATTERY_EVENTS,
  comm_restored: ['comm_lost'],
};

/** The actions that bring a cluster up: between clusters they go in cluster priority order. */
const POWER_ON_ACTIONS: readonly PowerActionKind[] = ['startup', 'wake_on_lan'];

export interface ResumeReport {
  rearmed: PowerAction[];
  late: PowerAction[];
  expired: PowerAction[];
  interrupted: PowerAction[];
}

function ruleMatches(rule: PowerRule, event: UpsEvent): boolean {
  if (event.kind !== 'low_battery') return true;
  // A threshold rule fires at its threshold, or earlier if the UPS itself says LB.
  return rule.batteryThreshold === null ? event.threshold === null : event.threshold === null || event.threshold === rule.batteryThreshold;
}

export class RulesEngine {
  private readonly db: Db;
  private readonly runner: ActionRunner;
  private readonly log: (line: string) => void;
  private readonly lateLimitMs: number;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Per cluster: the cluster action running now, and the due ones waiting for it. */
  private readonly clusters = new Map<number, { running: number | null; waiting: Set<number> }>();
  private readonly running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  private readonly pumps = new Set<number>();
  /** What to add to an action's detail when it runs (e.g. that it runs late). */
  private readonly notes = new Map<number, string | undefined>();
  private stopped = false;

  constructor(options: EngineOptions) {
    this.db = options.db;
    this.runner = options.runner;
    this.log = options.log ?? (() => {});
    this.lateLimitMs = options.lateLimitMs ?? DEFAULT_LATE_LIMIT_MS;
  }

  /** React to a stored event: cancel what it makes pointless, schedule what its rules say. */
  handle(event: UpsEvent): PowerAction[] {
    if (this.stopped) return [];
    this.cancelFor(event);
    const scheduled: PowerAction[] = [];
    const outage = currentOutage(this.db, event.upsId);
    for (const rule of rulesFor(this.db, event.upsId, event.kind)) {
      if (!ruleMatches(rule, event)) continue;
      if ((event.kind === 'low_battery' || event.kind === 'critical_battery') && outage !== null && ruleActedSince(this.db, rule.id, outage)) continue;
      const due = new Date(Date.now() + rule.actionDelay * 1000);
      const action = scheduleAction(this.db, { ruleId: rule.id, eventId: event.id, clusterId: rule.clusterId, action: rule.action, dueAt: due });
      scheduled.push(action);
      this.log(`rule ${rule.name}: ${rule.action} on cluster ${rule.cluster} ${rule.actionDelay > 0 ? `in ${rule.actionDelay} s` : 'now'} (action ${action.id}, event ${event.id} ${event.kind})`);
    }
    // Every action is scheduled before the first one starts: starting one takes a moment.
    for (const action of scheduled) this.arm(action);
    return scheduled;
  }

  /** At start: re-arm pending actions, run overdue ones (or expire them), close those a dead watcher left running. */
  resume(): ResumeReport {
    const report: ResumeReport = { rearmed: [], late: [], expired: [], interrupted: [] };
    for (const action of actionsWithStatus(this.db, 'running')) {
      if (this.running.has(action.id)) continue;
      finishAction(this.db, action.id, { status: 'interrupted', operationId: null, detail: 'the watcher stopped while it ran; not run again' });
      report.interrupted.push(getAction(this.db, action.id));
      this.log(`action ${action.id} (${action.rule}) was running when the watcher stopped: marked interrupted`);
    }
    const now = Date.now();
    for (const action of actionsWithStatus(this.db, 'pending')) {
      if (this.timers.has(action.id) || this.isQueued(action.id)) continue;
      const late = now - Date.parse(action.dueAt);
      if (late <= 0) {
        report.rearmed.push(action);
        this.log(`action ${action.id} (${action.rule}): re-armed, due in ${Math.round(-late / 100) / 10} s`);
        this.arm(action);
      } else if (late <= this.lateLimitMs) {
        report.late.push(action);
        this.log(`action ${action.id} (${action.rule}): was due ${Math.round(late / 100) / 10} s ago while the watcher was down: running it now`);
        this.arm(action, `run ${Math.round(late / 100) / 10} s late: it fell due while the watcher was not running`);
      } else {
        dropAction(this.db, action.id, { status: 'expired', detail: `was due at ${action.dueAt}, ${Math.round(late / 1000)} s before the watcher came back (limit ${this.lateLimitMs / 1000} s)` });
        report.expired.push(getAction(this.db, action.id));
        this.log(`action ${action.id} (${action.rule}): expired, it was due ${Math.round(late / 1000)} s ago`);
      }
    }
    return report;
  }

  /** Stop: no new actions; running ones are asked to stop and awaited. Pending ones stay pending in the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Nothing armed, waiting or running. */
  get idle(): boolean {
    return this.timers.size === 0 && this.running.size === 0 && [...this.clusters.values()].every((q) => q.waiting.size === 0);
  }

  private isQueued(actionId: number): boolean {
    return [...this.clusters.values()].some((q) => q.waiting.has(actionId));
  }

  private cancelFor(event: UpsEvent): void {
    const kinds = CANCELS[event.kind];
    if (!kinds) return;
    for (const action of actionsWithStatus(this.db, 'pending')) {
      if (action.upsId !== event.upsId || !kinds.includes(action.event)) continue;
      const timer = this.timers.get(action.id);
      const left = Math.max(0, Date.parse(action.dueAt) - Date.now());
      clearTimeout(timer);
      this.timers.delete(action.id);
      for (const queue of this.clusters.values()) queue.waiting.delete(action.id);
      const why = event.kind === 'power_restored' ? 'power returned' : 'communication returned';
      const detail = timer !== undefined || left > 0
        ? `${why} (event ${event.id}) ${Math.round(left / 100) / 10} s before its delay ended`
        : `${why} (event ${event.id}) while it waited for another action on cluster ${action.cluster}`;
      dropAction(this.db, action.id, { status: 'cancelled', detail, byEventId: event.id });
      this.log(`action ${action.id} (${action.rule}) cancelled: ${detail}`);
    }
    // A cancelled power-on may have held another cluster's power-on back.
    for (const [clusterId, queue] of this.clusters) if (queue.waiting.size > 0) this.schedulePump(clusterId);
  }

  private arm(action: PowerAction, note?: string): void {
    const wait = Date.parse(action.dueAt) - Date.now();
    if (wait <= 0) {
      this.due(action.id, note);
      return;
    }
    this.timers.set(
      action.id,
      setTimeout(() => {
        this.timers.delete(action.id);
        this.guarded(`action ${action.id}`, () => this.due(action.id, note));
      }, wait),
    );
  }

  /** Timer and queue callbacks: an error is logged, never thrown into the event loop (it would end the watcher). */
  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log(`${what}: ${(error as Error).message}`);
    }
  }

  private due(actionId: number, note?: string): void {
    if (this.stopped) return;
    // Deleted with its rule or UPS since it was scheduled: nothing to do.
    const action = findAction(this.db, actionId);
    if (!action || action.status !== 'pending') return;
    const rule = getRule(this.db, action.ruleId);
    if (!rule.enabled) {
      dropAction(this.db, action.id, { status: 'cancelled', detail: 'the rule was disabled before the action was due' });
      this.log(`action ${action.id} (${rule.name}) cancelled: the rule was disabled`);
      return;
    }
    if (!CLUSTER_ACTIONS.includes(action.action)) {
      this.start(action, note);
      return;
    }
    const cluster = getCluster(this.db, action.clusterId);
    if (!cluster.active) {
      const detail = `cluster ${cluster.name} is inactive: mko leaves it alone (mko cluster update ${cluster.name} --active to change that)`;
      dropAction(this.db, action.id, { status: 'cancelled', detail });
      this.log(`action ${action.id} (${rule.name}) cancelled: ${detail}`);
      return;
    }
    const queue = this.clusters.get(action.clusterId) ?? { running: null, waiting: new Set<number>() };
    this.clusters.set(action.clusterId, queue);
    queue.waiting.add(action.id);
    if (queue.running !== null) this.log(`action ${action.id} (${rule.name}) waits for action ${queue.running} on cluster ${action.cluster}`);
    this.notes.set(action.id, note);
    this.schedulePump(action.clusterId);
  }

  /** Pump on the next turn of the event loop, so actions that fell due together are all queued before one is picked. */
  private schedulePump(clusterId: number): void {
    if (this.pumps.has(clusterId)) return;
    this.pumps.add(clusterId);
    setImmediate(() => {
      this.pumps.delete(clusterId);
      this.guarded(`cluster ${clusterId}`, () => this.pump(clusterId));
    });
  }

  private pump(clusterId: number): void {
    const queue = this.clusters.get(clusterId);
    if (!queue || queue.running !== null || queue.waiting.size === 0 || this.stopped) return;
    const candidates = [...queue.waiting]
      .map((id) => findAction(this.db, id))
      .filter((a): a is PowerAction => a?.status === 'pending')
      .sort((a, b) => b.priority - a.priority || a.dueAt.localeCompare(b.dueAt) || a.id - b.id);
    queue.waiting.clear();
    const [next, ...rest] = candidates;
    if (!next) return;
    const first = POWER_ON_ACTIONS.includes(next.action) ? this.earlierPowerOn(next) : null;
    if (first) {
      candidates.forEach((a) => queue.waiting.add(a.id));
      const why = `waited for cluster ${first.name} (priority ${first.priority}) to power on first`;
      if (this.notes.get(next.id)?.includes(why) !== true) {
        this.notes.set(next.id, [this.notes.get(next.id), why].filter(Boolean).join('; '));
        this.log(`action ${next.id} (${next.rule}) on cluster ${next.cluster} ${why.replace('waited', 'waits')}`);
      }
      return;
    }
    rest.forEach((a) => queue.waiting.add(a.id));
    queue.running = next.id;
    const note = this.notes.get(next.id);
    this.notes.delete(next.id);
    const after = (): void => {
      queue.running = null;
      // A power-on that ends may let another cluster's power-on go.
      for (const [id, other] of this.clusters) if (id === clusterId || other.waiting.size > 0) this.schedulePump(id);
    };
    try {
      this.start(next, note, after);
    } catch (error) {
      after();
      throw error;
    }
  }

  /**
   * Another cluster with a lower priority number whose power-on action is running or due (waiting
   * in its queue): `action` goes after it. Actions still in their delay hold nothing back.
   */
  private earlierPowerOn(action: PowerAction): Cluster | null {
    const mine = getCluster(this.db, action.clusterId);
    let first: Cluster | null = null;
    for (const [clusterId, queue] of this.clusters) {
      if (clusterId === action.clusterId) continue;
      const ids = [...(queue.running !== null ? [queue.running] : []), ...queue.waiting];
      const powersOn = ids.some((id) => {
        const other = findAction(this.db, id);
        return other !== undefined && (other.status === 'pending' || other.status === 'running') && POWER_ON_ACTIONS.includes(other.action);
      });
      if (!powersOn) continue;
      const cluster = getCluster(this.db, clusterId);
      if (cluster.priority < mine.priority && (!first || cluster.priority < first.priority)) first = cluster;
    }
    return first;
  }

  private start(action: PowerAction, note: string | undefined, after?: () => void): void {
    const rule = getRule(this.db, action.ruleId);
    const event = getEvent(this.db, action.eventId);
    const cluster = getCluster(this.db, action.clusterId);
    markActionRunning(this.db, action.id, note);
    this.log(`action ${action.id} (${rule.name}): ${action.action} on cluster ${cluster.name} started`);
    const controller = new AbortController();
    const request: ActionRequest = {
      action: getAction(this.db, action.id),
      rule,
      event,
      cluster,
      linkOperation: (operationId) => linkActionOperation(this.db, action.id, operationId),
    };
    const done = (async () => {
      let result: ActionResult;
      try {
        result = await this.runner.run(request, controller.signal);
      } catch (error) {
        result = { status: 'failed', operationId: null, detail: (error as Error).message };
      }
      const detail = [note, result.detail].filter(Boolean).join('; ');
      // Its rule may have been deleted while it ran (and the row with it).
      this.guarded(`action ${action.id}`, () => finishAction(this.db, action.id, { status: result.status, operationId: result.operationId, detail }));
      this.log(`action ${action.id} (${rule.name}): ${result.status}${result.operationId !== null ? ` (operation ${result.operationId})` : ''}${result.detail ? `: ${result.detail}` : ''}`);
    })().finally(() => {
      this.running.delete(action.id);
      after?.();
    });
    this.running.set(action.id, { controller, done });
  }
}
