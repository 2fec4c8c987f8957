// UPSes and power rules through /api/v1, in-process against a real SQLite file, a real upsd with
// the dummy-ups driver (ts/test-support/upsd.ts) and the real watcher writing its readings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCluster, insertNode } from '../fleet/index.js';
import { FleetActionRunner, listEvents, Watcher } from '../power/index.js';
import { waitFor } from '../test-support/power.js';
import { ONLINE, startUpsd, type UpsdFixture } from '../test-support/upsd.js';
import { json, webFixture, type WebFixture } from '../test-support/web.js';

let web: WebFixture;
let upsd: UpsdFixture;

beforeAll(async () => {
  upsd = await startUpsd();
  web = webFixture();
  addCluster(web.db, { name: 'home' });
  insertNode(web.db, { hostname: 'ups-host', address: '127.0.0.1', sshUser: 'root', cluster: 'home', role: 'control-plane' }, null);
  insertNode(web.db, { hostname: 'other', address: '127.0.0.2', sshUser: 'root', cluster: 'home', role: 'worker' }, null);
});

afterAll(async () => {
  web.close();
  await upsd.stop();
});

describe('UPS routes', () => {
  it('adds a UPS with a write-only password, lists and shows it without the password', async () => {
    const { call, tokens } = web;
    const added = await call('POST', '/ups', { token: tokens.admin, body: { name: 'dummy', host: 'ups-host', driver: 'dummy-ups', port: 'dummy.dev', upsdPort: upsd.port, user: 'upsmon_secondary', password: 's3cret-pw' } });
    expect(added.status).toBe(201);
    const text = await added.text();
    expect(text).not.toContain('s3cret-pw');
    expect(JSON.parse(text)).toMatchObject({ ups: { name: 'dummy', host: 'ups-host', secondaryUser: 'upsmon_secondary', secondaryPasswordSet: true } });
    expect(((await json(await call('GET', '/ups', { token: tokens.read })))['upses'] as { name: string }[]).map((u) => u.name)).toEqual(['dummy']);
    const shown = await call('GET', '/ups/dummy', { token: tokens.read });
    expect(await shown.clone().text()).not.toContain('s3cret-pw');
    expect(await json(shown)).toMatchObject({ ups: { name: 'dummy' }, reading: { polledAt: null, stale: true }, rules: [] });
  });

  it('refuses bad input with the field, and leaves nothing behind', async () => {
    const { call, tokens, db } = web;
    const before = db.prepare('SELECT count(*) AS n FROM upses').get();
    const badPort = await call('POST', '/ups', { token: tokens.admin, body: { name: 'u2', host: 'other', upsdPort: 70000 } });
    expect(badPort.status).toBe(400);
    expect((await json(badPort))['field']).toBe('upsdPort');
    const badPassword = await call('POST', '/ups', { token: tokens.admin, body: { name: 'u2', host: 'other', user: 'mon', password: 'has space' } });
    const answer = await badPassword.text();
    expect(answer).not.toContain('has space');
    expect(JSON.parse(answer)).toMatchObject({ field: 'password', error: expect.stringMatching(/^invalid --password/) });
    expect(await json(await call('POST', '/ups', { token: tokens.admin, body: { name: 'u2', host: 'other', user: 'mon', password: { x: 1 } } }))).toMatchObject({ field: 'password' });
    expect((await call('POST', '/ups', { token: tokens.admin, body: { name: 'u2', host: 'ups-host' } })).status).toBe(409);
    expect((await call('GET', '/ups/nope/events', { token: tokens.read })).status).toBe(404);
    expect(db.prepare('SELECT count(*) AS n FROM upses').get()).toEqual(before);
  });

  it('tests the UPS as mko ups test does: upsd, served, fresh data, upsmon login', async () => {
    const tested = await web.call('POST', '/ups/dummy/test', { token: web.tokens.operate });
    expect(tested.status).toBe(200);
    const body = await json(tested);
    expect(body).toMatchObject({ ups: 'dummy', ok: true, status: 'ok' });
    expect((body['checks'] as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([
      ['upsd answers', true],
      ['UPS served', true],
      ['data fresh', true],
      ['upsmon login', true],
    ]);
  });

  it('shows the watcher\'s reading with its age, a live read on request, the events and the samples', async () => {
    const { call, tokens, db, dbPath, dir } = web;
    const watcher = new Watcher({ db, runner: new FleetActionRunner({ db, dbPath, dataDir: dir }), log: () => undefined });
    await watcher.start();
    try {
      await waitFor(() => db.prepare('SELECT 1 FROM ups_state').get() !== undefined, 6000, 'the first reading');
      upsd.setVars({ ...ONLINE, 'ups.status': 'OB DISCHRG', 'battery.charge': 80 });
      await waitFor(() => listEvents(db).some((e) => e.kind === 'power_loss'), 6000, 'power_loss');
    } finally {
      await watcher.stop();
    }
    const status = await json(await call('GET', '/ups/dummy/status', { token: tokens.read }));
    expect(status['live']).toBeNull();
    expect(status['reading']).toMatchObject({ name: 'dummy', status: 'OB DISCHRG', onBattery: true, charge: 80, stale: false, staleSeconds: expect.any(Number) });
    const live = await json(await call('GET', '/ups/dummy/status?live=true', { token: tokens.read }));
    expect(live['live']).toMatchObject({ ups: 'dummy', ok: true, status: 'OB DISCHRG', flags: 'on battery, discharging', charge: 80, runtime: 1800 });
    const events = (await json(await call('GET', '/ups/dummy/events?limit=5', { token: tokens.read })))['events'] as { kind: string }[];
    expect(events[0]?.kind).toBe('power_loss');
    const samples = (await json(await call('GET', '/ups/dummy/history', { token: tokens.read })))['samples'] as { status: string }[];
    expect(samples.map((s) => s.status)).toEqual(expect.arrayContaining(['OL', 'OB DISCHRG']));
    expect((await json(await call('GET', '/ups/dummy/history?limit=0', { token: tokens.read })))['field']).toBe('limit');
    upsd.setVars(ONLINE);
  });
});

describe('power rule routes', () => {
  it('creates, shows, changes, disables and enables a rule', async () => {
    const { call, tokens } = web;
    const created = await call('POST', '/rules', { token: tokens.admin, body: { ups: 'dummy', cluster: 'home', event: 'power_loss', action: 'graceful_shutdown', actionDelay: 120, name: 'home-off' } });
    expect(created.status).toBe(201);
    expect(await json(created)).toMatchObject({ rule: { name: 'home-off', event: 'power_loss', action: 'graceful_shutdown', actionDelay: 120, enabled: true } });
    expect(await json(await call('GET', '/rules/home-off', { token: tokens.read }))).toMatchObject({ rule: { name: 'home-off' }, actions: [] });
    const changed = await call('PATCH', '/rules/home-off', { token: tokens.admin, body: { event: 'low_battery', batteryThreshold: 40, actionDelay: 0, priority: 5 } });
    expect(changed.status).toBe(200);
    expect(await json(changed)).toMatchObject({ rule: { name: 'home-off', event: 'low_battery', batteryThreshold: 40, actionDelay: 0, priority: 5 } });
    // Back to power_loss: the threshold has to go with it (null drops it), as create would say.
    const refused = await call('PATCH', '/rules/home-off', { token: tokens.admin, body: { event: 'power_loss' } });
    expect((await json(refused))['error']).toBe('--battery-threshold applies to low_battery rules only, not to power_loss');
    expect(await json(await call('PATCH', '/rules/home-off', { token: tokens.admin, body: { event: 'power_loss', batteryThreshold: null } }))).toMatchObject({ rule: { event: 'power_loss', batteryThreshold: null } });
    expect((await json(await call('PATCH', '/rules/home-off', { token: tokens.admin, body: { actionDelay: -1 } })))['field']).toBe('actionDelay');
    expect((await json(await call('PATCH', '/rules/home-off', { token: tokens.admin, body: { colour: 'red' } })))['field']).toBe('colour');
    expect(await json(await call('POST', '/rules/home-off/disable', { token: tokens.admin }))).toMatchObject({ rule: { enabled: false }, status: 'disabled' });
    expect(await json(await call('POST', '/rules/home-off/enable', { token: tokens.admin }))).toMatchObject({ rule: { enabled: true }, status: 'enabled' });
    expect(((await json(await call('GET', '/rules?ups=dummy', { token: tokens.read })))['rules'] as unknown[]).length).toBe(1);
    expect(((await json(await call('GET', '/ups/dummy', { token: tokens.read })))['rules'] as { name: string }[])[0]?.name).toBe('home-off');
  });

  it('refuses a clash on rename and a bad rule, naming the field', async () => {
    const { call, tokens } = web;
    await call('POST', '/rules', { token: tokens.admin, body: { ups: 'dummy', cluster: 'home', event: 'power_restored', action: 'startup', name: 'home-on' } });
    const clash = await call('PATCH', '/rules/home-on', { token: tokens.admin, body: { name: 'home-off' } });
    expect(clash.status).toBe(409);
    const bad = await call('POST', '/rules', { token: tokens.admin, body: { ups: 'dummy', cluster: 'home', event: 'power_gone', action: 'startup' } });
    expect(bad.status).toBe(400);
    expect((await json(bad))['field']).toBe('event');
    expect((await call('POST', '/rules', { token: tokens.admin, body: { ups: 'dummy', cluster: 'nope', event: 'power_loss', action: 'startup' } })).status).toBe(404);
  });

  it('deletes a rule and removes a UPS only with "confirm": true', async () => {
    const { call, tokens } = web;
    expect(await json(await call('DELETE', '/rules/home-on', { token: tokens.admin, body: {} }))).toMatchObject({ field: 'confirm' });
    expect(await json(await call('DELETE', '/rules/home-on', { token: tokens.admin, body: { confirm: true } }))).toEqual({ deleted: 'home-on' });
    expect((await call('GET', '/rules/home-on', { token: tokens.read })).status).toBe(404);
    const unconfirmed = await call('DELETE', '/ups/dummy', { token: tokens.admin, body: {} });
    expect(await json(unconfirmed)).toEqual({ error: 'remove UPS dummy: not confirmed; send "confirm": true to do it', field: 'confirm' });
    expect(await json(await call('DELETE', '/ups/dummy', { token: tokens.admin, body: { confirm: true } }))).toEqual({ removed: 'dummy' });
    expect((await json(await call('GET', '/rules', { token: tokens.read })))['rules']).toEqual([]);
  });
});
