// mko doctor over the API: start a run (a long action, 202), then read a finished run's results.
import { hasFailures, isCheckRun, resultsOf, runDoctor } from '../../doctor/index.js';
import { UserError } from '../../errors.js';
import { resolveTarget } from '../../fleet/index.js';
import { getOperation } from '../../ops/index.js';
import { accepted, jsonBody, pageConfirm, param, runContext, type ApiRoutes } from '../route.js';

const doctorBody = {
  type: 'object',
  properties: {
    target: { type: 'string', minLength: 1, maxLength: 253, hint: 'a node (hostname or id) or a cluster (name or id)' },
    cheap: { type: 'boolean', hint: 'true or false', description: 'only the cheap checks (the ones mko health watch runs)' },
    confirm: pageConfirm,
  },
  required: ['target'],
  additionalProperties: false,
};

export function doctorRoutes(routes: ApiRoutes): void {
  routes.add(
    { method: 'post', path: '/doctor', scope: 'operate', tag: 'doctor', summary: 'Run mko doctor\'s checks on a node or a cluster; {"target": "home"}. GET /doctor/:operation gives the results', body: doctorBody, fields: { target: 'target', cheap: '--cheap' }, accepted: true },
    async (c, deps) => {
      const body = await jsonBody(c);
      // Resolved before anything starts: an unknown target is a 400/404 naming it, no operation.
      const target = resolveTarget(deps.db, body['target'] as string).name;
      const cheap = body['cheap'] === true;
      return accepted(c, await deps.runs.start((signal) => runDoctor(deps.db, runContext(deps, signal), target, { cheapOnly: cheap }), ['doctor', target, ...(cheap ? ['--cheap'] : [])]));
    },
  );
  routes.add(
    { method: 'get', path: '/doctor/:operation', scope: 'read', tag: 'doctor', summary: 'A doctor run\'s check results (empty while it runs); healthy is false when a critical check failed' },
    async (c, { db, runs }) => {
      const ref = param(c, 'operation');
      if (!/^\d{1,15}$/.test(ref)) throw new UserError(`invalid operation id ${JSON.stringify(ref)}: must be a number (see GET /api/v1/operations)`, 1, 'operation');
      const operation = getOperation(db, Number(ref));
      if (!isCheckRun(operation.kind)) throw new UserError(`operation ${operation.id} is a ${operation.kind} run, not mko doctor: see GET /api/v1/operations/${operation.id}`, 1, 'operation');
      // The playbook's end is recorded before the results are stored: wait for this server's run.
      if (runs.runs(operation.id) && operation.status !== 'running') await runs.settled(operation.id);
      const results = resultsOf(db, operation.id);
      return c.json({ operation: operation.id, target: operation.target, status: operation.status, healthy: operation.status === 'running' ? null : !hasFailures(results), results });
    },
  );
}
