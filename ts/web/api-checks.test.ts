// Fleet health through /api/v1/checks, in-process against a real SQLite file: the latest state
// per subject, the history with its deliveries (to a real HTTP server on loopback), notifiers with
// a write-only webhook URL that no answer repeats; /api/v1/health stays the liveness probe.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCluster, insertNode } from '../fleet/index.js';
import type { CheckResult } from '../health/checks.js';
import { notifyEvents } from '../health/notify.js';
import { recordResults } from '../health/store.js';
import { json, webFixture, type WebFixture } from '../test-support/web.js';

let web: WebFixture;
let server: Server;
let hook = '';
const bodies: unknown[] = [];

const check = (id: string, status: CheckResult['status'], over: Partial<CheckResult> = {}): CheckResult => ({
  id, scope: 'node', subject: 'pi1', severity: 'critical', status, summary: `${id} ${status}`, evidence: '', fix: status === 'pass' ? null : 'sudo microk8s start', cheap: true, ...over,
});

beforeAll(async () => {
  web = webFixture();
  addCluster(web.db, { name: 'home' });
  insertNode(web.db, { hostname: 'pi1', address: '192.168.1.11', sshUser: 'ubuntu', cluster: 'home', role: 'control-plane' }, null);
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/s3cr3t-t0ken`;
});

afterAll(async () => {
  web.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('/api/v1/checks', () => {
  it('adds a webhook notifier (admin only) whose URL no answer repeats; refuses a bad one without echoing it', async () => {
    const { call, tokens } = web;
    expect((await call('POST', '/checks/notifiers', { token: tokens.operate, body: { name: 'hook', webhook: hook } })).status).toBe(403);
    const added = await call('POST', '/checks/notifiers', { token: tokens.admin, body: { name: 'hook', webhook: hook, timeout: 5 } });
    expect(added.status).toBe(201);
    const text = await added.text();
    expect(text).not.toContain('s3cr3t');
    expect(JSON.parse(text)).toMatchObject({ notifier: { name: 'hook', kind: 'webhook', url: `${new URL(hook).origin}/…`, argv: null, timeout: 5 } });
    const bad = await call('POST', '/checks/notifiers', { token: tokens.admin, body: { name: 'bad', webhook: 'ftp://x/s3cr3t-2' } });
    const badText = await bad.text();
    expect(bad.status).toBe(400);
    expect(badText).not.toContain('s3cr3t');
    expect(JSON.parse(badText)).toMatchObject({ field: 'webhook', error: expect.stringMatching(/^invalid --webhook: must be an http/) });
    expect(await json(await call('POST', '/checks/notifiers', { token: tokens.admin, body: { name: 'x', command: '/bin/true', extra: 1 } }))).toMatchObject({ field: 'extra' });
    expect((await call('POST', '/checks/notifiers', { token: tokens.admin, body: { name: 'hook', command: '/bin/true' } })).status).toBe(409);
    const listed = await call('GET', '/checks/notifiers', { token: tokens.read });
    expect(await listed.clone().text()).not.toContain('s3cr3t');
    expect(((await json(listed))['notifiers'] as { name: string }[]).map((n) => n.name)).toEqual(['hook']);
  });

  it('shows the latest state per subject and every check, and the history with how each event was delivered', async () => {
    const { call, tokens, db, dir } = web;
    recordResults(db, [check('microk8s.services', 'pass'), check('dqlite.quorum', 'pass', { scope: 'cluster', subject: 'home' })], { operationId: null });
    const events = recordResults(db, [check('microk8s.services', 'fail'), check('dqlite.quorum', 'pass', { scope: 'cluster', subject: 'home' })], { operationId: null });
    await notifyEvents(db, dir, events);
    expect(bodies).toHaveLength(1);

    const latest = await json(await call('GET', '/checks', { token: tokens.read }));
    expect(latest['subjects']).toEqual([
      expect.objectContaining({ scope: 'cluster', subject: 'home', status: 'pass', checks: 1, notPassing: [] }),
      expect.objectContaining({ scope: 'node', subject: 'pi1', status: 'fail', checks: 1, notPassing: ['microk8s.services'] }),
    ]);
    expect((await json(await call('GET', '/checks?subject=pi1', { token: tokens.read })))['checks']).toEqual([expect.objectContaining({ id: 'microk8s.services', status: 'fail', fix: 'sudo microk8s start' })]);

    const history = await json(await call('GET', '/checks/history?subject=pi1', { token: tokens.read }));
    expect(history['events']).toEqual([expect.objectContaining({ check: 'microk8s.services', from: 'pass', to: 'fail', deliveries: [expect.objectContaining({ notifier: 'hook', ok: true, detail: 'HTTP 200' })] })]);
    expect((await call('GET', '/checks/history?limit=0', { token: tokens.read })).status).toBe(400);
    expect((await call('GET', '/checks/notifiers', { token: '' })).status).toBe(401);
  });

  it('leaves /api/v1/health as the liveness probe, and documents the new routes', async () => {
    const { call, tokens } = web;
    expect(await json(await call('GET', '/health', { token: tokens.read }))).toMatchObject({ ok: true, watcher: { running: false } });
    const doc = (await json(await call('GET', '/openapi.json', { token: tokens.read }))) as { paths: Record<string, Record<string, { 'x-mko-scope': string }>> };
    expect(doc.paths['/api/v1/checks']?.['get']?.['x-mko-scope']).toBe('read');
    expect(doc.paths['/api/v1/checks/run']?.['post']?.['x-mko-scope']).toBe('operate');
    expect(doc.paths['/api/v1/checks/notifiers/{notifier}']?.['delete']?.['x-mko-scope']).toBe('admin');
  });

  it('removes a notifier only when confirmed, and its URL leaves the secrets file', async () => {
    const { call, tokens, dir } = web;
    expect(await json(await call('DELETE', '/checks/notifiers/hook', { token: tokens.admin, body: {} }))).toMatchObject({ field: 'confirm' });
    expect(readFileSync(path.join(dir, 'secrets', 'secrets.json'), 'utf8')).toContain('s3cr3t-t0ken');
    expect(await json(await call('DELETE', '/checks/notifiers/hook', { token: tokens.admin, body: { confirm: true } }))).toEqual({ removed: 'hook' });
    expect(readFileSync(path.join(dir, 'secrets', 'secrets.json'), 'utf8')).not.toContain('s3cr3t');
    expect((await call('DELETE', '/checks/notifiers/hook', { token: tokens.admin, body: { confirm: true } })).status).toBe(404);
  });
});
