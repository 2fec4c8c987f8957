// Long actions on clusters and nodes: each starts the same domain function as its CLI command and
// answers 202 with the operation id; GET /operations/:id/events follows it.
import { readClusterStatus, setupCluster, shutdownCluster, startupCluster, upgradeCluster } from '../../cluster/index.js';
import { UserError } from '../../errors.js';
import { assignNode, getCluster, getNode } from '../../fleet/index.js';
import { configureHosts } from '../../hosts/index.js';
import { regenerateKey, testSsh } from '../../ssh/index.js';
import { field } from '../../validate/index.js';
import { wakeCluster, wakeNode } from '../../wol/index.js';
import { accepted, jsonBody, noFields, pageConfirm, param, requireConfirm, runContext, type ApiRoutes, type AppDeps } from '../route.js';


/** The route checked the body's shape: check is a boolean when given. */
const checkFlag = (body: Record<string, unknown>): boolean => body['check'] === true;

const checkArg = (check: boolean): string[] => (check ? ['--check'] : []);
const waitArg = (wait: boolean): string[] => (wait ? ['--wait'] : []);

const check = { type: 'boolean', hint: 'true or false', description: 'Ansible check mode: show what would change, change nothing' };
const checkBody = { type: 'object', properties: { check, confirm: pageConfirm }, additionalProperties: false };

export function actionRoutes(routes: ApiRoutes): void {
  // Each action is recorded with the mko command doing the same, so mko operation retry can re-run it.
  const clusterAction = (path: string, summary: string, run: (deps: AppDeps, cluster: string, signal: AbortSignal, check: boolean) => Promise<unknown>) =>
    routes.add({ method: 'post', path: `/clusters/:cluster/${path}`, scope: 'operate', tag: 'clusters', summary, body: checkBody, fields: { check: '--check' }, accepted: true }, async (c, deps) => {
      const body = await jsonBody(c);
      const cluster = getCluster(deps.db, param(c, 'cluster')).name;
      const check = checkFlag(body);
      return accepted(c, await deps.runs.start((signal) => run(deps, cluster, signal, check), ['cluster', path, cluster, ...checkArg(check)]));
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
      body: { type: 'object', properties: { channel: field.channel, check }, required: ['channel'], additionalProperties: false },
      fields: { channel: '--channel', check: '--check' },
      accepted: true,
    },
    async (c, deps) => {
      const body = await jsonBody(c);
      const cluster = getCluster(deps.db, param(c, 'cluster')).name;
      const channel = body['channel'] as string;
      const check = checkFlag(body);
      return accepted(c, await deps.runs.start((signal) => upgradeCluster(deps.db, cluster, channel, runContext(deps, signal, check)), ['cluster', 'upgrade', cluster, '--channel', channel, ...checkArg(check)]));
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
        // mode and confirm are required: the handler says so in the CLI's words.
        properties: {
          mode: { type: 'string', enum: ['graceful', 'force'], hint: 'graceful (backup, cordon, drain first) or force (at once)' },
          confirm: { type: 'boolean', hint: 'true, to say you mean it (the CLI asks, or takes --yes)' },
          drainTimeoutSeconds: { type: 'integer', hint: 'whole seconds each worker\'s drain may take (graceful; 0: no drain)' },
          check,
        },
        additionalProperties: false,
      },
      fields: { mode: 'mode', confirm: '--yes', drainTimeoutSeconds: '--drain-timeout', check: '--check' },
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
          ['cluster', 'shutdown', cluster.name, `--${mode}`, ...(drain !== undefined ? ['--drain-timeout', String(drain)] : []), ...(check ? ['--check'] : ['--yes'])],
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
      body: { type: 'object', properties: { node: { type: 'string', hint: 'a node id or hostname' }, role: field.role }, required: ['node'], additionalProperties: false },
      fields: { node: 'node', role: '--role' },
    },
    async (c, { db }) => {
      const body = await jsonBody(c);
      const role = body['role'] as 'control-plane' | 'worker' | undefined;
      return c.json({ node: assignNode(db, body['node'] as string, getCluster(db, param(c, 'cluster')).name, role) });
    },
  );

  const wakeBody = {
    type: 'object',
    properties: { wait: { type: 'boolean', hint: 'true or false', description: 'wait until each node answers SSH (default true)' }, confirm: pageConfirm },
    additionalProperties: false,
  };
  const waitFlag = (body: Record<string, unknown>): boolean => body['wait'] !== false;
  routes.add({ method: 'post', path: '/nodes/:node/wake', scope: 'operate', tag: 'wol', summary: 'Wake the node (magic packet with SecureOn, or its Proxmox VM), wait for SSH and Ready, and uncordon what auto-sleep cordoned', body: wakeBody, fields: { wait: '--wait' }, accepted: true }, async (c, deps) => {
    const node = getNode(deps.db, param(c, 'node')).hostname;
    const wait = waitFlag(await jsonBody(c));
    return accepted(c, await deps.runs.start((signal) => wakeNode(deps.db, node, { ...runContext(deps, signal), wait }), ['wol', 'wake-node', node, ...waitArg(wait)]));
  });
  routes.add({ method: 'post', path: '/clusters/:cluster/wake', scope: 'operate', tag: 'wol', summary: 'Wake every node of the cluster, control planes first', body: wakeBody, fields: { wait: '--wait' }, accepted: true }, async (c, deps) => {
    const cluster = getCluster(deps.db, param(c, 'cluster')).name;
    const wait = waitFlag(await jsonBody(c));
    return accepted(c, await deps.runs.start((signal) => wakeCluster(deps.db, cluster, { ...runContext(deps, signal), wait }), ['wol', 'wake-cluster', cluster, ...waitArg(wait)]));
  });

  routes.add({ method: 'post', path: '/nodes/:node/test-ssh', scope: 'operate', tag: 'nodes', summary: 'Log in with the node\'s key and check passwordless sudo', body: noFields, accepted: true }, async (c, deps) => {
    const node = getNode(deps.db, param(c, 'node'));
    return accepted(c, await deps.runs.start((signal) => testSsh(deps.db, [node.hostname], runContext(deps, signal)), ['node', 'test-ssh', node.hostname]));
  });

  routes.add(
    { method: 'post', path: '/nodes/:node/rotate-key', scope: 'admin', tag: 'nodes', summary: 'A new key pair for the node (the old one is kept until the new one works); answers the new setup instructions', body: { type: 'object', properties: { keyType: field.keyType }, additionalProperties: false }, fields: { keyType: '--key-type' } },
    async (c, { db, dataDir }) => {
      const keyType = (await jsonBody(c))['keyType'] as 'ed25519' | 'rsa' | undefined;
      const rotated = await regenerateKey(db, dataDir, param(c, 'node'), keyType);
      return c.json({ node: rotated.node, instructions: rotated.instructions });
    },
  );
}
