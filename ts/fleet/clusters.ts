import { findByRef, refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { field, validate } from '../validate/index.js';
import { SELECT_CLUSTERS, toCluster, type Addon, type Cluster, type ClusterRow } from './rows.js';

export interface ClusterInput {
  name: string;
  description?: string;
  channel?: string;
  addons?: Addon[];
  ha?: boolean;
  active?: boolean;
  isDefault?: boolean;
  priority?: number;
}

export const clusterSchema = {
  type: 'object',
  properties: {
    name: field.clusterName,
    description: field.text,
    channel: field.channel,
    addons: field.addons,
    ha: { type: 'boolean', hint: 'true or false' },
    active: { type: 'boolean', hint: 'true or false' },
    isDefault: { type: 'boolean', hint: 'true or false' },
    priority: field.priority,
  },
  required: ['name'],
  additionalProperties: false,
};

export const clusterFlags = { name: 'cluster name', isDefault: '--default', addons: '--addons', channel: '--channel' };

/** Parse `dns,ingress,metallb:10.0.0.10-10.0.0.20` into addon objects. */
export function parseAddons(spec: string): Addon[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const colon = part.indexOf(':');
      return colon < 0 ? { name: part, args: '' } : { name: part.slice(0, colon), args: part.slice(colon + 1) };
    });
}

export function listClusters(db: Db): Cluster[] {
  const rows = db.prepare(`${SELECT_CLUSTERS} ORDER BY c.priority, c.name`).all() as ClusterRow[];
  return rows.map(toCluster);
}

export function findCluster(db: Db, ref: string | number): Cluster | undefined {
  const row = findByRef<ClusterRow>(db, SELECT_CLUSTERS, { id: 'c.id', name: 'c.name' }, ref);
  return row ? toCluster(row) : undefined;
}

/** The cluster marked --default, where `node add` puts a node given no --cluster. */
export function defaultCluster(db: Db): Cluster | undefined {
  const row = db.prepare(`${SELECT_CLUSTERS} WHERE c.is_default = 1`).get() as ClusterRow | undefined;
  return row ? toCluster(row) : undefined;
}

export function getCluster(db: Db, ref: string | number): Cluster {
  const cluster = findCluster(db, ref);
  if (!cluster) throw new UserError(`no cluster ${quote(String(ref))}: see mko cluster list`);
  return cluster;
}

export function addCluster(db: Db, input: ClusterInput): Cluster {
  const data = validate<ClusterInput>(clusterSchema, input, clusterFlags);
  refuseNumericName(data.name, clusterFlags.name);
  return writeTransaction(db, () => {
    if (findCluster(db, data.name)) throw new UserError(`cluster ${data.name} already exists: choose another ${clusterFlags.name}`);
    if (data.isDefault) db.prepare('UPDATE clusters SET is_default = 0 WHERE is_default = 1').run();
    const result = db
      .prepare(
        `INSERT INTO clusters (name, description, channel, addons, ha, active, is_default, priority)
         VALUES (@name, @description, @channel, @addons, @ha, @active, @isDefault, @priority)`,
      )
      .run({
        name: data.name,
        description: data.description ?? '',
        channel: data.channel ?? '1.31/stable',
        addons: JSON.stringify(data.addons ?? []),
        ha: data.ha === false ? 0 : 1,
        active: data.active === false ? 0 : 1,
        isDefault: data.isDefault ? 1 : 0,
        priority: data.priority ?? 100,
      });
    return getCluster(db, Number(result.lastInsertRowid));
  });
}

export type ClusterUpdate = Partial<Omit<ClusterInput, 'name'>>;

export function updateCluster(db: Db, ref: string, changes: ClusterUpdate): Cluster {
  const data = validate<ClusterInput>(clusterSchema, { name: getCluster(db, ref).name, ...changes }, clusterFlags);
  // Read again under the write lock: an update that read first would undo a concurrent one.
  return writeTransaction(db, () => {
    const cluster = getCluster(db, ref);
    if (data.isDefault) db.prepare('UPDATE clusters SET is_default = 0 WHERE is_default = 1').run();
    db.prepare(
      `UPDATE clusters SET description = @description, channel = @channel, addons = @addons, ha = @ha,
         active = @active, is_default = @isDefault, priority = @priority,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE id = @id`,
    ).run({
      id: cluster.id,
      description: data.description ?? cluster.description,
      channel: data.channel ?? cluster.channel,
      addons: JSON.stringify(data.addons ?? cluster.addons),
      ha: (data.ha ?? cluster.ha) ? 1 : 0,
      active: (data.active ?? cluster.active) ? 1 : 0,
      isDefault: (data.isDefault ?? cluster.isDefault) ? 1 : 0,
      priority: data.priority ?? cluster.priority,
    });
    return getCluster(db, cluster.id);
  });
}

/** Remove a cluster. Nodes still assigned block it unless `detach` unassigns them first. */
export function removeCluster(db: Db, ref: string, options: { detach?: boolean } = {}): Cluster {
  // Counted under the write lock: a node assigned meanwhile must block the removal, not fail it.
  return writeTransaction(db, () => {
    const cluster = getCluster(db, ref);
    if (cluster.nodeCount > 0) {
      if (!options.detach) {
        throw new UserError(
          `cluster ${cluster.name} still has ${cluster.nodeCount} node(s): unassign them, or pass --detach-nodes`,
        );
      }
      db.prepare('UPDATE nodes SET cluster_id = NULL WHERE cluster_id = ?').run(cluster.id);
    }
    db.prepare('DELETE FROM clusters WHERE id = ?').run(cluster.id);
    return cluster;
  });
}
