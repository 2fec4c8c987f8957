// UPSes: the records `mko ups add|list|remove` keep, the watcher's last reading with its age, a live
// read from upsd (`mko ups status`), the checks of `mko ups test`, and the events and samples.
import { addUps, getUps, listEvents, listRules, listSamples, listUpses, removeUps, testUps, updateUps, upsFlags, upsInputSchema, upsLiveStatus, upsUpdateSchema, type UpsChanges, type UpsInput } from '../../power/index.js';
import { confirmBody, jsonBody, noFields, param, queryLimit, requireConfirm, type ApiRoutes } from '../route.js';
import { upsView } from '../views.js';

export function upsRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/ups', scope: 'read', tag: 'ups', summary: 'The registered UPSes (passwords never shown)' }, (c, { db }) => c.json({ upses: listUpses(db) }));
  routes.add({ method: 'get', path: '/ups/:ups', scope: 'read', tag: 'ups', summary: 'One UPS with its rules and the watcher\'s last reading' }, (c, { db }) => {
    const ups = getUps(db, param(c, 'ups'));
    return c.json({ ups, reading: upsView(db, ups), rules: listRules(db, { ups: ups.name }) });
  });
  routes.add(
    { method: 'post', path: '/ups', scope: 'admin', tag: 'ups', summary: 'Register a UPS; the password is write-only (made up when not given)', body: upsInputSchema, fields: { ...upsFlags, password: '--password' }, created: true },
    async (c, { db, dataDir }) => c.json({ ups: addUps(db, dataDir, (await jsonBody(c)) as unknown as UpsInput) }, 201),
  );
  routes.add(
    { method: 'patch', path: '/ups/:ups', scope: 'admin', tag: 'ups', summary: "Change a UPS's driver, port, driverOptions, upsdPort or description, as mko ups update (mko ups setup applies it)", body: upsUpdateSchema, fields: upsFlags },
    async (c, { db }) => c.json({ ups: updateUps(db, param(c, 'ups'), (await jsonBody(c)) as UpsChanges) }),
  );
  routes.add(
    { method: 'delete', path: '/ups/:ups', scope: 'admin', tag: 'ups', summary: 'Forget a UPS with its rules, events and stored passwords; needs {"confirm": true}', body: confirmBody() },
    async (c, { db, dataDir }) => {
      const ups = getUps(db, param(c, 'ups'));
      requireConfirm(await jsonBody(c), `remove UPS ${ups.name}`);
      return c.json({ removed: removeUps(db, dataDir, ups.name).name });
    },
  );
  routes.add(
    {
      method: 'get',
      path: '/ups/:ups/status',
      scope: 'read',
      tag: 'ups',
      summary: 'The watcher\'s last reading and how many seconds old it is; ?live=true also reads upsd now, as mko ups status does',
    },
    async (c, { db }) => {
      const ups = getUps(db, param(c, 'ups'));
      const live = c.req.query('live') === 'true' ? ((await upsLiveStatus(db, ups.name))[0] ?? null) : null;
      return c.json({ reading: upsView(db, ups), live });
    },
  );
  routes.add(
    { method: 'post', path: '/ups/:ups/test', scope: 'operate', tag: 'ups', summary: 'What mko ups test checks: upsd answers, serves the UPS with fresh data, takes upsmon\'s login', body: noFields },
    async (c, { db, dataDir }) => {
      const [result] = await testUps(db, dataDir, param(c, 'ups'));
      return c.json({ ...result, status: result?.ok ? 'ok' : 'not ok', summary: result?.checks.map((check) => `${check.name}: ${check.ok ? 'ok' : check.detail}`).join('; ') });
    },
  );
  routes.add({ method: 'get', path: '/ups/:ups/events', scope: 'read', tag: 'ups', summary: 'What the watcher detected on this UPS, newest first (?limit=20)' }, (c, { db }) =>
    c.json({ events: listEvents(db, { upsId: getUps(db, param(c, 'ups')).id, limit: queryLimit(c, 20) }) }),
  );
  routes.add({ method: 'get', path: '/ups/:ups/history', scope: 'read', tag: 'ups', summary: 'The UPS\'s sampled status history, newest first (?limit=20)' }, (c, { db }) =>
    c.json({ samples: listSamples(db, getUps(db, param(c, 'ups')).id, queryLimit(c, 20)) }),
  );
}
