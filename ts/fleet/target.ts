// What a command's <target> names: one node, or every node of a cluster. Shared by the commands
// and domains that accept either (hardware, prerequisites, Wake-on-LAN, NUT).
import type { Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { findCluster, listClusters } from './clusters.js';
import { findNode, listNodes } from './nodes.js';
import type { FleetNode } from './rows.js';

export interface Target {
  /** How the user named it, resolved: a hostname or a cluster name. */
  name: string;
  kind: 'node' | 'cluster';
  nodes: FleetNode[];
  /** The --limit that selects exactly these nodes. */
  limit: string;
}

/** A node (by id or hostname), else a cluster (by id or name) meaning all of its nodes. */
export function resolveTarget(db: Db, ref: string): Target {
  const node = findNode(db, ref);
  const cluster = findCluster(db, ref);
  if (node && cluster) {
    const byId = /^\d+$/.test(ref);
    throw new UserError(
      `"${ref}" names both node ${node.hostname} and cluster ${cluster.name}: ` +
        (byId ? `use the hostname ${node.hostname} or the cluster name ${cluster.name}` : `use node id ${node.id} or cluster id ${cluster.id}`),
    );
  }
  if (node) return { name: node.hostname, kind: 'node', nodes: [node], limit: node.hostname };
  if (!cluster) throw new UserError(`no node or cluster ${quote(ref)}: see mko node list and mko cluster list`);
  const nodes = listNodes(db, { cluster: cluster.name });
  if (nodes.length === 0) throw new UserError(`cluster ${cluster.name} has no nodes: assign some with mko cluster assign`);
  return { name: cluster.name, kind: 'cluster', nodes, limit: nodes.map((n) => n.hostname).join(',') };
}

/**
 * The whole fleet as targets: every cluster that has nodes, and every node in no cluster (what
 * `mko health watch` and `mko hardware collect` take when given none). A fleet without nodes gives
 * none, which is not an error: a timer may be installed before the first node.
 */
export function fleetTargets(db: Db): string[] {
  const nodes = listNodes(db);
  const clusters = listClusters(db)
    .filter((c) => nodes.some((n) => n.clusterId === c.id))
    .map((c) => c.name);
  const loose = nodes.filter((n) => n.clusterId === null).map((n) => n.hostname);
  return [...clusters, ...loose];
}
