// Operations: the history of every playbook run, mko's and plain ansible-playbook's alike.
import { UserError } from '../../errors.js';
import { getOperation, listOperations, OPERATION_STATUSES, type OperationStatus } from '../../ops/index.js';
import { param, type ApiRoutes } from '../route.js';

export function operationRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/operations', scope: 'read', tag: 'operations', summary: 'Recent operations (?status=running|succeeded|failed|cancelled|interrupted&limit=20)' }, (c, { db }) => {
    const status = c.req.query('status');
    const limitText = c.req.query('limit') ?? '20';
    if (status !== undefined && !OPERATION_STATUSES.includes(status as OperationStatus)) {
      throw new UserError(`invalid status ${JSON.stringify(status)}: must be one of ${OPERATION_STATUSES.join(', ')}`, 1, 'status');
    }
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1) throw new UserError(`invalid limit ${JSON.stringify(limitText)}: must be a number from 1 to 9999`, 1, 'limit');
    const operations = listOperations(db, { ...(status ? { status: status as OperationStatus } : {}), limit: Number(limitText) });
    // The list leaves the logs out; GET /operations/:id has them.
    return c.json({ operations: operations.map(({ log: _log, ...rest }) => rest) });
  });
  routes.add({ method: 'get', path: '/operations/:operation', scope: 'read', tag: 'operations', summary: 'One operation with its log and per-host recap' }, (c, { db }) => {
    const ref = param(c, 'operation');
    if (!/^\d+$/.test(ref)) throw new UserError(`invalid operation id ${JSON.stringify(ref)}: must be a number (see GET /api/v1/operations)`, 1, 'operation');
    return c.json({ operation: getOperation(db, Number(ref)) });
  });
}
