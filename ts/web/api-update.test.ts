// PATCH /api/v1/nodes/:node and /api/v1/ups/:ups, in-process against a real SQLite file: the same
// domain functions and messages as mko node update and mko ups update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, webFixture, type WebFixture } from '../test-support/web.js';

let web: WebFixture;

beforeAll(async () => {
  web = webFixture();
  const added = await web.call('POST', '/nodes', { token: web.tokens.admin, body: { hostname: 'pi1', address: '192.168.1.10', sshUser: 'ubuntu' } });
  expect(added.status).toBe(201);
  expect((await web.call('POST', '/nodes', { token: web.tokens.admin, body: { hostname: 'pi2', address: '192.168.1.11', sshUser: 'ubuntu' } })).status).toBe(201);
});

afterAll(() => web.close());

describe('PATCH /api/v1/nodes/:node', () => {
  it('changes how mko reaches the node and its labels', async () => {
    const changed = await web.call('PATCH', '/nodes/pi1', { token: web.tokens.admin, body: { address: '192.168.1.40', sshPort: 2222, labels: { rack: 'b' } } });
    expect(changed.status).toBe(200);
    expect((await json(changed))['node']).toMatchObject({ hostname: 'pi1', address: '192.168.1.40', sshPort: 2222, sshUser: 'ubuntu', labels: { rack: 'b' } });
  });

  it('answers bad input with 400 and the field, a clash with the field, an unknown node with 404; needs admin; changes nothing', async () => {
    // (Each request notes when its token was last used: the nodes are what must not change.)
    const nodes = () => JSON.stringify(web.db.prepare('SELECT * FROM nodes ORDER BY id').all());
    const before = nodes();
    const bad = await web.call('PATCH', '/nodes/pi1', { token: web.tokens.admin, body: { sshPort: 0 } });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ field: 'sshPort' });
    const clash = await web.call('PATCH', '/nodes/pi1', { token: web.tokens.admin, body: { address: '192.168.1.11', sshPort: 22 } });
    expect(clash.status).toBe(400);
    expect(await json(clash)).toEqual({ error: '--ip 192.168.1.11 is already used by node pi2: each node needs its own address', field: 'address' });
    const unknown = await web.call('PATCH', '/nodes/ghost', { token: web.tokens.admin, body: { sshUser: 'pi' } });
    expect(unknown.status).toBe(404);
    expect((await web.call('PATCH', '/nodes/pi1', { token: web.tokens.operate, body: { sshUser: 'pi' } })).status).toBe(403);
    expect(nodes()).toBe(before);
  });
});

describe('PATCH /api/v1/ups/:ups', () => {
  it('changes the driver and options, never shows a password; bad input is 400 with the field', async () => {
    const added = await web.call('POST', '/ups', { token: web.tokens.admin, body: { name: 'rack1', host: 'pi2', user: 'mon', password: 'ups-Secret-9' } });
    expect(added.status).toBe(201);
    const changed = await web.call('PATCH', '/ups/rack1', { token: web.tokens.admin, body: { driver: 'blazer_usb', driverOptions: { vendorid: '0665' } } });
    expect(changed.status).toBe(200);
    const text = await changed.text();
    expect(JSON.parse(text)['ups']).toMatchObject({ name: 'rack1', host: 'pi2', driver: 'blazer_usb', driverOptions: { vendorid: '0665' } });
    expect(text).not.toContain('ups-Secret-9');
    const bad = await web.call('PATCH', '/ups/rack1', { token: web.tokens.admin, body: { port: 'a b' } });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ field: 'port' });
    const host = await web.call('PATCH', '/ups/rack1', { token: web.tokens.admin, body: { host: 'pi1' } });
    expect(host.status).toBe(400);
    expect((await web.call('PATCH', '/ups/ghost', { token: web.tokens.admin, body: { driver: 'dummy-ups' } })).status).toBe(404);
  });
});
