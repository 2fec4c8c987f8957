// Hardware reports: collect them (`mko hardware collect`, a long action), the latest one and the
// history (`mko hardware show [--history]`).
import { UserError } from '../../errors.js';
import { getCluster, getNode } from '../../fleet/index.js';
import { latestReport, listReports } from '../../hardware/index.js';
import { collectAndRecord } from '../../health/hardware.js';
import { accepted, pageConfirm, param, queryLimit, runContext, type ApiRoutes, type AppDeps } from '../route.js';

const collectBody = { type: 'object', properties: { confirm: pageConfirm }, additionalProperties: false };

/** Start a collection from a node or a cluster (by the name it resolved to) in the server's runs. */
const collect = async (deps: AppDeps, target: string): Promise<number> =>
  deps.runs.start((signal) => collectAndRecord(deps.db, target, runContext(deps, signal)), ['hardware', 'collect', target]);

export function hardwareRoutes(routes: ApiRoutes): void {
  routes.add(
    { method: 'post', path: '/nodes/:node/hardware', scope: 'operate', tag: 'hardware', summary: 'Collect a hardware report from the node and store it', body: collectBody, accepted: true },
    async (c, deps) => accepted(c, await collect(deps, getNode(deps.db, param(c, 'node')).hostname)),
  );
  routes.add(
    { method: 'post', path: '/clusters/:cluster/hardware', scope: 'operate', tag: 'hardware', summary: 'Collect a hardware report from every node of the cluster and store them', body: collectBody, accepted: true },
    async (c, deps) => accepted(c, await collect(deps, getCluster(deps.db, param(c, 'cluster')).name)),
  );
  routes.add({ method: 'get', path: '/nodes/:node/hardware', scope: 'read', tag: 'hardware', summary: 'The node\'s latest hardware report; 404 when none was collected' }, (c, { db }) => {
    const node = getNode(db, param(c, 'node'));
    const latest = latestReport(db, node.id);
    if (!latest) throw new UserError(`no hardware report for ${node.hostname} yet: run mko hardware collect ${node.hostname}`);
    return c.json({ node: node.hostname, ...latest });
  });
  routes.add(
    { method: 'get', path: '/nodes/:node/hardware/history', scope: 'read', tag: 'hardware', summary: 'When the node\'s reports were collected, newest first, without their bodies (?limit=100)' },
    (c, { db }) => {
      const node = getNode(db, param(c, 'node'));
      return c.json({ node: node.hostname, reports: listReports(db, node.id, queryLimit(c, 100)) });
    },
  );
}
