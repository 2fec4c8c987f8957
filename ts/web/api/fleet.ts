// Nodes and clusters: the fleet's records (what `mko node` and `mko cluster` add, show and remove).
import { updateClusterSettings } from '../../cluster/index.js';
import { addCluster, clusterFlags, clusterSchema, getCluster, getNode, listClusters, listNodes, nodeFlags, nodeSchema, nodeUpdateSchema, removeCluster, updateNode, type ClusterUpdate, type NodeChanges, type NodeInput } from '../../fleet/index.js';
import { addNode, forgetNode, nodeInstructions } from '../../ssh/index.js';
import { field } from '../../validate/index.js';
import { confirmBody, jsonBody, param, requireConfirm, type ApiRoutes } from '../route.js';

/** A node's fields the API accepts when adding one: the CLI's schema, plus the key choice. */
const nodeCreateSchema = {
  ...nodeSchema,
  properties: { ...nodeSchema.properties, keyType: field.keyType },
};
const nodeCreateFlags = { ...nodeFlags, keyType: '--key-type' };
const clusterUpdateSchema = { ...clusterSchema, required: [] };

export function fleetRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/nodes', scope: 'read', tag: 'nodes', summary: 'List nodes (?cluster=name)' }, (c, { db }) => {
    const cluster = c.req.query('cluster');
    return c.json({ nodes: listNodes(db, cluster ? { cluster } : {}) });
  });
  routes.add({ method: 'get', path: '/nodes/:node', scope: 'read', tag: 'nodes', summary: 'One node' }, (c, { db }) => c.json({ node: getNode(db, param(c, 'node')) }));
  routes.add(
    { method: 'post', path: '/nodes', scope: 'admin', tag: 'nodes', summary: 'Add a node: its own SSH key pair and its setup instructions', body: nodeCreateSchema, fields: nodeCreateFlags, created: true },
    async (c, { db, dataDir }) => {
      const { keyType, ...input } = await jsonBody(c);
      const added = await addNode(db, dataDir, input as unknown as NodeInput, keyType === undefined ? {} : { keyType: keyType as 'ed25519' | 'rsa' });
      return c.json({ node: added.node, instructions: added.instructions, joinedDefault: added.joinedDefault }, 201);
    },
  );
  routes.add(
    { method: 'patch', path: '/nodes/:node', scope: 'admin', tag: 'nodes', summary: 'Change how mko reaches the node (address, sshUser, sshPort) or its labels, as mko node update', body: nodeUpdateSchema, fields: nodeFlags },
    async (c, { db }) => c.json({ node: updateNode(db, param(c, 'node'), (await jsonBody(c)) as NodeChanges) }),
  );
  routes.add(
    { method: 'delete', path: '/nodes/:node', scope: 'admin', tag: 'nodes', summary: 'Forget a node (record, secrets and the key mko made); needs {"confirm": true}', body: confirmBody() },
    async (c, { db, dataDir }) => {
      requireConfirm(await jsonBody(c), `forget node ${param(c, 'node')}`);
      return c.json({ removed: forgetNode(db, dataDir, param(c, 'node')).hostname });
    },
  );
  routes.add({ method: 'get', path: '/nodes/:node/instructions', scope: 'read', tag: 'nodes', summary: 'The node\'s SSH setup instructions (?format=text|markdown)' }, async (c, { db }) => {
    const format = c.req.query('format') === 'markdown' ? 'markdown' : 'text';
    return c.json({ instructions: await nodeInstructions(db, param(c, 'node'), format) });
  });

  routes.add({ method: 'get', path: '/clusters', scope: 'read', tag: 'clusters', summary: 'List clusters' }, (c, { db }) => c.json({ clusters: listClusters(db) }));
  routes.add({ method: 'get', path: '/clusters/:cluster', scope: 'read', tag: 'clusters', summary: 'One cluster with its nodes' }, (c, { db }) => {
    const cluster = getCluster(db, param(c, 'cluster'));
    return c.json({ cluster, nodes: listNodes(db, { cluster: cluster.name }) });
  });
  routes.add({ method: 'post', path: '/clusters', scope: 'admin', tag: 'clusters', summary: 'Add a cluster', body: clusterSchema, fields: clusterFlags, created: true }, async (c, { db }) =>
    c.json({ cluster: addCluster(db, (await jsonBody(c)) as unknown as Parameters<typeof addCluster>[1]) }, 201),
  );
  routes.add({ method: 'patch', path: '/clusters/:cluster', scope: 'admin', tag: 'clusters', summary: 'Change a cluster\'s settings', body: clusterUpdateSchema, fields: clusterFlags }, async (c, { db }) =>
    c.json({ cluster: updateClusterSettings(db, param(c, 'cluster'), (await jsonBody(c)) as ClusterUpdate) }),
  );
  routes.add(
    { method: 'delete', path: '/clusters/:cluster', scope: 'admin', tag: 'clusters', summary: 'Remove a cluster; needs {"confirm": true}, and {"detachNodes": true} while it has nodes',
      body: confirmBody({ detachNodes: { type: 'boolean', hint: 'true or false: take the cluster\'s nodes out of it first' } }),
      fields: { detachNodes: '--detach-nodes' },
    },
    async (c, { db }) => {
      const body = await jsonBody(c);
      requireConfirm(body, `remove cluster ${param(c, 'cluster')}`);
      return c.json({ removed: removeCluster(db, param(c, 'cluster'), { detach: body['detachNodes'] === true }).name });
    },
  );
}
