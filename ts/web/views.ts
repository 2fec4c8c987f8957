// What the pages show, read from the same domain functions the CLI uses. Pure data: the templates
// in templates/web render it, escaped.
import { clusterStatuses, type NodeStatus } from '../cluster/status-store.js';
import type { Db } from '../db/index.js';
import { listClusters, listNodes, type Cluster, type FleetNode } from '../fleet/index.js';
import { listOperations, type Operation } from '../ops/index.js';
import { getWatchState, listUpses, type Ups } from '../power/index.js';

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

export interface DashboardView extends FleetDashboardView {
  upses: UpsView[];
}

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

export function dashboardView(db: Db): DashboardView {
  return { upses: upsViews(db), ...fleetDashboardView(db) };
}
