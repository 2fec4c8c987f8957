// Operations: the history of every playbook run, mko's and plain ansible-playbook's alike.
import { UserError } from '../../errors.js';
import { cancelOperation, getOperation, listOperations, OPERATION_STATUSES, planRetry, runRetry, type OperationStatus } from '../../ops/index.js';
import { feedStream, operationStream } from '../live.js';
import { accepted, noFields, param, queryLimit, type ApiRoutes } from '../route.js';

function operationId(ref: string): number {
  if (!/^\d{1,15}$/.test(ref)) throw new UserError(`invalid operation id ${JSON.stringify(ref)}: must be a number (see GET /api/v1/operations)`, 1, 'operation');
  return Number(ref);
}

export function operationRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/operations', scope: 'read', tag: 'operations', summary: 'Recent operations (?status=running|succeeded|failed|cancelled|interrupted&limit=20)' }, (c, { db }) => {
    const status = c.req.query('status');
    if (status !== undefined && !OPERATION_STATUSES.includes(status as OperationStatus)) {
      throw new UserError(`invalid status ${JSON.stringify(status)}: must be one of ${OPERATION_STATUSES.join(', ')}`, 1, 'status');
    }
    const operations = listOperations(db, { ...(status ? { status: status as OperationStatus } : {}), limit: queryLimit(c, 20) });
    // The list leaves the logs out; GET /operations/:id has them.
    return c.json({ operations: operations.map(({ log: _log, ...rest }) => rest) });
  });
  routes.add({ method: 'get', path: '/operations/:operation', scope: 'read', tag: 'operations', summary: 'One operation with its log and per-host recap' }, (c, { db }) => {
    return c.json({ operation: getOperation(db, operationId(param(c, 'operation'))) });
  });
  routes.add(
    { method: 'post', path: '/operations/:operation/cancel', scope: 'operate', tag: 'operations', summary: 'Stop a running operation (its process group) and mark it cancelled', body: noFields },
    async (c, { db, runs }) => {
      const id = operationId(param(c, 'operation'));
      const operation = getOperation(db, id);
      if (operation.status !== 'running') throw new UserError(`operation ${id} already finished (${operation.status}): nothing to cancel`, 1, 'operation');
      // A run of this server stops in-process; any other through its recorder, as mko operation cancel does.
      if (runs.cancel(id)) {
        for (let waited = 0; getOperation(db, id).status === 'running' && waited < 15_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
        return c.json({ operation: getOperation(db, id) });
      }
      await cancelOperation(db, id);
      return c.json({ operation: getOperation(db, id) });
    },
  );
  routes.add(
    {
      method: 'post',
      path: '/operations/:operation/retry',
      scope: 'operate',
      tag: 'operations',
      summary: 'Run a failed, cancelled or interrupted operation again (same target and arguments, secrets read from the store again), as a new operation linked to it',
      body: noFields,
      accepted: true,
    },
    async (c, { db, dbPath, runs }) => {
      const id = operationId(param(c, 'operation'));
      // Refusals (still running, succeeded, secrets on its command line) answer at once.
      if (planRetry(db, id).kind === 'ansible') {
        // A plain ansible-playbook run again: this server's action (cancelled with it, stopped with it).
        return accepted(c, await runs.start((signal) => runRetry(db, id, { dbPath, signal })));
      }
      // An mko command runs again as a new mko process that records it (mko operation cancel stops it).
      const started = await new Promise<number>((resolve, reject) => {
        runRetry(db, id, { dbPath, onStart: resolve }).then((retry) => resolve(retry.operation.id), reject);
      });
      return accepted(c, started);
    },
  );
  routes.add(
    { method: 'get', path: '/events', scope: 'read', tag: 'events', stream: true, summary: 'Fleet changes as Server-Sent Events: ups (status, charge), ups-event (power_loss …), operation (started, ended), change' },
    (c, { feed }) => feedStream(c, feed),
  );
  routes.add(
    { method: 'get', path: '/operations/:operation/events', scope: 'read', tag: 'operations', stream: true, summary: 'The operation\'s log as Server-Sent Events (log, then end); resumes from Last-Event-ID' },
    (c, { db, runs }) => operationStream(c, db, operationId(param(c, 'operation')), runs),
  );
}
