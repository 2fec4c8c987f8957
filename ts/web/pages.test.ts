// The web pages and the live streams in-process, against a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster } from '../fleet/index.js';
import { appendLog, finishOperation, startOperation } from '../ops/index.js';
import { addUps, createRule } from '../power/index.js';
import { recordEvent, saveWatchState } from '../power/store.js';
import { addProxmoxHost } from '../proxmox/index.js';
import { addNode } from '../ssh/index.js';
import { API_PREFIX, createApp } from './app.js';
import { createToken } from './tokens.js';

let dir: string;
let db: Db;
let app: ReturnType<typeof createApp>;
let token: string;
let cookie: string;
let csrf: string;

/** Stored text as a user or a node could plant it: markup, and a template expression. */
const PLANTED = '<script>alert(1)</script> {{7*7}}';
const PLANTED_SHOWN = '&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}';
const UPS_PASSWORD = 'upsSecret-4711';
const PROXMOX_SECRET = '0d1e2f3a-4b5c-4d6e-8f70-123456789abc';

const page = (url: string, init: RequestInit = {}) => Promise.resolve(app.request(url, { ...init, headers: { cookie, ...(init.headers as Record<string, string>) } }));

/** Read a Server-Sent Events response until `until` says enough (or `ms` pass); the events seen. */
async function readEvents(response: Response, until: (events: { event: string; id?: string; data: string }[]) => boolean, ms = 5000) {
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  const events: { event: string; id?: string; data: string; at: number }[] = [];
  let buffer = '';
  const stop = setTimeout(() => void reader.cancel(), ms);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value);
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
        const event = field('event');
        if (event) events.push({ event, ...(field('id') ? { id: field('id') } : {}), data: field('data') ?? '', at: Date.now() });
      }
    }
  } finally {
    clearTimeout(stop);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-pages-'));
  db = openDb(path.join(dir, 'mko.db'));
  app = createApp({ db, dbPath: path.join(dir, 'mko.db'), dataDir: dir });
  token = createToken(db, { name: 'browser', scope: 'admin' }).secret;
  addCluster(db, { name: 'home', description: '<b>my</b> cluster' });
  await addNode(db, dir, { hostname: 'pi1', address: '192.168.1.10', sshUser: 'ubuntu', cluster: 'home', role: 'control-plane' });
  addUps(db, dir, { name: 'rack', host: 'pi1', driver: 'dummy-ups', port: 'dummy.dev' });
  const login = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
  expect(login.status).toBe(303);
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(await (await page('/')).text())?.[1] ?? '';
});

/** An API call as the logged-in browser makes it: the session cookie and the page's CSRF token. */
const browserCall = (method: string, url: string, body?: unknown) =>
  page(`${API_PREFIX}${url}`, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pages', () => {
  it('keep the rendered dashboard only until something is written, by this server or by another process', async () => {
    const before = await (await page('/')).text();
    expect(await (await page('/')).text()).toBe(before);
    // This connection's write (total_changes()).
    addCluster(db, { name: 'cache-own' });
    const own = await (await page('/')).text();
    expect(own).toContain('data-cluster="cache-own"');
    // Another process's write, through its own connection (data_version).
    const other = openDb(path.join(dir, 'mko.db'));
    try {
      addCluster(other, { name: 'cache-other' });
    } finally {
      other.close();
    }
    const fragment = await (await page('/fragments/dashboard')).text();
    expect(fragment).toContain('data-cluster="cache-other"');
    expect(await (await page('/')).text()).toContain('data-cluster="cache-other"');
    db.prepare("DELETE FROM clusters WHERE name IN ('cache-own', 'cache-other')").run();
    expect(await (await page('/')).text()).not.toContain('cache-o');
  });

  it('send a browser without a session to the login page, and refuse a wrong token there', async () => {
    const anonymous = await app.request('/');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login');
    const wrong = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=mko_nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid (or was revoked).');
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('render the dashboard with clusters, nodes, the UPS and its staleness, under a strict CSP', async () => {
    saveWatchState(db, { upsId: 1, at: new Date().toISOString(), okAt: new Date().toISOString(), error: null, status: 'OB DISCHRG', charge: 87, runtime: 1500, load: 20, inputVoltage: 0, detector: '{}' });
    const response = await page('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await response.text();
    expect(html).toContain('data-cluster="home"');
    expect(html).toContain('data-node="pi1"');
    expect(html).toMatch(/data-ups="rack"[^]*ON BATTERY[^]*87 %[^]*read <span data-age="\d+" data-stale-after="10">\d+<\/span> s ago<span data-stale-mark hidden>/);
    expect(html).toContain('<a class="button" href="/nodes/new">');
    expect(html).toMatch(/<meta name="csrf-token" content="[A-Za-z0-9_-]{20,}">/);
    expect(html).not.toMatch(/<script>/);
  });

  it('escape what nodes and users stored: an operation log with markup shows as text', async () => {
    const id = startOperation(db, { kind: 'hosts', target: 'home' });
    appendLog(db, id, 'TASK [x]\nok: [pi1] => <script>alert(1)</script> & <img src=x onerror=alert(2)>\n');
    finishOperation(db, id, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok', recap: { pi1: { ok: 1, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 } } });
    const html = await (await page(`/operations/${id}`)).text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toMatch(/<td>pi1<\/td><td>1<\/td>/);
  });

  it('show a node with its SSH instructions and key, and a cluster with its actions', async () => {
    const node = await (await page('/nodes/pi1')).text();
    expect(node).toContain('ssh-ed25519 ');
    expect(node).toMatch(/SHA256:[A-Za-z0-9+/]+/);
    expect(node).toContain('data-action="/api/v1/nodes/1/test-ssh"');
    const cluster = await (await page('/clusters/home')).text();
    expect(cluster).toContain('Force shutdown');
    expect(cluster).toContain('data-warning="Force shutdown powers nodes off without draining');
    expect((await page('/nodes/nope')).status).toBe(404);
    expect(await (await page('/nodes/nope')).text()).toContain('no node &quot;nope&quot;: see mko node list');
  });

  it('tell the page the session\'s scope and what every button and form on it needs (the API\'s own routes)', async () => {
    const unescape = (text: string) => text.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&#x60;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    let checked = 0;
    for (const url of ['/', '/nodes/pi1', '/clusters/home', '/ups/rack', '/settings']) {
      const html = await (await page(url)).text();
      const body = /<body ([^>]*)>/.exec(html)?.[1] ?? '';
      expect(body, url).toContain('data-scope="admin"');
      const routes = (JSON.parse(unescape(/data-routes="([^"]*)"/.exec(body)?.[1] ?? '[]')) as [string, string, string][]).map(([m, p, need]) => ({ method: m, pattern: new RegExp(p), need }));
      expect(routes.find((r) => r.method === 'POST' && r.pattern.test('/api/v1/nodes/1/test-ssh'))?.need).toBe('operate');
      expect(routes.find((r) => r.method === 'POST' && r.pattern.test('/api/v1/tokens'))?.need).toBe('admin');
      // No read route is listed: a read token may call those.
      expect(routes.some((r) => r.method === 'GET' && r.pattern.test('/api/v1/nodes/1'))).toBe(false);
      // Every call the page's buttons and forms make is a route of the table: none slips past it.
      const calls = [
        ...[...html.matchAll(/<button[^>]* data-action="([^"]+)"[^>]*>/g)].map((m) => ({ url: unescape(m[1] ?? ''), method: /data-method="([A-Z]+)"/.exec(m[0])?.[1] ?? 'POST' })),
        ...[...html.matchAll(/<form[^>]* data-api="([^"]+)"[^>]*>/g)].map((m) => ({ url: unescape(m[1] ?? ''), method: /data-method="([A-Z]+)"/.exec(m[0])?.[1] ?? 'POST' })),
      ];
      for (const call of calls) expect(routes.some((r) => r.method === call.method && r.pattern.test(call.url)), `${url}: ${call.method} ${call.url}`).toBe(true);
      checked += calls.length;
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('serve the operations list with filters and the refreshable parts alone', async () => {
    const html = await (await page('/operations?status=succeeded')).text();
    expect(html).toContain('<option value="succeeded" selected>');
    const fragment = await (await page('/fragments/dashboard')).text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('data-ups="rack"');
  });
});

describe('the UPS page', () => {
  it('shows the reading, its age, events and rules, with what was stored escaped and no password', async () => {
    await addNode(db, dir, { hostname: 'pi2', address: '192.168.1.11', sshUser: 'ubuntu', cluster: 'home', role: 'worker' });
    const ups = addUps(db, dir, { name: 'garage', host: 'pi2', driver: 'dummy-ups', port: 'dummy.dev', description: PLANTED, user: 'upsmon', password: UPS_PASSWORD });
    saveWatchState(db, { upsId: ups.id, at: new Date(Date.now() - 30_000).toISOString(), okAt: new Date().toISOString(), error: PLANTED, status: 'OL CHRG', charge: 64, runtime: 4000, load: 20, inputVoltage: 230, detector: '{}' });
    recordEvent(db, ups.id, { kind: 'power_loss', status: 'OB DISCHRG', charge: 90, runtime: 1000, threshold: null, detail: PLANTED });
    createRule(db, { ups: 'garage', cluster: 'home', event: 'power_loss', action: 'notify', command: `logger ${PLANTED}`, name: 'garage-notify' });
    const response = await page(`/ups/${ups.id}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`data-live="/fragments/ups/${ups.id}"`);
    expect(html).toMatch(/data-ups-charge>64 %/);
    expect(html).toMatch(/<span data-age="3\d" data-stale-after="10">3\d<\/span> s ago<span data-stale-mark> \(stale\)/);
    expect(html).toContain('1 h 6 min');
    expect(html).toMatch(/<tr data-event="power_loss">/);
    expect(html).toContain(`data-action="/api/v1/ups/${ups.id}/test" data-show-result`);
    // The rule: its switch, its delete behind a confirmation, its edit form starting from what it is.
    expect(html).toMatch(/data-rule="garage-notify"[^]*data-action="\/api\/v1\/rules\/\d+\/disable" data-reload/);
    expect(html).toMatch(/data-action="\/api\/v1\/rules\/\d+" data-method="DELETE" data-reload data-confirm="Delete rule garage-notify/);
    expect(html).toMatch(/data-api="\/api\/v1\/rules\/\d+" data-method="PATCH" data-reload data-empty="null"/);
    expect(html).toContain('<option value="notify" selected>');
    expect(html).toContain('data-api="/api/v1/rules" data-method="POST"');
    expect(html).toContain('<input type="hidden" name="ups" value="garage">');
    // Description, reading error, event detail, the rule's command (shown and in its edit form): all as text.
    expect(html.split(PLANTED_SHOWN).length - 1).toBeGreaterThanOrEqual(5);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain(UPS_PASSWORD);
    const fragment = await (await page('/fragments/ups/garage')).text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('data-ups-status');
    expect(fragment).not.toContain('<script>alert');
    expect((await page('/ups/nope')).status).toBe(404);
  });

  it('takes the rule forms\' calls: create, edit with emptied fields as null, disable, delete only when confirmed', async () => {
    const created = await browserCall('POST', '/rules', { ups: 'garage', event: 'low_battery', action: 'graceful_shutdown', cluster: 'home', batteryThreshold: 30, drainTimeout: 60 });
    expect(created.status).toBe(201);
    const rule = ((await created.json()) as { rule: { id: number; name: string } }).rule;
    // What the edit form sends: every field, the empty ones as null.
    const edited = await browserCall('PATCH', `/rules/${rule.id}`, {
      name: rule.name, event: 'power_loss', action: 'graceful_shutdown', cluster: 'home', actionDelay: 120, priority: 5,
      batteryThreshold: null, workloads: null, command: null, commandTimeout: null, drainTimeout: 90,
    });
    expect(edited.status, await edited.clone().text()).toBe(200);
    expect(((await edited.json()) as { rule: unknown }).rule).toMatchObject({ event: 'power_loss', actionDelay: 120, batteryThreshold: null, options: { drainTimeout: 90 } });
    expect((await browserCall('POST', `/rules/${rule.id}/disable`, {})).status).toBe(200);
    const html = await (await page('/ups/garage')).text();
    expect(html).toMatch(new RegExp(`data-rule="${rule.name}"[^]*?disabled</span>[^]*?data-action="/api/v1/rules/${rule.id}/enable"`));
    expect((await browserCall('DELETE', `/rules/${rule.id}`, {})).status).toBe(400);
    expect((await browserCall('DELETE', `/rules/${rule.id}`, { confirm: true })).status).toBe(200);
    expect(await (await page('/ups/garage')).text()).not.toContain(`data-rule="${rule.name}"`);
  });
});

describe('adding a node', () => {
  it('offers a form, and the new node\'s page shows what to paste on it with copy buttons', async () => {
    const form = await (await page('/nodes/new')).text();
    expect(form).toContain('data-api="/api/v1/nodes" data-method="POST" data-then="/nodes/{node.id}?added"');
    expect(form).toContain('<option value="home">home</option>');
    for (const name of ['hostname', 'address', 'sshUser', 'sshPort', 'cluster', 'role', 'keyType', 'wolMac']) expect(form).toContain(`name="${name}"`);
    const added = await browserCall('POST', '/nodes', { hostname: 'pi9', address: '192.168.1.19', sshUser: 'ubuntu', sshPort: 22, cluster: 'home', role: 'worker', keyType: 'ed25519' });
    expect(added.status).toBe(201);
    const node = ((await added.json()) as { node: { id: number } }).node;
    const html = await (await page(`/nodes/${node.id}?added`)).text();
    expect(html).toContain('data-added');
    expect(html).toMatch(/<pre class="copyable" id="setup-script">[^<]*ssh-ed25519 [^<]*sudo visudo -cf/);
    expect(html).toMatch(/<pre class="copyable" id="public-key">ssh-ed25519 \S+/);
    for (const id of ['setup-script', 'public-key', 'instructions']) expect(html).toContain(`data-copy="#${id}"`);
    expect(html).not.toContain('PRIVATE KEY');
    expect(await (await page('/nodes/pi9')).text()).not.toContain('data-added');
  });
});

describe('settings', () => {
  it('makes a token shown once, lists it without its secret, and revokes it only when confirmed', async () => {
    addProxmoxHost(db, dir, { name: 'pve', url: 'https://10.0.0.5:8006', tokenId: 'root@pam!mko', tokenSecret: PROXMOX_SECRET, insecure: true });
    const made = await browserCall('POST', '/tokens', { name: 'phone', scope: 'operate' });
    expect(made.status).toBe(201);
    const { token: phone, secret } = (await made.json()) as { token: { id: number; name: string; scope: string }; secret: string };
    expect(phone).toMatchObject({ name: 'phone', scope: 'operate' });
    expect(secret).toMatch(/^mko_[A-Za-z0-9_-]{40,}$/);
    expect((await browserCall('POST', '/tokens', { name: 'phone', scope: 'read' })).status).toBe(409);
    expect(((await (await browserCall('POST', '/tokens', { name: 'x', scope: 'root' })).json()) as { field: string }).field).toBe('scope');
    const listed = await (await browserCall('GET', '/tokens')).text();
    expect(listed).toContain('"name":"phone"');
    const html = await (await page('/settings')).text();
    expect(html).toMatch(/<tr data-token="phone">[^]*data-action="\/api\/v1\/tokens\/\d+\/revoke" data-refresh data-confirm="Revoke token phone\?/);
    expect(html).toContain('data-api="/api/v1/tokens" data-method="POST" data-show="#new-token" data-refresh');
    expect(html).toMatch(/<tr data-proxmox="pve">[^]*data-action="\/api\/v1\/proxmox\/\d+\/test" data-show-result/);
    for (const text of [listed, html]) for (const hidden of [secret, token, PROXMOX_SECRET]) expect(text).not.toContain(hidden);
    expect((await browserCall('POST', `/tokens/${phone.id}/revoke`, {})).status).toBe(400);
    expect((await browserCall('POST', `/tokens/${phone.id}/revoke`, { confirm: true })).status).toBe(200);
    expect(await (await page('/fragments/tokens')).text()).toMatch(/<tr data-token="phone">(?:(?!<\/tr>)[^])*\d{4}-\d\d-\d\dT(?:(?!<\/tr>)[^])*<td><\/td><\/tr>/);
  });
});

describe('live streams', () => {
  it('stream an operation\'s log as it is written, end with its status, and resume from Last-Event-ID', async () => {
    const id = startOperation(db, { kind: 'hardware', target: 'home' });
    appendLog(db, id, 'first line\n');
    const response = await page(`${API_PREFIX}/operations/${id}/events`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const writer = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      appendLog(db, id, 'second line\n');
      await new Promise((r) => setTimeout(r, 300));
      finishOperation(db, id, { status: 'failed', exitCode: 2, exitMeaning: 'one or more hosts failed' });
    })();
    const events = await readEvents(response, (seen) => seen.some((e) => e.event === 'end'));
    await writer;
    expect(events.map((e) => e.event)).toEqual(['log', 'log', 'end']);
    expect(events.map((e) => (JSON.parse(e.data) as { text?: string }).text ?? '').join('')).toBe('first line\nsecond line\n');
    expect(JSON.parse(events[2]?.data ?? '{}')).toEqual({ status: 'failed', exitCode: 2, exitMeaning: 'one or more hosts failed' });
    const resumed = await readEvents(await page(`${API_PREFIX}/operations/${id}/events`, { headers: { 'last-event-id': events[0]?.id ?? '' } }), (seen) => seen.some((e) => e.event === 'end'));
    expect(resumed.map((e) => e.event)).toEqual(['log', 'end']);
    expect((JSON.parse(resumed[0]?.data ?? '{}') as { text: string }).text).toBe('second line\n');
  });

  it('tell every listener of /api/v1/events when a UPS goes on battery', async () => {
    const response = await page(`${API_PREFIX}/events`);
    const started = Date.now();
    setTimeout(() => saveWatchState(db, { upsId: 1, at: new Date().toISOString(), okAt: new Date().toISOString(), error: null, status: 'OL CHRG', charge: 88, runtime: 1600, load: 20, inputVoltage: 230, detector: '{}' }), 400);
    const events = await readEvents(response, (seen) => seen.some((e) => e.event === 'change'));
    const ups = events.find((e) => e.event === 'ups');
    expect(JSON.parse(ups?.data ?? '{}')).toMatchObject({ ups: 'rack', status: 'OL CHRG', charge: 88 });
    expect((ups?.at ?? Infinity) - started).toBeLessThan(2000);
  });
  it('an operation page follows a running log from where its copy ends, in characters as SQLite counts them', async () => {
    const id = startOperation(db, { kind: 'hardware', target: 'home' });
    appendLog(db, id, 'é🙂 line\n');
    const html = await (await page(`/operations/${id}`)).text();
    // One newline after <pre>: HTML drops it, so a log's own first newline stays.
    expect(html).toContain(`data-operation-log="${id}" data-log-offset="8" data-running="true">\né🙂 line\n</pre>`);
    const response = await page(`${API_PREFIX}/operations/${id}/events?from=8`);
    setTimeout(() => {
      appendLog(db, id, 'next\n');
      finishOperation(db, id, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok', recap: { pi1: { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 } } });
    }, 300);
    const events = await readEvents(response, (seen) => seen.some((e) => e.event === 'end'));
    expect(events.map((e) => [e.event, (JSON.parse(e.data) as { text?: string }).text])).toEqual([['log', 'next\n'], ['end', undefined]]);
    const summary = await (await page(`/fragments/operations/${id}/summary`)).text();
    expect(summary).toContain('data-operation-status>succeeded');
    expect(summary).toMatch(/<td>pi1<\/td><td>2<\/td><td>1<\/td>/);
    expect(await (await page(`/operations/${id}`)).text()).toContain('data-running="false"');
  });
});
