// Proxmox VE hosts: the records `mko proxmox add|list|remove` keep (the token secret is write-only:
// it goes to the secrets store and is never in an answer), and the connection test of
// `mko proxmox test` as a long action (202, then follow the operation).
import {
  addProxmoxHost,
  getProxmoxHost,
  listProxmoxHosts,
  nodesUsing,
  proxmoxFlags,
  proxmoxHostInputSchema,
  removableProxmoxHost,
  removeProxmoxHost,
  testProxmoxHost,
  type ProxmoxHost,
  type ProxmoxHostInput,
} from '../../proxmox/index.js';
import type { Db } from '../../db/index.js';
import { accepted, confirmBody, jsonBody, pageConfirm, param, requireConfirm, runContext, type ApiRoutes } from '../route.js';

/** A host as the API shows it: with the nodes that are VMs on it. */
const hostView = (db: Db, host: ProxmoxHost) => ({ ...host, nodes: nodesUsing(db, host) });

export function proxmoxRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/proxmox', scope: 'read', tag: 'proxmox', summary: 'The registered Proxmox VE hosts (token secrets never shown)' }, (c, { db }) =>
    c.json({ hosts: listProxmoxHosts(db).map((host) => hostView(db, host)) }),
  );
  routes.add({ method: 'get', path: '/proxmox/:host', scope: 'read', tag: 'proxmox', summary: 'One Proxmox host (by name or id) with the nodes that are VMs on it' }, (c, { db }) =>
    c.json({ host: hostView(db, getProxmoxHost(db, param(c, 'host'))) }),
  );
  routes.add(
    {
      method: 'post',
      path: '/proxmox',
      scope: 'admin',
      tag: 'proxmox',
      summary: 'Register a Proxmox VE API endpoint and its API token; tokenSecret is write-only',
      body: proxmoxHostInputSchema,
      fields: proxmoxFlags,
      created: true,
    },
    async (c, { db, dataDir }) => {
      const host = addProxmoxHost(db, dataDir, (await jsonBody(c)) as unknown as ProxmoxHostInput);
      return c.json({ host: hostView(db, host), ...(host.insecure ? { warning: 'TLS verification is OFF for this host: pin its CA with caFile instead' } : {}) }, 201);
    },
  );
  routes.add(
    { method: 'delete', path: '/proxmox/:host', scope: 'admin', tag: 'proxmox', summary: 'Forget a Proxmox host and its token secret; needs {"confirm": true}, and {"force": true} while nodes name it', body: confirmBody({ force: { type: 'boolean', hint: 'true or false' } }) },
    async (c, { db, dataDir }) => {
      const body = await jsonBody(c);
      const force = body['force'];
      // Checked before the confirmation, as the CLI does: a host in use is refused either way.
      const host = removableProxmoxHost(db, param(c, 'host'), { force: force === true });
      requireConfirm(body, `remove Proxmox host ${host.name} and its token secret`);
      return c.json({ removed: removeProxmoxHost(db, dataDir, host.name, { force: force === true }).name });
    },
  );
  routes.add(
    {
      method: 'post',
      path: '/proxmox/:host/test',
      scope: 'operate',
      tag: 'proxmox',
      summary: "Test the connection as mko proxmox test does: the API's version with the stored token and TLS pinning, and each VM's state; changes nothing",
      body: { type: 'object', properties: { confirm: pageConfirm }, additionalProperties: false },
      accepted: true,
    },
    async (c, deps) => {
      const host = getProxmoxHost(deps.db, param(c, 'host')).name;
      return accepted(c, await deps.runs.start((signal) => testProxmoxHost(deps.db, host, runContext(deps, signal)), ['proxmox', 'test', host]));
    },
  );
}
