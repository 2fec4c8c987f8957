// The REST API in-process (Hono's app.request) against a real SQLite file, real key generation and
// the real secrets store: auth, scopes, CSRF, validation errors, the OpenAPI document (no secret in
// any response: api-secrets.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index.js';
import { json, webFixture, type WebFixture } from '../test-support/web.js';
import { apiRoutes } from './api/index.js';
import { API_PREFIX } from './app.js';
import { createToken, revokeToken } from './tokens.js';

let web: WebFixture;
let db: Db;
let app: WebFixture['app'];
let tokens: WebFixture['tokens'];
const call = (...args: Parameters<WebFixture['call']>): Promise<Response> => web.call(...args);

beforeAll(() => {
  web = webFixture();
  ({ db, app, tokens } = web);
});

afterAll(() => web.close());

describe('authentication', () => {
  it('answers 401 with a JSON error on every route without a token, and with a wrong or revoked one', async () => {
    const revoked = createToken(db, { name: 'gone', scope: 'admin' }).secret;
    revokeToken(db, 'gone');
    for (const spec of apiRoutes().specs) {
      const url = spec.path.replace(/:[a-z]+/g, 'x');
      for (const token of [undefined, 'mko_wrong', revoked]) {
        const response = await call(spec.method.toUpperCase(), url, token ? { token } : {});
        expect(response.status, `${spec.method} ${spec.path} with ${token ?? 'no token'}`).toBe(401);
        expect(await json(response)).toMatchObject({ error: expect.stringMatching(/token|logged in/), field: null });
      }
    }
  });

  it('answers 403 where the token\'s scope is below what the route needs', async () => {
    const rank = { read: 0, operate: 1, admin: 2 };
    for (const spec of apiRoutes().specs) {
      for (const scope of ['read', 'operate'] as const) {
        if (rank[scope] >= rank[spec.scope]) continue;
        const response = await call(spec.method.toUpperCase(), spec.path.replace(/:[a-z]+/g, 'x'), { token: tokens[scope], ...(spec.method === 'get' ? {} : { body: {} }) });
        expect(response.status, `${spec.method} ${spec.path} as ${scope}`).toBe(403);
        expect((await json(response))['error']).toBe(`token t-${scope} has scope ${scope}; this needs ${spec.scope}`);
      }
    }
  });

  it('logs a browser in with a token: HttpOnly SameSite=Strict cookie, and changes need the CSRF token', async () => {
    const login = await app.request(`${API_PREFIX}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tokens.admin }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^mko_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const { csrf } = (await login.json()) as { csrf: string };
    const session = cookie.split(';')[0] ?? '';
    expect((await call('GET', '/clusters', { headers: { cookie: session } })).status).toBe(200);
    const body = { name: 'csrf-test' };
    const forged = await call('POST', '/clusters', { headers: { cookie: session }, body });
    expect(forged.status).toBe(403);
    expect((await json(forged))['error']).toMatch(/X-CSRF-Token/);
    expect((await call('POST', '/clusters', { headers: { cookie: session, 'x-csrf-token': `${csrf}x` }, body })).status).toBe(403);
    expect((await call('POST', '/clusters', { headers: { cookie: session, 'x-csrf-token': csrf }, body })).status).toBe(201);
    const bad = await app.request(`${API_PREFIX}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'mko_nope' }) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    // Logging out ends the session on the server, not just in the browser.
    expect((await call('DELETE', '/session', { headers: { cookie: session, 'x-csrf-token': csrf } })).status).toBe(204);
    expect((await call('GET', '/clusters', { headers: { cookie: session } })).status).toBe(401);
  });
});

describe('fleet routes', () => {
  it('adds a cluster and a node, shows them and the node\'s SSH instructions', async () => {
    expect((await call('POST', '/clusters', { token: tokens.admin, body: { name: 'home', ha: true } })).status).toBe(201);
    const added = await call('POST', '/nodes', { token: tokens.admin, body: { hostname: 'pi1', address: '192.168.1.10', sshUser: 'ubuntu', cluster: 'home', role: 'control-plane' } });
    expect(added.status).toBe(201);
    const body = (await added.json()) as { node: { id: number; hostname: string; sshKeyFingerprint: string }; instructions: string };
    expect(body.node.hostname).toBe('pi1');
    expect(body.node.sshKeyFingerprint).toMatch(/^SHA256:/);
    expect(body.instructions).toContain('ssh-ed25519 ');
    const listed = (await json(await call('GET', '/nodes?cluster=home', { token: tokens.read })))['nodes'] as { hostname: string }[];
    expect(listed.map((n) => n.hostname)).toEqual(['pi1']);
    const byId = await json(await call('GET', `/nodes/${body.node.id}`, { token: tokens.read }));
    expect(byId['node']).toMatchObject({ hostname: 'pi1', cluster: 'home' });
    const instructions = await json(await call('GET', '/nodes/pi1/instructions?format=markdown', { token: tokens.read }));
    expect(instructions['instructions']).toContain('ssh-ed25519 ');
    const cluster = await json(await call('GET', '/clusters/home', { token: tokens.read }));
    expect(cluster['cluster']).toMatchObject({ name: 'home', nodeCount: 1 });
  });

  it('refuses bad input with 400 and the field, naming it as the CLI does; leaves the database as it was', async () => {
    const before = db.prepare('SELECT count(*) AS n FROM nodes').get();
    const bad = await call('POST', '/nodes', { token: tokens.admin, body: { hostname: 'pi2', address: 'not-an-ip', sshUser: 'ubuntu' } });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({ error: 'invalid --ip "not-an-ip": must be an IPv4 or IPv6 address, e.g. 192.168.1.10 or fd00::10', field: 'address' });
    const missing = await call('POST', '/nodes', { token: tokens.admin, body: { hostname: 'pi2', sshUser: 'ubuntu' } });
    expect(await json(missing)).toEqual({ error: 'missing --ip: it is required', field: 'address' });
    const unknown = await call('POST', '/clusters', { token: tokens.admin, body: { name: 'x', colour: 'red' } });
    expect(await json(unknown)).toMatchObject({ field: 'colour' });
    const notJson = await app.request(`${API_PREFIX}/clusters`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' }, body: '{name' });
    expect(notJson.status).toBe(400);
    expect((await json(notJson))['error']).toMatch(/^the request body is not JSON/);
    expect(db.prepare('SELECT count(*) AS n FROM nodes').get()).toEqual(before);
  });

  it('answers 404 for what does not exist and 409 for a clash', async () => {
    const missing = await call('GET', '/nodes/nope', { token: tokens.read });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: 'no node "nope": see mko node list', field: null });
    expect((await call('GET', '/no/such/route', { token: tokens.read })).status).toBe(404);
    const clash = await call('POST', '/clusters', { token: tokens.admin, body: { name: 'home' } });
    expect(clash.status).toBe(409);
  });

  it('removes only with "confirm": true', async () => {
    await call('POST', '/clusters', { token: tokens.admin, body: { name: 'spare' } });
    const unconfirmed = await call('DELETE', '/clusters/spare', { token: tokens.admin, body: {} });
    expect(unconfirmed.status).toBe(400);
    expect(await json(unconfirmed)).toEqual({ error: 'remove cluster spare: not confirmed; send "confirm": true to do it', field: 'confirm' });
    expect((await call('GET', '/clusters/spare', { token: tokens.read })).status).toBe(200);
    expect((await call('DELETE', '/clusters/spare', { token: tokens.admin, body: { confirm: true } })).status).toBe(200);
    expect((await call('GET', '/clusters/spare', { token: tokens.read })).status).toBe(404);
  });
});

describe('request bodies', () => {
  it('are checked before the handler runs: a mistyped field is a 400 naming it, not a real run', async () => {
    const before = db.prepare('SELECT count(*) AS n FROM operations').get();
    const typo = await call('POST', '/clusters/home/setup', { token: tokens.operate, body: { chek: true } });
    expect(typo.status).toBe(400);
    expect(await json(typo)).toEqual({ error: 'unknown field "chek": this request takes check, confirm', field: 'chek' });
    const wrongType = await call('POST', '/clusters/home/setup', { token: tokens.operate, body: { check: 'yes' } });
    expect(await json(wrongType)).toEqual({ error: 'invalid --check "yes": must be true or false', field: 'check' });
    const notObject = await call('POST', '/clusters/home/status', { token: tokens.operate, body: [1] });
    expect(await json(notObject)).toEqual({ error: 'the request body must be a JSON object', field: null });
    const upgrade = await call('POST', '/clusters/home/upgrade', { token: tokens.operate, body: {} });
    expect(await json(upgrade)).toEqual({ error: 'missing --channel: it is required', field: 'channel' });
    const shutdown = await call('POST', '/clusters/home/shutdown', { token: tokens.operate, body: { mode: 'gentle', confirm: true } });
    expect(await json(shutdown)).toEqual({ error: 'invalid mode "gentle": must be graceful (backup, cordon, drain first) or force (at once)', field: 'mode' });
    const drain = await call('POST', '/clusters/home/shutdown', { token: tokens.operate, body: { mode: 'graceful', confirm: true, drainTimeoutSeconds: 'long' } });
    expect(await json(drain)).toMatchObject({ error: 'invalid --drain-timeout "long": must be whole seconds each worker\'s drain may take (graceful; 0: no drain)', field: 'drainTimeoutSeconds' });
    const wake = await call('POST', '/nodes/pi1/wake', { token: tokens.operate, body: { wait: 1 } });
    expect(await json(wake)).toEqual({ error: 'invalid --wait 1: must be true or false', field: 'wait' });
    const assign = await call('POST', '/clusters/home/nodes', { token: tokens.admin, body: { node: 'pi1', role: 'boss' } });
    expect(await json(assign)).toEqual({ error: 'invalid --role "boss": must be control-plane or worker', field: 'role' });
    const cancel = await call('POST', '/operations/1/cancel', { token: tokens.operate, body: { force: true } });
    expect(await json(cancel)).toEqual({ error: 'unknown field "force": this request takes no fields: send {}', field: 'force' });
    const remove = await call('DELETE', '/clusters/home', { token: tokens.admin, body: { confirm: 'yes' } });
    expect(await json(remove)).toEqual({ error: 'invalid confirm "yes": must be true, to say you mean it (the CLI asks, or takes --yes)', field: 'confirm' });
    expect(db.prepare('SELECT count(*) AS n FROM operations').get()).toEqual(before);
    expect((await call('GET', '/clusters/home', { token: tokens.read })).status).toBe(200);
  });

  it('answers a key type ssh-keygen would not make with 400 naming keyType, and adds nothing', async () => {
    const before = db.prepare('SELECT count(*) AS n FROM nodes').get();
    const dsa = await call('POST', '/nodes', { token: tokens.admin, body: { hostname: 'pi9', address: '127.0.0.9', sshUser: 'ubuntu', keyType: 'dsa' } });
    expect(dsa.status).toBe(400);
    expect(await json(dsa)).toEqual({ error: 'invalid --key-type "dsa": must be ed25519 or rsa', field: 'keyType' });
    const rotate = await call('POST', '/nodes/pi1/rotate-key', { token: tokens.admin, body: { keyType: 'dsa' } });
    expect(await json(rotate)).toEqual({ error: 'invalid --key-type "dsa": must be ed25519 or rsa', field: 'keyType' });
    expect(db.prepare('SELECT count(*) AS n FROM nodes').get()).toEqual(before);
  });

  it('leave values to the domain, which normalises first: a MAC in capitals is taken, as the CLI takes it', async () => {
    const added = await call('POST', '/nodes', { token: tokens.admin, body: { hostname: 'pi8', address: '127.0.0.8', sshUser: 'ubuntu', wolMac: 'AA-BB-CC-DD-EE-08' } });
    expect(added.status).toBe(201);
    expect(await json(added)).toMatchObject({ node: { hostname: 'pi8', wol: { mac: 'aa:bb:cc:dd:ee:08' } } });
  });

  it('of every route that changes something are declared, closed to unknown fields', () => {
    for (const spec of apiRoutes().specs) {
      if (spec.method === 'get') continue;
      expect(spec.body, `${spec.method} ${spec.path}`).toMatchObject({ type: 'object', additionalProperties: false });
    }
  });
});

describe('operations and the OpenAPI document', () => {
  it('validates list filters', async () => {
    const bad = await call('GET', '/operations?status=done', { token: tokens.read });
    expect(bad.status).toBe(400);
    expect((await json(bad))['field']).toBe('status');
    expect((await call('GET', '/operations/abc', { token: tokens.read })).status).toBe(400);
    expect((await call('GET', '/operations/999', { token: tokens.read })).status).toBe(404);
    expect((await json(await call('GET', '/operations?limit=5', { token: tokens.read })))['operations']).toEqual([]);
  });

  it('describes every route, with the domain schemas as request bodies', async () => {
    const doc = (await json(await call('GET', '/openapi.json', { token: tokens.read }))) as { openapi: string; paths: Record<string, Record<string, { 'x-mko-scope': string; requestBody?: { content: { 'application/json': { schema: { properties: Record<string, { description?: string }> } } } } }>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const spec of apiRoutes().specs) {
      const entry = doc.paths[`${API_PREFIX}${spec.path.replace(/:([a-z]+)/g, '{$1}')}`]?.[spec.method];
      expect(entry?.['x-mko-scope'], `${spec.method} ${spec.path}`).toBe(spec.scope);
    }
    const address = doc.paths[`${API_PREFIX}/nodes`]?.['post']?.requestBody?.content['application/json'].schema.properties['address'];
    expect(address?.description).toBe('an IPv4 or IPv6 address, e.g. 192.168.1.10 or fd00::10');
  });

  it('gives each route its real success status and the error responses with the {error, field} schema', async () => {
    type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }>; requestBody?: { required: boolean } };
    const doc = (await json(await call('GET', '/openapi.json', { token: tokens.read }))) as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
    const operation = (method: string, path: string): Operation => {
      const found = doc.paths[`${API_PREFIX}${path}`]?.[method];
      if (!found) throw new Error(`no ${method} ${path} in the document`);
      return found;
    };
    const success = (method: string, path: string) => Object.keys(operation(method, path).responses).filter((code) => code.startsWith('2'));
    expect(success('post', '/clusters/{cluster}/setup')).toEqual(['202']);
    expect(success('post', '/nodes/{node}/hardware')).toEqual(['202']);
    expect(success('post', '/nodes/{node}/wol/enable')).toEqual(['202']);
    expect(success('post', '/nodes')).toEqual(['201']);
    expect(success('post', '/clusters')).toEqual(['201']);
    expect(success('post', '/ups')).toEqual(['201']);
    expect(success('post', '/rules')).toEqual(['201']);
    for (const [method, path] of [['post', '/ups/{ups}/test'], ['post', '/rules/{rule}/enable'], ['post', '/operations/{operation}/cancel'], ['post', '/nodes/{node}/rotate-key'], ['post', '/clusters/{cluster}/nodes'], ['put', '/nodes/{node}/wol'], ['delete', '/nodes/{node}'], ['delete', '/clusters/{cluster}'], ['get', '/nodes']] as const) {
      expect(success(method, path), `${method} ${path}`).toEqual(['200']);
    }
    expect(operation('post', '/clusters/{cluster}/setup').responses['202']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Accepted' });
    expect(doc.components.schemas['Accepted']).toMatchObject({ required: ['operationId', 'status', 'events'] });
    expect(doc.components.schemas['Error']).toMatchObject({ properties: { error: { type: 'string' }, field: { type: ['string', 'null'] } }, required: ['error', 'field'] });
    const errorRef = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
    for (const spec of apiRoutes().specs) {
      const { responses } = operation(spec.method, spec.path.replace(/:([a-z]+)/g, '{$1}'));
      const codes = spec.method === 'get' ? ['400', '401', '403', '404'] : ['400', '401', '403', '404', '409'];
      for (const code of codes) expect(responses[code]?.content, `${spec.method} ${spec.path} ${code}`).toEqual(errorRef);
      // The document says what the server does: a declared 202 route answers with accepted().
      expect(Object.keys(responses).filter((code) => code.startsWith('2')), `${spec.method} ${spec.path}`).toEqual([spec.accepted ? '202' : spec.created ? '201' : '200']);
    }
    expect(operation('post', '/nodes').requestBody?.required).toBe(true);
    expect(operation('post', '/nodes/{node}/test-ssh').requestBody?.required).toBe(false);
    // Write-only secrets are marked so for clients.
    const wol = operation('put', '/nodes/{node}/wol') as unknown as { requestBody: { content: { 'application/json': { schema: { properties: Record<string, { writeOnly?: boolean }> } } } } };
    expect(wol.requestBody.content['application/json'].schema.properties['secureon']?.writeOnly).toBe(true);
  });
});
