// Wake-on-LAN settings and NIC state: `mko wol configure|enable|disable|status`. The SecureOn
// password is write-only: a request may set or clear it, a response only says whether one is set.
// Waking a node or a cluster is in actions.ts.
import { UserError } from '../../errors.js';
import { getNode } from '../../fleet/index.js';
import { configFlags, configureWol, setWakeOnLan, wolConfigOf, wolConfigSchema, wolStatus, type WolConfigInput } from '../../wol/index.js';
import { jsonBody, noFields, param, startOnNode, type ApiRoutes } from '../route.js';

/** What `mko wol configure` takes; the domain checks the values (and normalises a MAC first). */
const configureBody = {
  ...wolConfigSchema,
  properties: {
    ...wolConfigSchema.properties,
    secureon: { type: 'string', writeOnly: true, hint: 'a SecureOn password of 4 or 6 bytes in hex, e.g. 01:02:03:04:05:06 (write-only: never shown)' },
    clearSecureon: { type: 'boolean', hint: 'true to forget the SecureOn password' },
  },
};

export function wolRoutes(routes: ApiRoutes): void {
  routes.add(
    {
      method: 'put',
      path: '/nodes/:node/wol',
      scope: 'admin',
      tag: 'wol',
      summary: 'Set the node\'s Wake-on-LAN MAC, broadcast address, port, method, SecureOn password (write-only) or Proxmox VM; answers the settings',
      body: configureBody,
      fields: { ...configFlags, secureon: '--secureon', clearSecureon: '--clear-secureon' },
    },
    async (c, { db, dataDir }) => {
      const { clearSecureon, secureon, ...rest } = await jsonBody(c);
      if (secureon !== undefined && clearSecureon === true) throw new UserError('--secureon and --clear-secureon contradict each other', 1, 'clearSecureon');
      const input = { ...rest, ...(secureon !== undefined ? { secureon } : {}), ...(clearSecureon === true ? { secureon: null } : {}) } as WolConfigInput;
      const ref = param(c, 'node');
      // As the CLI: without settings, the settings as they are.
      return c.json({ wol: Object.keys(input).length > 0 ? configureWol(db, dataDir, ref, input) : wolConfigOf(db, getNode(db, ref)) });
    },
  );
  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable';
    routes.add(
      {
        method: 'post',
        path: `/nodes/:node/wol/${verb}`,
        scope: 'operate',
        tag: 'wol',
        summary: enabled ? 'Turn Wake-on-LAN on: magic-packet wake on the node\'s NIC where it supports it, persisted' : 'Turn Wake-on-LAN off, on the node\'s NIC and in mko',
        body: noFields,
        accepted: true,
      },
      (c, deps) => startOnNode(c, deps, (node) => ['wol', verb, node], (node, ctx) => setWakeOnLan(deps.db, node, enabled, ctx)),
    );
  }
  routes.add({ method: 'get', path: '/wol', scope: 'read', tag: 'wol', summary: 'Per node: enabled, MAC, method, NIC support, last wake, ready; per cluster: Ready, Partial or Disabled' }, (c, { db }) =>
    c.json(wolStatus(db)),
  );
  routes.add({ method: 'get', path: '/nodes/:node/wol', scope: 'read', tag: 'wol', summary: 'The node\'s Wake-on-LAN status: settings, NIC, last wake, whether it can be woken now and why (not)' }, (c, { db }) => {
    const [status] = wolStatus(db, getNode(db, param(c, 'node')).hostname).nodes;
    return c.json({ wol: status });
  });
}
