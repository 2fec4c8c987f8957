// Fleet health (mko health): the latest state of the cheap checks per node and cluster, the events
// recorded when one changed status, the notifiers (a webhook's URL is write-only: it goes to the
// secrets store, answers show its origin only), and one pass of the checks as a long action.
// /api/v1/health stays the service's own liveness probe (health.ts).
import { addNotifier, deliveriesOf, getNotifier, listNotifiers, notifierFlags, notifierInputSchema, removeNotifier, type NotifierInput } from '../../health/notifiers.js';
import { latestStates, listHealthEvents, subjectHealth } from '../../health/store.js';
import { accepted, confirmBody, jsonBody, pageConfirm, param, queryLimit, requireConfirm, runContext, type ApiRoutes } from '../route.js';

export function checkRoutes(routes: ApiRoutes): void {
  routes.add(
    { method: 'get', path: '/checks', scope: 'read', tag: 'checks', summary: 'The latest state of the cheap checks: per cluster and node (worst status, what does not pass), and every check (?subject= one node or cluster)' },
    (c, { db }) => {
      const subject = c.req.query('subject');
      const checks = latestStates(db, subject ? { subject } : {});
      return c.json({ subjects: subjectHealth(checks).map(({ notPassing, ...s }) => ({ ...s, notPassing: notPassing.map((n) => n.id) })), checks });
    },
  );
  routes.add(
    { method: 'get', path: '/checks/history', scope: 'read', tag: 'checks', summary: 'Health events, newest first, with how each was delivered (?subject=, ?check=, ?limit=20)' },
    (c, { db }) => {
      const subject = c.req.query('subject');
      const check = c.req.query('check');
      const events = listHealthEvents(db, { ...(subject ? { subject } : {}), ...(check ? { check } : {}), limit: queryLimit(c, 20) });
      const deliveries = deliveriesOf(db, events.map((e) => e.id));
      return c.json({ events: events.map((e) => ({ ...e, deliveries: deliveries.get(e.id) ?? [] })) });
    },
  );
  routes.add(
    {
      method: 'post',
      path: '/checks/run',
      scope: 'operate',
      tag: 'checks',
      summary: 'One pass of the cheap checks over the fleet, as mko health watch --once: states stored, events recorded and sent',
      body: { type: 'object', properties: { confirm: pageConfirm }, additionalProperties: false },
      accepted: true,
    },
    async (c, deps) => {
      // Loaded on use: it runs playbooks, which reading the state never does.
      const { healthPass } = await import('../../health/watch.js');
      return accepted(c, await deps.runs.start((signal) => healthPass(deps.db, runContext(deps, signal)), ['health', 'watch', '--once']));
    },
  );
  routes.add({ method: 'get', path: '/checks/notifiers', scope: 'read', tag: 'checks', summary: 'Where health events go (a webhook shows its origin only) and how the last delivery went' }, (c, { db }) =>
    c.json({ notifiers: listNotifiers(db) }),
  );
  routes.add(
    { method: 'post', path: '/checks/notifiers', scope: 'admin', tag: 'checks', summary: 'Send health events to a command (argv, no shell; the event JSON on stdin) or a webhook; webhook is write-only', body: notifierInputSchema, fields: notifierFlags, created: true },
    async (c, { db, dataDir }) => c.json({ notifier: addNotifier(db, dataDir, (await jsonBody(c)) as unknown as NotifierInput) }, 201),
  );
  routes.add(
    { method: 'delete', path: '/checks/notifiers/:notifier', scope: 'admin', tag: 'checks', summary: 'Stop sending health events there (a webhook URL leaves the secrets store); needs {"confirm": true}', body: confirmBody() },
    async (c, { db, dataDir }) => {
      const notifier = getNotifier(db, param(c, 'notifier'));
      requireConfirm(await jsonBody(c), `remove notifier ${notifier.name}`);
      return c.json({ removed: removeNotifier(db, dataDir, notifier.name).name });
    },
  );
}
