// Auto-sleep (mko sleep) over the API: a node's settings, and enable, disable, status and sleep
// now as operations (202), each recorded with the mko command doing the same. Waking is
// POST /nodes/:node/wake (actions.ts): it waits for SSH, then Ready, and uncordons.
import type { Context } from 'hono';
import { getCluster, getNode } from '../../fleet/index.js';
import {
  applySleep,
  refuseUnsafeEnable,
  scopeOverrides,
  scopeSettings,
  setSleepable,
  SLEEP_FLAGS,
  sleepNow,
  sleepOverridesSchema,
  sleepStatus,
  writeOverrides,
  type SleepOverrides,
  type SleepScope,
} from '../../sleep/index.js';
import { accepted, jsonBody, noFields, param, runContext, startOnNode, type ApiRoutes, type WebEnv } from '../route.js';
import type { Db } from '../../db/index.js';

/**
 * What mko sleep config sets: every setting but sleepable (enable and disable check the quorum and
 * apply it), each null to inherit again; reset forgets the stored ones first.
 */
const { sleepable: _sleepable, ...settable } = sleepOverridesSchema.properties;
const settingsBody = {
  type: 'object',
  properties: {
    ...Object.fromEntries(Object.entries(settable).map(([name, property]) => [name, { anyOf: [property, { type: 'null' }], hint: `${property.hint}, or null to inherit` }])),
    reset: { type: 'boolean', hint: 'true to forget the stored settings first (inherit again), as --reset does' },
  },
  additionalProperties: false,
};
const settingsFields = { ...SLEEP_FLAGS, reset: '--reset' };

const scopes = {
  node: (db: Db, c: Context<WebEnv>): SleepScope => {
    const node = getNode(db, param(c, 'node'));
    return { kind: 'node', id: node.id, name: node.hostname };
  },
  cluster: (db: Db, c: Context<WebEnv>): SleepScope => {
    const cluster = getCluster(db, param(c, 'cluster'));
    return { kind: 'cluster', id: cluster.id, name: cluster.name };
  },
};

export function sleepRoutes(routes: ApiRoutes): void {
  for (const [kind, path, whose] of [['node', '/nodes/:node', "The node's"], ['cluster', '/clusters/:cluster', "The cluster's"]] as const) {
    const scopeOf = scopes[kind];
    routes.add(
      { method: 'get', path: `${path}/sleep`, scope: 'read', tag: 'sleep', summary: `${whose} auto-sleep settings: stored (set here; the rest inherited) and effective` },
      (c, { db }) => {
        const scope = scopeOf(db, c);
        const stored = scopeOverrides(db, scope);
        return c.json({ [kind]: scope.name, stored, settings: scopeSettings(db, scope, stored) });
      },
    );
    routes.add(
      {
        method: 'patch',
        path: `${path}/sleep`,
        scope: 'admin',
        tag: 'sleep',
        summary: `Change ${whose.toLowerCase()} auto-sleep settings as mko sleep config does (null inherits again); they reach the nodes at the next enable, disable or apply`,
        body: settingsBody,
        fields: settingsFields,
      },
      async (c, { db }) => {
        const { reset, ...input } = await jsonBody(c);
        const scope = scopeOf(db, c);
        // Checked before anything is written: a bad value leaves the stored settings as they were.
        const stored = Object.keys(input).length > 0 || reset === true ? writeOverrides(db, scope, input as SleepOverrides, { reset: reset === true }) : scopeOverrides(db, scope);
        return c.json({ [kind]: scope.name, stored, settings: scopeSettings(db, scope, stored) });
      },
    );
    routes.add(
      {
        method: 'post',
        path: `${path}/sleep/apply`,
        scope: 'operate',
        tag: 'sleep',
        summary: `Install auto-sleep on ${kind === 'node' ? 'the node' : "the cluster's nodes"} and send the stored settings (timer on where sleepable)`,
        body: { type: 'object', properties: { check: { type: 'boolean', hint: 'true or false', description: "Ansible's check mode: show what would change" } }, additionalProperties: false },
        fields: { check: '--check' },
        accepted: true,
      },
      async (c, deps) => {
        const check = (await jsonBody(c))['check'] === true;
        const target = scopeOf(deps.db, c).name;
        return accepted(c, await deps.runs.start((signal) => applySleep(deps.db, target, runContext(deps, signal, check)), ['sleep', 'apply', target, ...(check ? ['--check'] : [])]));
      },
    );
  }

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
      // An unsafe enable is refused as a 400, rather than as a failed operation.
      (c, deps) => startOnNode(c, deps, (node) => ['sleep', verb, node], (node, ctx) => setSleepable(deps.db, node, on, ctx), on ? (node) => refuseUnsafeEnable(deps.db, node) : undefined),
    );
  }

  routes.add({ method: 'post', path: '/nodes/:node/sleep/status', scope: 'operate', tag: 'sleep', summary: 'Ask the node: every auto-sleep check, why it is awake or when it sleeps (its result is the operation\'s)', body: noFields, accepted: true }, (c, deps) =>
    startOnNode(c, deps, (node) => ['sleep', 'status', node], (node, ctx) => sleepStatus(deps.db, node, ctx)),
  );

  routes.add({ method: 'post', path: '/nodes/:node/sleep', scope: 'operate', tag: 'sleep', summary: 'Put the node to sleep now: pre-sleep hooks, voter re-check, cordon (and drain), suspend or power off', body: noFields, accepted: true }, (c, deps) =>
    startOnNode(c, deps, (node) => ['sleep', 'now', node], (node, ctx) => sleepNow(deps.db, node, ctx)),
  );
}
