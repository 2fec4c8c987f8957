// What the pages show, read from the same domain functions the CLI uses. Pure data: the templates
// in templates/web render it, escaped.
import { clusterStatuses, type NodeStatus } from '../cluster/status-store.js';
import type { Db } from '../db/index.js';
import { listClusters, listNodes, type Cluster, type FleetNode } from '../fleet/index.js';
import { listOperations, type Operation } from '../ops/index.js';
import { ACTIONS, EVENT_KINDS, getWatchState, listEvents, listRules, listUpses, workloadText, type PowerRule, type Ups } from '../power/index.js';

export type NodeState = 'ready' | 'not-ready' | 'stopped' | 'unreachable' | 'unknown';

export interface NodeView {
  id: number;
  hostname: string;
  address: string;
  role: string;
  state: NodeState;
  stateText: string;
  haRole: string | null;
  checkedAt: string | null;
}

export interface ClusterView {
  id: number;
  name: string;
  channel: string;
  ha: boolean;
  active: boolean;
  nodes: NodeView[];
  voters: number;
  votersUp: number;
  /** ok, at-risk (a voter down, or fewer than 3 in an HA wish), lost, or unknown (never checked). */
  quorum: 'ok' | 'at-risk' | 'lost' | 'unknown';
  quorumText: string;
}

export interface UpsView {
  id: number;
  name: string;
  host: string;
  status: string;
  onBattery: boolean;
  lowBattery: boolean;
  charge: number | null;
  runtimeText: string;
  polledAt: string | null;
  /** Seconds since the watcher's last reading; null when it never read one. */
  staleSeconds: number | null;
  stale: boolean;
  error: string | null;
}

export interface OperationView {
  id: number;
  kind: string;
  target: string;
  status: string;
  source: string;
  startedAt: string;
  finishedAt: string | null;
  exitMeaning: string | null;
}

/** A reading older than this (three missed polls at the default interval and then some) is stale. */
export const STALE_AFTER_S = 10;

const STATE_TEXT: Record<NodeState, string> = { ready: 'Ready', 'not-ready': 'NotReady', stopped: 'MicroK8s stopped', unreachable: 'unreachable', unknown: 'not checked yet' };

function nodeState(status: NodeStatus | undefined): NodeState {
  if (!status) return 'unknown';
  if (!status.reachable) return 'unreachable';
  if (!status.running) return 'stopped';
  return status.ready ? 'ready' : 'not-ready';
}

function nodeView(node: FleetNode, status: NodeStatus | undefined): NodeView {
  const state = nodeState(status);
  return { id: node.id, hostname: node.hostname, address: node.address, role: node.role, state, stateText: STATE_TEXT[state], haRole: status?.haRole ?? null, checkedAt: status?.checkedAt ?? null };
}

export function clusterView(db: Db, cluster: Cluster, nodes: readonly FleetNode[]): ClusterView {
  const statuses = new Map(clusterStatuses(db, cluster.id).map((s) => [s.nodeId, s]));
  const views = nodes.map((n) => nodeView(n, statuses.get(n.id)));
  const voters = views.filter((n) => n.haRole === 'voter');
  const votersUp = voters.filter((n) => n.state === 'ready' || n.state === 'not-ready').length;
  let quorum: ClusterView['quorum'] = 'unknown';
  let quorumText = 'not checked yet: mko cluster status';
  if (voters.length > 0) {
    if (votersUp * 2 <= voters.length) {
      quorum = 'lost';
      quorumText = `quorum lost: ${votersUp} of ${voters.length} voters up`;
    } else if (votersUp < voters.length || (cluster.ha && voters.length < 3)) {
      quorum = 'at-risk';
      quorumText = votersUp < voters.length ? `at risk: ${votersUp} of ${voters.length} voters up` : `at risk: ${voters.length} voter(s), HA needs 3`;
    } else {
      quorum = 'ok';
      quorumText = `${votersUp} of ${voters.length} voters up`;
    }
  }
  return { id: cluster.id, name: cluster.name, channel: cluster.channel, ha: cluster.ha, active: cluster.active, nodes: views, voters: voters.length, votersUp, quorum, quorumText };
}

function runtimeText(seconds: number | null): string {
  if (seconds === null) return '-';
  const minutes = Math.floor(seconds / 60);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

/** A UPS as the watcher last read it, with how old that reading is. */
export function upsView(db: Db, ups: Ups, now: Date = new Date()): UpsView {
  const state = getWatchState(db, ups.id);
  const words = (state?.status ?? '').split(/\s+/);
  const staleSeconds = state ? Math.max(0, Math.round((now.getTime() - Date.parse(state.at)) / 1000)) : null;
  return {
    id: ups.id,
    name: ups.name,
    host: ups.host,
    status: state?.status ?? 'no reading yet (is the watcher running? mko ups monitor status)',
    onBattery: words.includes('OB'),
    lowBattery: words.includes('LB'),
    charge: state?.charge ?? null,
    runtimeText: runtimeText(state?.runtime ?? null),
    polledAt: state?.at ?? null,
    staleSeconds,
    stale: staleSeconds === null || staleSeconds > STALE_AFTER_S,
    error: state?.error ?? null,
  };
}

export function upsViews(db: Db, now: Date = new Date()): UpsView[] {
  return listUpses(db).map((ups) => upsView(db, ups, now));
}

export const operationView = (op: Operation): OperationView => ({
  id: op.id,
  kind: op.kind,
  target: op.target,
  status: op.status,
  source: op.source,
  startedAt: op.startedAt,
  finishedAt: op.finishedAt,
  exitMeaning: op.exitMeaning,
});

/** The dashboard's fleet part: clusters with their nodes, nodes in no cluster, recent operations. */
export interface FleetDashboardView {
  clusters: ClusterView[];
  unassigned: NodeView[];
  operations: OperationView[];
}

/** The dashboard's power part: each UPS's last reading, and the age at which a reading is stale. */
export interface PowerDashboardView {
  staleAfter: number;
  upses: UpsView[];
}

export type DashboardView = FleetDashboardView & PowerDashboardView;

export const powerDashboardView = (db: Db): PowerDashboardView => ({ staleAfter: STALE_AFTER_S, upses: upsViews(db) });

export function fleetDashboardView(db: Db): FleetDashboardView {
  const byCluster = new Map<number, FleetNode[]>();
  const unassigned: NodeView[] = [];
  for (const n of listNodes(db)) {
    if (n.clusterId === null) unassigned.push(nodeView(n, undefined));
    else {
      const members = byCluster.get(n.clusterId);
      if (members) members.push(n);
      else byCluster.set(n.clusterId, [n]);
    }
  }
  return {
    clusters: listClusters(db).map((c) => clusterView(db, c, byCluster.get(c.id) ?? [])),
    unassigned,
    operations: listOperations(db, { limit: 10 }).map(operationView),
  };
}

/** A <select>'s options with the current value marked. */
export const choices = (values: readonly string[], current?: string | null): { value: string; selected: boolean }[] =>
  values.map((value) => ({ value, selected: value === current }));

/** A power rule as the UPS page lists it, with what its edit form starts from. */
export interface RuleView {
  id: number;
  /** Where the edit form sends its PATCH. */
  url: string;
  name: string;
  cluster: string;
  event: string;
  action: string;
  enabled: boolean;
  batteryThreshold: number | null;
  actionDelay: number;
  priority: number;
  workloads: string;
  command: string;
  commandTimeout: number | null;
  drainTimeout: number | null;
  executionCount: number;
  lastRunAt: string | null;
  lastResult: string | null;
  events: { value: string; selected: boolean }[];
  actions: { value: string; selected: boolean }[];
  clusters: { value: string; selected: boolean }[];
}

function ruleView(rule: PowerRule, clusterNames: readonly string[]): RuleView {
  const o = rule.options;
  return {
    id: rule.id,
    url: `/api/v1/rules/${rule.id}`,
    name: rule.name,
    cluster: rule.cluster,
    event: rule.event,
    action: rule.action,
    enabled: rule.enabled,
    batteryThreshold: rule.batteryThreshold,
    actionDelay: rule.actionDelay,
    priority: rule.priority,
    workloads: o.workloads ? o.workloads.map(workloadText).join(',') : '',
    command: o.command ?? '',
    commandTimeout: o.commandTimeout ?? null,
    drainTimeout: o.drainTimeout ?? null,
    executionCount: rule.executionCount,
    lastRunAt: rule.lastRunAt,
    lastResult: rule.lastResult,
    events: choices(EVENT_KINDS, rule.event),
    actions: choices(ACTIONS, rule.action),
    clusters: choices(clusterNames, rule.cluster),
  };
}

/** The UPS page's live part: the watcher's last reading and the latest events. */
export function upsStatusView(db: Db, ups: Ups, now: Date = new Date()) {
  return {
    reading: upsView(db, ups, now),
    staleAfter: STALE_AFTER_S,
    events: listEvents(db, { upsId: ups.id, limit: 20 }).map((e) => ({ id: e.id, kind: e.kind, at: e.at, status: e.status, charge: e.charge, detail: e.detail })),
  };
}

/** The UPS page: its record (no secrets), live part, and its rules with their edit forms. */
export function upsPageView(db: Db, ups: Ups) {
  const clusterNames = listClusters(db).map((c) => c.name);
  return {
    ups: { id: ups.id, name: ups.name, host: ups.host, address: ups.address, driver: ups.driver, port: ups.port, description: ups.description, upsdPort: ups.upsdPort },
    status: upsStatusView(db, ups),
    rules: listRules(db, { ups: ups.name }).map((r) => ruleView(r, clusterNames)),
    newRule: { events: choices(EVENT_KINDS), actions: choices(ACTIONS), clusters: choices(clusterNames) },
  };
}

export function dashboardView(db: Db): DashboardView {
  return { ...powerDashboardView(db), ...fleetDashboardView(db) };
}
