// /api/v1/proxmox in-process (Hono's app.request) against a real SQLite file and secrets store; the
// test action runs the real playbook against the Proxmox API double (ts/test-support/proxmox.ts)
// and is followed over SSE to its end.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { getOperation } from '../ops/index.js';
import { testProxmoxHost } from '../proxmox/index.js';
import { secretsFile } from '../secrets/index.js';
import { FakePve, makeCertificates, SECRET, TOKEN_ID, WRONG_SECRET } from '../test-support/proxmox.js';
import { webFixture, type WebFixture } from '../test-support/web.js';
import { API_PREFIX } from './app.js';

let web: WebFixture;
let url: string;
let ca: string;
const pve = new FakePve();
/** Every response body of this file, to grep for the secrets at the end. */
const answers: string[] = [];

async function call(method: string, target: string, body?: unknown, scope: keyof WebFixture['tokens'] = 'admin'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await web.call(method, target, { token: web.tokens[scope], ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  answers.push(text);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** Start the test of a host through the API, and follow its operation's events to the end. */
async function testThroughApi(host: string): Promise<{ operationId: number; end: Record<string, unknown>; log: string }> {
  const started = await call('POST', `/proxmox/${host}/test`, undefined, 'operate');
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const operationId = started.body['operationId'] as number;
  expect(started.body).toEqual({ operationId, status: 'running', events: `${API_PREFIX}/operations/${operationId}/events` });
  const stream = await web.app.request(started.body['events'] as string, { headers: { authorization: `Bearer ${web.tokens.read}` } });
  const text = await stream.text();
  answers.push(text);
  const end = /event: end\ndata: (\{.*\})\n/.exec(text);
  expect(end, text).not.toBeNull();
  const log = [...text.matchAll(/event: log\ndata: (\{.*\})\n/g)].map((m) => (JSON.parse(m[1] ?? '{}') as { text: string }).text).join('');
  return { operationId, end: JSON.parse(end?.[1] ?? '{}') as Record<string, unknown>, log };
}

beforeAll(async () => {
  web = webFixture();
  await makeCertificates(web.dir);
  await pve.start(readFileSync(path.join(web.dir, 'server.pem')), readFileSync(path.join(web.dir, 'server.key')));
  url = `https://127.0.0.1:${pve.port}`;
  ca = path.join(web.dir, 'ca.pem');
  pve.vms.set(101, { status: 'running', startResult: 'OK' });
  insertNode(web.db, validateNodeInput({ hostname: 'pi-vm1', address: '192.0.2.1', sshUser: 'root', proxmoxHost: 'pve1', proxmoxNode: 'pve', proxmoxVmid: 101 }), null);
}, 30_000);

afterAll(async () => {
  await pve.stop();
  web.close();
});

describe('/api/v1/proxmox', () => {
  it('lists no hosts at first', async () => {
    expect(await call('GET', '/proxmox', undefined, 'read')).toEqual({ status: 200, body: { hosts: [] } });
  });

  it('adds a host: 201, the token secret only in the secrets file', async () => {
    const added = await call('POST', '/proxmox', { name: 'pve1', url, tokenId: TOKEN_ID, tokenSecret: SECRET, caFile: ca });
    expect(added.status).toBe(201);
    expect(added.body['host']).toMatchObject({ name: 'pve1', url, tokenId: TOKEN_ID, caFile: ca, insecure: false, nodes: ['pi-vm1'] });
    expect(JSON.stringify(added.body)).not.toMatch(/tokenSecret|token_secret/);
    expect(readFileSync(secretsFile(web.dir), 'utf8')).toContain(SECRET);
    expect((await call('POST', '/proxmox', { name: 'pve1', url, tokenId: TOKEN_ID, tokenSecret: SECRET })).status).toBe(409);
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['an http url', { url: 'http://pve2:8006' }, 'url', /^invalid --url "http:\/\/pve2:8006": must be the https URL/],
    ['a token id without a token name', { tokenId: 'root@pam' }, 'tokenId', /^invalid --token-id "root@pam": must be an API token id/],
    ['a malformed token secret (not echoed)', { tokenSecret: 'has spaces and $' }, 'tokenSecret', /^invalid --token-secret: must be the API token secret/],
    ['a token secret that is no string', { tokenSecret: 12345678 }, 'tokenSecret', /^invalid --token-secret: must be/],
    ['no token secret', { tokenSecret: undefined }, 'tokenSecret', /^missing --token-secret: it is required$/],
    ['no url', { url: undefined }, 'url', /^missing --url: it is required$/],
    ['an unknown field', { password: 'x' }, 'password', /^unknown field "password": this request takes /],
    ['insecure that is no boolean', { insecure: 'yes' }, 'insecure', /^invalid --insecure "yes": must be true or false/],
    ['a CA file that does not exist', { caFile: '/nonexistent/ca.pem' }, 'caFile', /^--ca-file \/nonexistent\/ca.pem does not exist/],
    ['a CA file and insecure', { caFile: '/nonexistent/ca.pem', insecure: true }, 'insecure', /^--ca-file and --insecure contradict/],
  ];
  it.each(bad)('refuses %s with 400 and the field, adding nothing', async (_what, change, field, message) => {
    const body: Record<string, unknown> = { name: 'pve2', url: 'https://pve2.lan:8006', tokenId: TOKEN_ID, tokenSecret: '1a2b3c4d-0000-4000-8000-00000000000f', ...change };
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    const answer = await call('POST', '/proxmox', body);
    expect(answer.status).toBe(400);
    expect(answer.body['field']).toBe(field);
    expect(answer.body['error']).toMatch(message);
    expect(String(answer.body['error'])).not.toContain('has spaces');
    expect(((await call('GET', '/proxmox', undefined, 'read')).body['hosts'] as unknown[]).length).toBe(1);
  });

  it('shows one host by name or id, 404 for an unknown one', async () => {
    const byName = await call('GET', '/proxmox/pve1', undefined, 'read');
    expect(byName.body['host']).toMatchObject({ name: 'pve1', nodes: ['pi-vm1'] });
    const id = (byName.body['host'] as { id: number }).id;
    expect((await call('GET', `/proxmox/${id}`, undefined, 'read')).body['host']).toMatchObject({ name: 'pve1' });
    const missing = await call('GET', '/proxmox/nosuch', undefined, 'read');
    expect(missing).toEqual({ status: 404, body: { error: 'no proxmox host "nosuch": see mko proxmox list, add one with mko proxmox add', field: null } });
  });

  it('tests a host: 202 with the operation, followed to its end, the version and the VM\'s state in its log', async () => {
    pve.requests = [];
    const { operationId, end, log } = await testThroughApi('pve1');
    expect(end).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(log).toContain('pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running');
    expect(getOperation(web.db, operationId)).toMatchObject({ kind: 'proxmox-test', target: 'pve1', status: 'succeeded' });
    expect(pve.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api2/json/version', 'GET /api2/json/nodes/pve/qemu/101/status/current']);
    const operation = await call('GET', `/operations/${operationId}`, undefined, 'read');
    expect(operation.status).toBe(200);
  });

  it('tests by id too (the settings page posts /proxmox/:id/test); a failed test ends failed with the reason in its log', async () => {
    const added = await call('POST', '/proxmox', { name: 'pve-wrong', url, tokenId: TOKEN_ID, tokenSecret: WRONG_SECRET, caFile: ca });
    const id = (added.body['host'] as { id: number }).id;
    const { end, log } = await testThroughApi(String(id));
    expect(end).toMatchObject({ status: 'failed', exitCode: 2 });
    expect(log).toContain(`pve-wrong: Proxmox pve-wrong rejected API token ${TOKEN_ID} (401 invalid token value!): check the token id and secret`);
  });

  it('the test changes nothing (changed=0 on its run), and runs as it is in check mode', async () => {
    for (const check of [false, true]) {
      const result = await testProxmoxHost(web.db, 'pve1', { dbPath: web.dbPath, dataDir: web.dir, check });
      expect(result, `check ${check}`).toMatchObject({ ok: true, version: '8.2.4', vms: [{ node: 'pi-vm1', status: 'running' }], run: { status: 'succeeded' } });
      expect(getOperation(web.db, result.operationId).recap['localhost'], `check ${check}`).toMatchObject({ changed: 0, failed: 0 });
    }
  });

  it('answers 404 at once for the test of an unknown host, and starts nothing', async () => {
    const before = web.db.prepare('SELECT count(*) AS n FROM operations').get();
    const answer = await call('POST', '/proxmox/nosuch/test', undefined, 'operate');
    expect(answer.status).toBe(404);
    expect(web.db.prepare('SELECT count(*) AS n FROM operations').get()).toEqual(before);
  });

  it('removes a host only with "confirm": true, and refuses one that nodes use without "force"', async () => {
    const unconfirmed = await call('DELETE', '/proxmox/pve-wrong', {});
    expect(unconfirmed).toEqual({ status: 400, body: { error: 'remove Proxmox host pve-wrong and its token secret: not confirmed; send "confirm": true to do it', field: 'confirm' } });
    expect((await call('DELETE', '/proxmox/nosuch', { confirm: true })).status).toBe(404);
    const inUse = await call('DELETE', '/proxmox/pve1', { confirm: true });
    expect(inUse.status).toBe(400);
    expect(inUse.body['error']).toBe('proxmox host pve1 is used by pi-vm1: point them elsewhere first, or pass --force');
    expect(await call('DELETE', '/proxmox/pve-wrong', { confirm: true })).toEqual({ status: 200, body: { removed: 'pve-wrong' } });
    expect((await call('GET', '/proxmox/pve-wrong', undefined, 'read')).status).toBe(404);
    expect(readFileSync(secretsFile(web.dir), 'utf8')).not.toContain(WRONG_SECRET);
  });

  it('the token secrets are in no answer, event stream or operation record', async () => {
    for (const op of web.db.prepare("SELECT id FROM operations WHERE kind = 'proxmox-test'").all() as { id: number }[]) {
      await call('GET', `/operations/${op.id}`, undefined, 'read');
    }
    expect(answers.length).toBeGreaterThan(20);
    for (const text of answers) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(WRONG_SECRET);
    }
  });
});
