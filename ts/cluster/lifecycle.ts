// Cluster lifecycle operations: each one playbook run, recorded as one operation.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { assignNode, getCluster, getNode, listNodes, updateCluster, type Cluster, type FleetNode } from '../fleet/index.js';
import { configureHosts } from '../hosts/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { runFields, runForHostReports, runPlaybook, type CheckMode, type PlaybookResult, type RunContext } from '../ops/index.js';
import { validate, field } from '../validate/index.js';
import { clusterStatuses, saveStatus, type NodeStatus, type StatusReport, type UnreachableReport } from './status-store.js';

export function kubeconfigPath(dataDir: string, cluster: Cluster): string {
  return path.join(dataDir, 'kubeconfig', `${cluster.name.toLowerCase()}.yaml`);
}

function run(db: Db, ctx: RunContext & CheckMode, spec: { kind: string; target: string; playbook: string; extraVars: Record<string, unknown>; limit?: string }): Promise<PlaybookResult> {
  return runPlaybook(db, {
    ...spec,
    ...runFields(ctx),
    ...(ctx.check ? { check: true, diff: true } : {}),
  });
}

function clusterWithNodes(db: Db, ref: string): { cluster: Cluster; nodes: FleetNode[] } {
  const cluster = getCluster(db, ref);
  const nodes = listNodes(db, { cluster: cluster.name });
  if (nodes.length === 0) throw new UserError(`cluster ${cluster.name} has no nodes: assign some with mko cluster assign ${cluster.name} <node> --role …`);
  if (!nodes.some((n) => n.role === 'control-plane')) {
    throw new UserError(`cluster ${cluster.name} has no control-plane node: assign one with mko cluster assign ${cluster.name} <node> --role control-plane`);
  }
  return { cluster, nodes };
}

function kubeconfigVars(ctx: RunContext & CheckMode, cluster: Cluster): Record<string, unknown> {
  const file = kubeconfigPath(ctx.dataDir, cluster);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return { microk8s_kubeconfig_path: file };
}

/** Prerequisites, /etc/hosts and MicroK8s on every node of a cluster, as one operation. */
export function setupCluster(db: Db, ref: string, ctx: RunContext & CheckMode): Promise<PlaybookResult> {
  const { cluster } = clusterWithNodes(db, ref);
  return run(db, ctx, {
    kind: 'setup',
    target: cluster.name,
    playbook: 'site.yml',
    extraVars: { mko_target: clusterGroup(cluster.name), ...kubeconfigVars(ctx, cluster) },
  });
}

/**
 * Install one node and join it to its cluster. The whole cluster is in the play (the node needs
 * the others in /etc/hosts, and the primary hands out its join token); the others do not change.
 */
export function installNode(db: Db, ref: string, ctx: RunContext & CheckMode): Promise<PlaybookResult> {
  const node = getNode(db, ref);
  if (!node.cluster) throw new UserError(`node ${node.hostname} is in no cluster: mko cluster assign <cluster> ${node.hostname} --role worker`);
  const cluster = getCluster(db, node.cluster);
  return run(db, ctx, {
    kind: 'install',
    target: node.hostname,
    playbook: 'site.yml',
    extraVars: { mko_target: clusterGroup(cluster.name), ...kubeconfigVars(ctx, cluster) },
  });
}

export interface StatusResult {
  operationId: number;
  statuses: NodeStatus[];
}

/** Read MicroK8s status on every node, store it, and return it; unreachable nodes are a status too. */
export async function readClusterStatus(db: Db, ref: string, ctx: RunContext & CheckMode): Promise<StatusResult> {
  const { cluster, nodes } = clusterWithNodes(db, ref);
  const { result, files } = await runForHostReports(db, {
    kind: 'status',
    target: cluster.name,
    playbook: 'status.yml',
    limit: clusterGroup(cluster.name),
    dbPath: ctx.dbPath,
    reportDirVar: 'status_report_dir',
    hosts: nodes.map((n) => n.hostname),
    extraVars: { mko_target: clusterGroup(cluster.name) },
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.env ? { env: ctx.env } : {}),
  });
  writeTransaction(db, () => {
    for (const file of files) {
      const node = nodes.find((n) => n.hostname === file.host);
      if (!node) continue;
      if (file.status === 'reported') {
        try {
          const report = JSON.parse(file.text) as StatusReport | UnreachableReport;
          if (report.reachable === false) saveStatus(db, node.id, result.operationId, { reachable: false, problem: report.problem || 'unreachable' });
          else saveStatus(db, node.id, result.operationId, report);
        } catch (error) {
          saveStatus(db, node.id, result.operationId, { reachable: true, problem: `unreadable status report: ${(error as Error).message}` });
        }
      } else {
        saveStatus(db, node.id, result.operationId, { reachable: file.status !== 'unreachable', problem: file.reason });
      }
    }
  });
  return { operationId: result.operationId, statuses: clusterStatuses(db, cluster.id) };
}

/**
 * One minor version up, node by node, control plane first; the database follows on success.
 * Whether each node can move to the channel (no skip, no downgrade, running) is upgrade.yml's
 * preflight play, on every node before any is touched: the nodes, not the database, say where
 * they are.
 */
export async function upgradeCluster(db: Db, ref: string, channel: string, ctx: RunContext & CheckMode): Promise<PlaybookResult> {
  validate({ type: 'object', properties: { channel: field.channel }, required: ['channel'] }, { channel }, { channel: '--channel' });
  const { cluster } = clusterWithNodes(db, ref);
  const result = await run(db, ctx, {
    kind: 'upgrade',
    target: cluster.name,
    playbook: 'upgrade.yml',
    extraVars: { mko_target: clusterGroup(cluster.name), microk8s_channel: channel },
  });
  if (result.status === 'succeeded' && !ctx.check) updateCluster(db, cluster.name, { channel });
  return result;
}

export interface RemoveResult {
  removal: PlaybookResult;
  hosts?: PlaybookResult;
}

/**
 * Take a node out of its cluster: drain, leave, remove-node on a survivor (the playbook refuses to
 * break quorum without force), then unassign it and rewrite /etc/hosts on the rest.
 */
export async function removeFromCluster(db: Db, ref: string, ctx: RunContext & CheckMode & { force?: boolean }): Promise<RemoveResult> {
  const node = getNode(db, ref);
  if (!node.cluster) throw new UserError(`node ${node.hostname} is in no cluster: nothing to remove it from`);
  const cluster = getCluster(db, node.cluster);
  const removal = await run(db, ctx, {
    kind: 'remove-node',
    target: node.hostname,
    playbook: 'remove-node.yml',
    extraVars: {
      mko_target: clusterGroup(cluster.name),
      microk8s_remove: node.hostname,
      microk8s_remove_force: ctx.force ?? false,
      microk8s_confirm: true,
    },
  });
  if (removal.status !== 'succeeded' || ctx.check) return { removal };
  assignNode(db, node.hostname, null);
  const rest = listNodes(db, { cluster: cluster.name });
  if (rest.length === 0) return { removal };
  return { removal, hosts: await configureHosts(db, cluster.name, ctx) };
}

/** Leave the cluster and remove MicroK8s from the given nodes. */
export function resetNodes(db: Db, refs: readonly string[], ctx: RunContext & CheckMode & { force?: boolean }): Promise<PlaybookResult> {
  const nodes = refs.map((r) => getNode(db, r));
  const clusters = new Set(nodes.map((n) => n.cluster));
  if (clusters.size !== 1 || !nodes[0]?.cluster) throw new UserError('reset nodes of one cluster at a time (all named nodes must be in the same cluster)');
  const cluster = getCluster(db, nodes[0].cluster);
  return run(db, ctx, {
    kind: 'reset',
    target: nodes.map((n) => n.hostname).join(','),
    playbook: 'reset.yml',
    limit: nodes.map((n) => n.hostname).join(','),
    extraVars: { mko_target: clusterGroup(cluster.name), microk8s_confirm: true, microk8s_remove_force: ctx.force ?? false },
  });
}

export function existingKubeconfig(db: Db, dataDir: string, ref: string): string {
  const cluster = getCluster(db, ref);
  const file = kubeconfigPath(dataDir, cluster);
  if (!existsSync(file)) throw new UserError(`no kubeconfig for cluster ${cluster.name} yet: run mko cluster setup ${cluster.name}`);
  return file;
}
