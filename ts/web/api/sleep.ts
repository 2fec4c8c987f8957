// Auto-sleep (mko sleep) over the API: a node's settings, and enable, disable, status and sleep
// now as operations (202), each recorded with the mko command doing the same. Waking is
// POST /nodes/:node/wake (actions.ts): it waits for SSH, then Ready, and uncordons.
import { getNode } from '../../fleet/index.js';
import { effectiveSettings, refuseUnsafeEnable, setSleepable, sleepNow, sleepStatus } from '../../sleep/index.js';
import { accepted, jsonBody, noFields, param, runContext, type ApiRoutes } from '../route.js';

export function sleepRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/nodes/:node/sleep', scope: 'read', tag: 'sleep', summary: "The node's effective auto-sleep settings (cluster settings with the node's overrides)" }, (c, { db }) => {
    const node = getNode(db, param(c, 'node'));
    return c.json({ node: node.hostname, settings: effectiveSettings(db, node) });
  });

  for (const on of [true, false]) {
    const verb = on ? 'enable' : 'disable';
    routes.add(
      {
        method: 'post',
        path: `/nodes/:node/sleep/${verb}`,
        scope: 'operate',
        tag: 'sleep',
        summary: on ? 'Make the node sleepable and start its auto-sleep timer (refused for a control plane unless 2 others stay awake)' : "Stop the node's auto-sleep timer",
        body: noFields,
        accepted: true,
      },
      async (c, deps) => {
        await jsonBody(c);
        const node = getNode(deps.db, param(c, 'node')).hostname;
        // Refused here, as a 400, rather than as a failed operation.
        if (on) refuseUnsafeEnable(deps.db, node);
        return accepted(c, await deps.runs.start((signal) => setSleepable(deps.db, node, on, runContext(deps, signal)), ['sleep', verb, node]));
      },
    );
  }

  routes.add({ method: 'post', path: '/nodes/:node/sleep/status', scope: 'operate', tag: 'sleep', summary: 'Ask the node: every auto-sleep check, why it is awake or when it sleeps (its result is the operation\'s)', body: noFields, accepted: true }, async (c, deps) => {
    await jsonBody(c);
    const node = getNode(deps.db, param(c, 'node')).hostname;
    return accepted(c, await deps.runs.start((signal) => sleepStatus(deps.db, node, runContext(deps, signal)), ['sleep', 'status', node]));
  });

  routes.add({ method: 'post', path: '/nodes/:node/sleep', scope: 'operate', tag: 'sleep', summary: 'Put the node to sleep now: pre-sleep hooks, voter re-check, cordon (and drain), suspend or power off', body: noFields, accepted: true }, async (c, deps) => {
    await jsonBody(c);
    const node = getNode(deps.db, param(c, 'node')).hostname;
    return accepted(c, await deps.runs.start((signal) => sleepNow(deps.db, node, runContext(deps, signal)), ['sleep', 'now', node]));
  });
}
