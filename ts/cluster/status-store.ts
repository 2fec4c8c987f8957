import type { Db } from '../db/index.js';

export type HaRole = 'voter' | 'standby' | 'spare' | 'worker' | 'none';

/** What playbooks/status.yml writes per host that answered. */
export interface StatusReport {
  hostname: string;
  reachable: true;
  installed: boolean;
  running: boolean;
  version: string | null;
  channel: string | null;
  held: boolean;
  role: HaRole;
  ha: boolean;
  cluster_nodes: { address: string; role: string }[];
  addons_enabled: string[];
  ready: boolean;
}

/** What playbooks/status.yml writes per host that did not answer. */
export interface UnreachableReport {
  hostname: string;
  reachable: false;
  problem: string;
}

export interface NodeStatus {
  hostname: string;
  nodeId: number;
  checkedAt: string;
  reachable: boolean;
  installed: boolean | null;
  running: boolean | null;
  ready: boolean | null;
  version: string | null;
  channel: string | null;
  held: boolean | null;
  haRole: HaRole | null;
  ha: boolean | null;
  addons: string[];
  problem: string | null;
}

interface Row {
  hostname: string;
  node_id: number;
  checked_at: string;
  reachable: number;
  installed: number | null;
  running: number | null;
  ready: number | null;
  version: string | null;
  channel: string | null;
  held: number | null;
  ha_role: HaRole | null;
  ha: number | null;
  addons: string;
  problem: string | null;
}

const bool = (v: number | null): boolean | null => (v === null ? null : v === 1);
const flag = (v: boolean | null | undefined): number | null => (v === null || v === undefined ? null : v ? 1 : 0);

export function saveStatus(db: Db, nodeId: number, operationId: number, status: StatusReport | { problem: string; reachable: boolean }): void {
  const report = 'hostname' in status ? status : null;
  db.prepare(
    `INSERT INTO node_status (node_id, operation_id, reachable, installed, running, ready, version, channel, held, ha_role, ha, addons, problem)
     VALUES (@nodeId, @operationId, @reachable, @installed, @running, @ready, @version, @channel, @held, @haRole, @ha, @addons, @problem)
     ON CONFLICT (node_id) DO UPDATE SET checked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), operation_id = excluded.operation_id,
       reachable = excluded.reachable, installed = excluded.installed, running = excluded.running, ready = excluded.ready,
       version = excluded.version, channel = excluded.channel, held = excluded.held, ha_role = excluded.ha_role, ha = excluded.ha,
       addons = excluded.addons, problem = excluded.problem`,
  ).run({
    nodeId,
    operationId,
    reachable: report ? 1 : (status as { reachable: boolean }).reachable ? 1 : 0,
    installed: flag(report?.installed),
    running: flag(report?.running),
    ready: flag(report?.ready),
    version: report?.version ?? null,
    channel: report?.channel ?? null,
    held: flag(report?.held),
    haRole: report?.role ?? null,
    ha: flag(report?.ha),
    addons: JSON.stringify(report?.addons_enabled ?? []),
    problem: report ? null : (status as { problem: string }).problem,
  });
}

export function clusterStatuses(db: Db, clusterId: number): NodeStatus[] {
  const rows = db
    .prepare(
      `SELECT n.hostname, s.* FROM node_status s JOIN nodes n ON n.id = s.node_id
       WHERE n.cluster_id = ? ORDER BY n.role = 'worker', n.hostname`,
    )
    .all(clusterId) as Row[];
  return rows.map((r) => ({
    hostname: r.hostname,
    nodeId: r.node_id,
    checkedAt: r.checked_at,
    reachable: r.reachable === 1,
    installed: bool(r.installed),
    running: bool(r.running),
    ready: bool(r.ready),
    version: r.version,
    channel: r.channel,
    held: bool(r.held),
    haRole: r.ha_role,
    ha: bool(r.ha),
    addons: JSON.parse(r.addons) as string[],
    problem: r.problem,
  }));
}
