import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getCluster, updateCluster, type Cluster, type ClusterUpdate } from '../fleet/index.js';
import { field, validate } from '../validate/index.js';

/**
 * The nodes of a cluster that have, or may have, MicroK8s installed: the last `cluster status`
 * said so, or site.yml or upgrade.yml ran after it (or no status was ever read after such a run).
 * A run recorded from plain ansible-playbook may have targeted any node, so it counts for all.
 */
export function nodesMaybeInstalled(db: Db, cluster: Cluster): string[] {
  const rows = db
    .prepare(
      `SELECT n.hostname FROM nodes n LEFT JOIN node_status s ON s.node_id = n.id
       WHERE n.cluster_id = @clusterId
         AND (s.installed = 1 OR EXISTS (
           SELECT 1 FROM operations o
           WHERE (o.playbook LIKE '%site.yml' OR o.playbook LIKE '%upgrade.yml')
             AND (o.source = 'ansible' OR o.target IN (@cluster, n.hostname))
             AND (s.checked_at IS NULL OR o.started_at >= s.checked_at)))
       ORDER BY n.hostname`,
    )
    .all({ clusterId: cluster.id, cluster: cluster.name }) as { hostname: string }[];
  return rows.map((r) => r.hostname);
}

/**
 * `cluster update --channel` records the channel wanted for the next setup; once MicroK8s may be
 * on a node it would make the database disagree with the nodes, so it is refused: the channel of
 * an installed cluster changes through `cluster upgrade` (one minor at a time, the nodes follow).
 */
export function checkChannelUpdate(db: Db, cluster: Cluster, channel: string): void {
  if (channel === cluster.channel) return;
  const installed = nodesMaybeInstalled(db, cluster);
  if (installed.length === 0) return;
  const shown = installed.length > 3 ? `${installed.slice(0, 3).join(', ')} and ${installed.length - 3} more` : installed.join(', ');
  throw new UserError(
    `--channel ${channel}: MicroK8s is (or may be) installed on ${shown} of cluster ${cluster.name}: ` +
      `change it on the nodes with mko cluster upgrade ${cluster.name} --channel ${channel} (one minor at a time)`,
  );
}

/** `cluster update`: the settings as given, the channel only while no node may have MicroK8s. */
export function updateClusterSettings(db: Db, ref: string, changes: ClusterUpdate): Cluster {
  const cluster = getCluster(db, ref);
  if (changes.channel !== undefined) {
    validate({ type: 'object', properties: { channel: field.channel } }, { channel: changes.channel }, { channel: '--channel' });
    checkChannelUpdate(db, cluster, changes.channel);
  }
  return updateCluster(db, cluster.name, changes);
}
