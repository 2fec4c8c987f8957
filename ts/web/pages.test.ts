// The web pages and the live streams in-process, against a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster } from '../fleet/index.js';
import { appendLog, finishOperation, startOperation } from '../ops/index.js';
import { addUps } from '../power/index.js';
import { saveWatchState } from '../power/store.js';
import { addNode } from '../ssh/index.js';
import { API_PREFIX, createApp } from './app.js';
import { createToken } from './tokens.js';

let dir: string;
let db: Db;
let app: ReturnType<typeof createApp>;
let token: string;
let cookie: string;

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
});

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
    expect(html).toMatch(/data-ups="rack"[^]*ON BATTERY[^]*87 %[^]*read \d+ s ago/);
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

  it('serve the operations list with filters and the refreshable parts alone', async () => {
    const html = await (await page('/operations?status=succeeded')).text();
    expect(html).toContain('<option value="succeeded" selected>');
    const fragment = await (await page('/fragments/dashboard')).text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('data-ups="rack"');
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
});
