// No secret in any response: every declared route is called (every method, with a valid body where
// it takes one), every long action is followed to its end and its log read back, and every answer
// is searched for the planted secrets: the nodes' SSH private keys (the ones mko made, and the one
// a key rotation makes), a NUT password, a SecureOn password, a Proxmox token secret, API tokens.
// The fleet lives on loopback ports nobody listens on: runs fail fast and nothing leaves the machine.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNotifier } from '../health/notifiers.js';
import { addUps, createRule } from '../power/index.js';
import { projectRoot } from '../paths.js';
import { addProxmoxHost } from '../proxmox/index.js';
import { freePort } from '../test-support/sshd.js';
import { json, webFixture, type WebFixture } from '../test-support/web.js';
import { apiRoutes } from './api/index.js';
import type { RouteSpec } from './route.js';

const UPS_PASSWORD = 'upsSecret-4711';
const SECOND_UPS_PASSWORD = 'upsSecret-0815';
const PROXMOX_SECRET = '0d1e2f3a-4b5c-4d6e-8f70-123456789abc';
const SECUREON = '5e:c2:e7:0a:11:f3';
/** The token parts of two health webhook URLs (the whole URL is the secret; these are what must never show). */
const WEBHOOK_TOKEN = 'W3bh00k-t0ken-0001';
const SECOND_WEBHOOK_TOKEN = 'W3bh00k-t0ken-0002';

let web: WebFixture;
let closedPort: number;

beforeAll(async () => {
  // The runs read the fleet through the built inventory script.
  if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  web = webFixture();
  closedPort = await freePort();
});

afterAll(() => web.close());

/** What a stream sends within `ms`, then the stream is closed. */
async function firstChunks(response: Response, ms: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  const stop = setTimeout(() => void reader.cancel(), ms);
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) break;
    text += decoder.decode(value);
  }
  clearTimeout(stop);
  return text;
}

/** The private halves of every key pair mko keeps now: the armour line and each line of the base64 body. */
function privateKeyTexts(dataDir: string): string[] {
  const keys = path.join(dataDir, 'keys');
  if (!existsSync(keys)) return [];
  return readdirSync(keys, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.pub'))
    .flatMap((entry) => readFileSync(path.join(entry.parentPath, entry.name), 'utf8').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.length >= 16);
}

/** A valid body for each route that takes one (`METHOD path`); others get {}. */
function validBodies(): Record<string, unknown> {
  return {
    'post /nodes': { hostname: 'n3', address: '127.0.0.4', sshPort: closedPort, sshUser: 'ubuntu' },
    'post /clusters': { name: 'spare' },
    'patch /clusters/:cluster': { description: 'the home lab' },
    'post /clusters/:cluster/nodes': { node: 'n3', role: 'worker' },
    'post /clusters/:cluster/setup': { check: true },
    'post /clusters/:cluster/configure-hosts': { check: true },
    'post /clusters/:cluster/startup': { check: true, confirm: true },
    'post /clusters/:cluster/upgrade': { channel: '1.32/stable', check: true },
    'post /clusters/:cluster/shutdown': { mode: 'force', check: true },
    'post /clusters/:cluster/wake': { wait: false },
    'post /nodes/:node/wake': { wait: false },
    'put /nodes/:node/wol': { secureon: SECUREON, broadcast: '127.255.255.255' },
    'post /ups': { name: 'ups2', host: 'n2', upsdPort: closedPort, user: 'upsmon2', password: SECOND_UPS_PASSWORD },
    'post /rules': { ups: 'rack', cluster: 'home', event: 'low_battery', action: 'notify', command: 'true', name: 'rack-low', batteryThreshold: 20 },
    'patch /rules/:rule': { priority: 5 },
    'delete /clusters/:cluster': { confirm: true, detachNodes: true },
    'post /doctor': { target: 'home' },
    'post /checks/notifiers': { name: 'hook2', webhook: `http://127.0.0.1:${closedPort}/hook/${SECOND_WEBHOOK_TOKEN}` },
  };
}

describe('secrets', () => {
  it('appear in no response of any route, nor in the log of any run a route starts', { timeout: 600_000 }, async () => {
    const { call, tokens, db, dir } = web;
    expect((await call('POST', '/clusters', { token: tokens.admin, body: { name: 'home' } })).status).toBe(201);
    for (const [hostname, address, role] of [['n1', '127.0.0.2', 'control-plane'], ['n2', '127.0.0.3', 'worker']] as const) {
      const added = await call('POST', '/nodes', { token: tokens.admin, body: { hostname, address, sshPort: closedPort, sshUser: 'ubuntu', cluster: 'home', role, wolMac: `02:00:00:00:00:0${hostname.slice(1)}` } });
      expect(added.status).toBe(201);
    }
    addUps(db, dir, { name: 'rack', host: 'n1', driver: 'dummy-ups', port: 'dummy.dev', upsdPort: closedPort, user: 'upsmon', password: UPS_PASSWORD });
    addProxmoxHost(db, dir, { name: 'pve', url: `https://127.0.0.1:${closedPort}`, tokenId: 'root@pam!mko', tokenSecret: PROXMOX_SECRET, insecure: true });
    createRule(db, { ups: 'rack', cluster: 'home', event: 'power_loss', action: 'notify', command: 'true', name: 'rack-notify' });
    addNotifier(db, dir, { name: 'hook', webhook: `http://127.0.0.1:${closedPort}/hook/${WEBHOOK_TOKEN}?key=${WEBHOOK_TOKEN}` });
    const configured = await call('PUT', '/nodes/n1/wol', { token: tokens.admin, body: { broadcast: '127.255.255.255', secureon: SECUREON } });
    expect(configured.status).toBe(200);

    const keyTexts = new Set(privateKeyTexts(dir));
    expect([...keyTexts].some((line) => line.includes('BEGIN OPENSSH PRIVATE KEY'))).toBe(true);
    expect(keyTexts.size).toBeGreaterThan(4);
    const answers: { what: string; text: string }[] = [];
    const operations = new Set<number>();

    /**
     * Follow a run to its end; its stream and its record are answers too. A run still going after
     * 15 s (one that waits for nodes to answer) is cancelled through the API, and then followed.
     */
    const followRun = async (operationId: number): Promise<void> => {
      operations.add(operationId);
      const events = `/api/v1/operations/${operationId}/events`;
      const headers = { authorization: `Bearer ${tokens.read}` };
      let text = await firstChunks(await web.app.request(events, { headers }), 15_000);
      if (!/event: end\n/.test(text)) {
        const cancelled = await call('POST', `/operations/${operationId}/cancel`, { token: tokens.operate, body: {} });
        answers.push({ what: `cancel of operation ${operationId}`, text: await cancelled.text() });
        text = await (await web.app.request(events, { headers })).text();
      }
      expect(text, `events of operation ${operationId}`).toMatch(/event: end\n/);
      answers.push({ what: `events of operation ${operationId}`, text });
      answers.push({ what: `operation ${operationId}`, text: await (await call('GET', `/operations/${operationId}`, { token: tokens.read })).text() });
      for (const line of privateKeyTexts(dir)) keyTexts.add(line);
    };

    // A run before the loop, so that the operation routes have one to show.
    const first = (await json(await call('POST', '/nodes/n1/test-ssh', { token: tokens.operate }))) as { operationId: number };
    await followRun(first.operationId);

    const values: Record<string, string> = { node: 'n1', cluster: 'home', operation: String(first.operationId), ups: 'rack', rule: 'rack-notify', host: 'pve', notifier: 'hook' };
    const bodies = validBodies();
    // Removals last, so that every other route still finds what it asks about; what a removal
    // takes with it (a node its UPS, a cluster its rules) goes after what it holds.
    const removalOrder = (spec: RouteSpec) => ['/rules', '/ups', '/nodes', '/clusters'].findIndex((prefix) => spec.path.startsWith(prefix));
    const specs = [...apiRoutes().specs.filter((s) => s.method !== 'delete'), ...apiRoutes().specs.filter((s) => s.method === 'delete').sort((a, b) => removalOrder(a) - removalOrder(b))];
    const started: string[] = [];
    for (const spec of specs as RouteSpec[]) {
      // Auto-sleep refuses a lone control-plane node (n1): its routes act on the worker.
      const on = spec.path.startsWith('/nodes/:node/sleep') ? { ...values, node: 'n2' } : values;
      const url = spec.path.replace(/:([a-z]+)/g, (_, name: string) => on[name] ?? 'x');
      const what = `${spec.method.toUpperCase()} ${url}`;
      const key = `${spec.method} ${spec.path}`;
      const body = spec.method === 'get' ? undefined : (bodies[key] ?? (spec.method === 'delete' ? { confirm: true } : {}));
      const response = await call(spec.method.toUpperCase(), url, { token: tokens.admin, ...(body !== undefined ? { body } : {}) });
      const text = spec.stream ? await firstChunks(response, 300) : await response.text();
      answers.push({ what, text });
      if (!spec.stream) expect(response.status, `${what}: ${text}`).toBeLessThan(500);
      if (spec.method === 'delete') expect([200, 204], `${what}: ${text}`).toContain(response.status);
      if (spec.accepted) {
        expect(response.status, `${what} with a valid body: ${text}`).toBe(202);
        started.push(what);
        await followRun((JSON.parse(text) as { operationId: number }).operationId);
      }
      for (const line of privateKeyTexts(dir)) keyTexts.add(line);
    }
    expect(started.length).toBeGreaterThanOrEqual(12);
    // Every run's log once more, now that each has ended.
    for (const id of operations) answers.push({ what: `operation ${id} at the end`, text: await (await call('GET', `/operations/${id}`, { token: tokens.read })).text() });
    answers.push({ what: 'GET /operations', text: await (await call('GET', '/operations?limit=100', { token: tokens.read })).text() });

    const secrets = [UPS_PASSWORD, SECOND_UPS_PASSWORD, PROXMOX_SECRET, WEBHOOK_TOKEN, SECOND_WEBHOOK_TOKEN, SECUREON, SECUREON.replace(/:/g, ''), tokens.read, tokens.operate, tokens.admin, ...keyTexts];
    for (const { what, text } of answers) {
      for (const secret of secrets) expect(text.includes(secret), `${what} shows the secret ${secret.slice(0, 12)}…`).toBe(false);
    }
    expect(answers.length).toBeGreaterThan(apiRoutes().specs.length);
  });
});
