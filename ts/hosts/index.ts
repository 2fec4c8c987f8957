import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getCluster, listNodes } from '../fleet/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { runFields, runPlaybook, type CheckMode, type PlaybookResult, type RunContext } from '../ops/index.js';

/**
 * Write the managed /etc/hosts block on every node of a cluster so that members resolve each
 * other (MicroK8s refuses joins from names it cannot resolve), then verify with getent.
 */
export async function configureHosts(db: Db, clusterRef: string, ctx: RunContext & CheckMode): Promise<PlaybookResult> {
  const cluster = getCluster(db, clusterRef);
  if (listNodes(db, { cluster: cluster.name }).length === 0) {
    throw new UserError(`cluster ${cluster.name} has no nodes: assign some with mko cluster assign ${cluster.name} <node> --role worker`);
  }
  const group = clusterGroup(cluster.name);
  return runPlaybook(db, {
    kind: 'hosts',
    target: cluster.name,
    playbook: 'hosts.yml',
    extraVars: { mko_hosts_target: group },
    ...runFields(ctx),
    ...(ctx.check ? { check: true, diff: true } : {}),
  });
}
