// Long actions on clusters and nodes: each starts the same domain function as its CLI command and
// answers 202 with the operation id; GET /operations/:id/events follows it.
import { readClusterStatus, setupCluster, shutdownCluster, startupCluster, upgradeCluster } from '../../cluster/index.js';
import { UserError } from '../../errors.js';
import { assignNode, getCluster, getNode } from '../../fleet/index.js';
import { configureHosts } from '../../hosts/index.js';
import type { CheckMode, RunContext } from '../../ops/index.js';
import { regenerateKey, testSsh } from '../../ssh/index.js';
import { wakeCluster, wakeNode } from '../../wol/index.js';
import { accepted, jsonBody, param, requireConfirm, type ApiRoutes, type AppDeps } from '../route.js';

/** What a playbook-running domain function gets when the server runs it: no terminal, its own cancel. */
const runContext = (deps: AppDeps, signal: AbortSignal, check = false): RunContext & CheckMode => ({ dbPath: deps.dbPath, dataDir: deps.dataDir, signal, ...(check ? { check: true } : {}) });

function checkFlag(body: Record<string, unknown>): boolean {
  const check = body['check'];
  if (check !== undefined && typeof check !== 'boolean') throw new UserError(`invalid check ${JSON.stringify(check)}: must be true or false`, 1, 'check');
  return check === true;
}

const checkBody = { type: 'object', properties: { check: { type: 'boolean', description: 'Ansible check mode: show what would change, change nothing' } }, additionalProperties: false };

export function actionRoutes(routes: ApiRoutes): void {
  const clusterAction = (path: string, summary: string, run: (deps: AppDeps, cluster: string, signal: AbortSignal, check: boolean) => Promise<unknown>) =>
    routes.add({ method: 'post', path: `/clusters/:cluster/${path}`, scope: 'operate', tag: 'clusters', summary, body: checkBody, accepted: true }, async (c, deps) => {
      const body = await jsonBody(c);
      const cluster = getCluster(deps.db, param(c, 'cluster')).name;
      const check = checkFlag(body);
      return accepted(c, await deps.runs.start((signal) => run(deps, cluster, signal, check)));
    });

  clusterAction('setup', 'Prerequisites, /etc/hosts and MicroK8s on every node: forms the cluster', (d, cluster, signal, check) => setupCluster(d.db, cluster, runContext(d, signal, check)));
  clusterAction('configure-hosts', 'Write every member into /etc/hosts on every node, and check they resolve', (d, cluster, signal, check) => configureHosts(d.db, cluster, runContext(d, signal, check)));
  clusterAction('status', 'Read MicroK8s status on every node and store it', (d, cluster, signal) => readClusterStatus(d.db, cluster, runContext(d, signal, false)));
  clusterAction('startup', 'Power on and start the cluster in order', (d, cluster, signal, check) => startupCluster(d.db, cluster, runContext(d, signal, check)));

  routes.add(
    {
      method: 'post',
      path: '/clusters/:cluster/upgrade',
      scope: 'operate',
      tag: 'clusters',
      summary: 'Upgrade MicroK8s to a channel, one node at a time',
      body: { type: 'object', properties: { channel: { type: 'string' }, check: { type: 'boolean' } }, required: ['channel'], additionalProperties: false },
      accepted: true,
    },
    async (c, deps) => {
      const body = await jsonBody(c);
      const cluster = getCluster(deps.db, param(c, 'cluster')).name;
      if (typeof body['channel'] !== 'string') throw new UserError('missing channel: it is required, e.g. "1.32/stable"', 1, 'channel');
      const channel = body['channel'];
      const check = checkFlag(body);
      return accepted(c, await deps.runs.start((signal) => upgradeCluster(deps.db, cluster, channel, runContext(deps, signal, check))));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/clusters/:cluster/shutdown',
      scope: 'operate',
      tag: 'clusters',
      summary: 'Power the cluster off in order; {"mode": "graceful"|"force", "confirm": true}',
      body: {
        type: 'object',
        properties: { mode: { type: 'string', enum: ['graceful', 'force'] }, confirm: { type: 'boolean' }, drainTimeoutSeconds: { type: 'integer' }, check: { type: 'boolean' } },
        required: ['mode', 'confirm'],
        additionalProperties: false,
      },
      accepted: true,
    },
    async (c, deps) => {
      const body = await jsonBody(c);
      const cluster = getCluster(deps.db, param(c, 'cluster'));
      const mode = body['mode'];
      if (mode !== 'graceful' && mode !== 'force') throw new UserError(`say how: "mode": "graceful" (backup, cordon, drain first) or "force" (at once)`, 1, 'mode');
      const check = checkFlag(body);
      if (!check) requireConfirm(body, `power off all ${cluster.nodeCount} nodes of cluster ${cluster.name} (${mode})`);
      const drain = body['drainTimeoutSeconds'];
      return accepted(
        c,
        await deps.runs.start((signal) =>
          shutdownCluster(deps.db, cluster.name, { ...runContext(deps, signal, check), mode, ...(drain !== undefined ? { drainTimeoutSeconds: drain as number } : {}) }),
        ),
      );
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/clusters/:cluster/nodes',
      scope: 'admin',
      tag: 'clusters',
      summary: 'Assign a node to the cluster: {"node": "pi1", "role": "worker"}',
      body: { type: 'object', properties: { node: { type: 'string' }, role: { type: 'string', enum: ['control-plane', 'worker'] } }, required: ['node'], additionalProperties: false },
    },
    async (c, { db }) => {
      const body = await jsonBody(c);
      if (typeof body['node'] !== 'string') throw new UserError('missing node: it is required', 1, 'node');
      const role = body['role'];
      if (role !== undefined && role !== 'control-plane' && role !== 'worker') throw new UserError(`invalid role ${JSON.stringify(role)}: must be control-plane or worker`, 1, 'role');
      return c.json({ node: assignNode(db, body['node'], getCluster(db, param(c, 'cluster')).name, role) });
    },
  );

  const wakeBody = { type: 'object', properties: { wait: { type: 'boolean', description: 'wait until each node answers SSH (default true)' } }, additionalProperties: false };
  const waitFlag = (body: Record<string, unknown>): boolean => {
    if (body['wait'] !== undefined && typeof body['wait'] !== 'boolean') throw new UserError(`invalid wait ${JSON.stringify(body['wait'])}: must be true or false`, 1, 'wait');
    return body['wait'] !== false;
  };
  routes.add({ method: 'post', path: '/nodes/:node/wake', scope: 'operate', tag: 'wol', summary: 'Wake the node (magic packet with SecureOn, or its Proxmox VM) and wait for SSH', body: wakeBody, accepted: true }, async (c, deps) => {
    const node = getNode(deps.db, param(c, 'node')).hostname;
    const wait = waitFlag(await jsonBody(c));
    return accepted(c, await deps.runs.start((signal) => wakeNode(deps.db, node, { ...runContext(deps, signal), wait })));
  });
  routes.add({ method: 'post', path: '/clusters/:cluster/wake', scope: 'operate', tag: 'wol', summary: 'Wake every node of the cluster, control planes first', body: wakeBody, accepted: true }, async (c, deps) => {
    const cluster = getCluster(deps.db, param(c, 'cluster')).name;
    const wait = waitFlag(await jsonBody(c));
    return accepted(c, await deps.runs.start((signal) => wakeCluster(deps.db, cluster, { ...runContext(deps, signal), wait })));
  });

  routes.add({ method: 'post', path: '/nodes/:node/test-ssh', scope: 'operate', tag: 'nodes', summary: 'Log in with the node\'s key and check passwordless sudo', accepted: true }, async (c, deps) => {
    const node = getNode(deps.db, param(c, 'node'));
    return accepted(c, await deps.runs.start((signal) => testSsh(deps.db, [node.hostname], runContext(deps, signal))));
  });

  routes.add(
    { method: 'post', path: '/nodes/:node/rotate-key', scope: 'admin', tag: 'nodes', summary: 'A new key pair for the node (the old one is kept until the new one works); answers the new setup instructions', body: { type: 'object', properties: { keyType: { type: 'string', enum: ['ed25519', 'rsa'] } }, additionalProperties: false } },
    async (c, { db, dataDir }) => {
      const body = await jsonBody(c);
      const keyType = body['keyType'];
      if (keyType !== undefined && keyType !== 'ed25519' && keyType !== 'rsa') throw new UserError(`invalid keyType ${JSON.stringify(keyType)}: must be ed25519 or rsa`, 1, 'keyType');
      const rotated = await regenerateKey(db, dataDir, param(c, 'node'), keyType);
      return c.json({ node: rotated.node, instructions: rotated.instructions });
    },
  );
}
