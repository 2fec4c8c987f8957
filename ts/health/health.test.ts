// The health store and notifiers on a real SQLite file: state changes make exactly one event each,
// nothing changed makes none; notifications run a real command (event JSON on stdin, no shell) and
// POST to a real HTTP server on loopback; a failing notifier is recorded and the others still run;
// a webhook URL stays in the secrets file, out of the database and of every recorded detail.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, insertNode } from '../fleet/index.js';
import { dumpDb } from '../test-support/db-dump.js';
import type { CheckResult } from './checks.js';
import { addNotifier, listNotifiers, removeNotifier } from './notifiers.js';
import { MAX_ATTEMPTS, notifyEvents, type HealthMessage } from './notify.js';
import { latestStates, listHealthEvents, recordResults, subjectHealth } from './store.js';

const result = (over: Partial<CheckResult> & Pick<CheckResult, 'id' | 'status'>): CheckResult => ({
  scope: 'node',
  subject: 'pi1',
  severity: 'critical',
  summary: `${over.id} is ${over.status}`,
  evidence: '',
  fix: over.status === 'pass' ? null : 'microk8s start',
  cheap: true,
  ...over,
});

let dir: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-health-'));
  db = openDb(path.join(dir, 'mko.db'));
  addCluster(db, { name: 'home' });
  insertNode(db, { hostname: 'pi1', address: '192.168.1.11', sshUser: 'ubuntu', cluster: 'home', role: 'control-plane' }, null);
  insertNode(db, { hostname: 'pi2', address: '192.168.1.12', sshUser: 'ubuntu', cluster: 'home' }, null);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('recordResults: latest state and events', () => {
  it('a first pass that passes records states but no event; a new failing check is one event', () => {
    const first = recordResults(db, [result({ id: 'microk8s.services', status: 'pass' }), result({ id: 'ssh.sudo', status: 'pass' })], { operationId: null, at: new Date('2026-01-01T00:00:00Z') });
    expect(first).toEqual([]);
    expect(latestStates(db).map((s) => [s.subject, s.id, s.status, s.since])).toEqual([
      ['pi1', 'microk8s.services', 'pass', '2026-01-01T00:00:00.000Z'],
      ['pi1', 'ssh.sudo', 'pass', '2026-01-01T00:00:00.000Z'],
    ]);
    const second = recordResults(db, [result({ id: 'certs.expiry', status: 'warn', subject: 'pi2' })], { operationId: null });
    expect(second).toMatchObject([{ subject: 'pi2', check: 'certs.expiry', from: null, to: 'warn' }]);
  });

  it('pass -> fail -> fail -> pass: one event per change, none while nothing changes; since follows the status', () => {
    const at = (s: string) => ({ operationId: null, at: new Date(s) });
    recordResults(db, [result({ id: 'microk8s.services', status: 'pass' })], at('2026-01-01T00:00:00Z'));
    const down = recordResults(db, [result({ id: 'microk8s.services', status: 'fail', summary: 'snap.microk8s.daemon-kubelite is inactive' })], at('2026-01-01T00:05:00Z'));
    expect(down).toMatchObject([{ check: 'microk8s.services', from: 'pass', to: 'fail', summary: 'snap.microk8s.daemon-kubelite is inactive', fix: 'microk8s start' }]);
    expect(recordResults(db, [result({ id: 'microk8s.services', status: 'fail', summary: 'still down' })], at('2026-01-01T00:10:00Z'))).toEqual([]);
    const [state] = latestStates(db);
    expect(state).toMatchObject({ status: 'fail', since: '2026-01-01T00:05:00.000Z', checkedAt: '2026-01-01T00:10:00.000Z', summary: 'still down' });
    const up = recordResults(db, [result({ id: 'microk8s.services', status: 'pass' })], at('2026-01-01T00:15:00Z'));
    expect(up).toMatchObject([{ from: 'fail', to: 'pass' }]);
    expect(latestStates(db)[0]).toMatchObject({ status: 'pass', since: '2026-01-01T00:15:00.000Z' });
    expect(listHealthEvents(db).map((e) => `${e.from}->${e.to}`)).toEqual(['fail->pass', 'pass->fail']);
  });

  it('a cluster check from several members counts once, with its worst status', () => {
    const quorum = (status: CheckResult['status']) => result({ id: 'dqlite.quorum', scope: 'cluster', subject: 'home', status });
    const events = recordResults(db, [quorum('pass'), quorum('fail'), quorum('pass')], { operationId: null });
    expect(events).toHaveLength(1);
    expect(latestStates(db, { subject: 'home' })).toMatchObject([{ scope: 'cluster', status: 'fail' }]);
  });

  it('latest states name subjects still in the fleet; subjectHealth sums them up worst first', () => {
    recordResults(db, [result({ id: 'a', status: 'warn' }), result({ id: 'b', status: 'fail' }), result({ id: 'c', status: 'pass' }), result({ id: 'a', status: 'pass', subject: 'gone' })], { operationId: null });
    const summary = subjectHealth(latestStates(db));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ scope: 'node', subject: 'pi1', status: 'fail', checks: 3 });
    expect(summary[0]?.notPassing.map((s) => s.id)).toEqual(['b', 'a']);
  });

  it('a node that could not report is one event (ssh.reachable); when it reports in full again, that check passes', () => {
    const full = [result({ id: 'microk8s.services', status: 'pass' }), result({ id: 'ssh.sudo', status: 'pass' })];
    recordResults(db, full, { operationId: null });
    const off = recordResults(db, [result({ id: 'ssh.reachable', status: 'fail', summary: 'cannot reach pi1 over SSH' })], { operationId: null });
    expect(off.map((e) => [e.check, e.from, e.to])).toEqual([['ssh.reachable', null, 'fail']]);
    expect(latestStates(db).find((s) => s.id === 'microk8s.services')?.status).toBe('pass');
    expect(recordResults(db, [result({ id: 'ssh.reachable', status: 'fail' })], { operationId: null })).toEqual([]);
    const back = recordResults(db, full, { operationId: null });
    expect(back.map((e) => [e.check, e.from, e.to])).toEqual([['ssh.reachable', 'fail', 'pass']]);
    expect(back[0]?.summary).toBe('ssh.reachable no longer reported: pi1 reports in full again');
    expect(recordResults(db, full, { operationId: null })).toEqual([]);
  });

  it('refuses a status that is none of the four, and then stores nothing', () => {
    expect(() => recordResults(db, [result({ id: 'a', status: 'broken' as never })], { operationId: null })).toThrow(/status broken is none of pass, warn, fail, unknown/);
    expect(latestStates(db)).toEqual([]);
  });
});

describe('notifications: a real command and a real webhook on loopback', () => {
  let server: Server;
  let url = '';
  const received: { path: string; body: HealthMessage; type: string | undefined }[] = [];
  let status = 204;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(text) as HealthMessage, type: req.headers['content-type'] });
        res.statusCode = status;
        res.end(status >= 400 ? `nope, token ${req.url ?? ''} refused` : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    status = 204;
  });

  it('runs the command with the event on stdin (arguments as stored, no shell) and POSTs it to the webhook', async () => {
    const out = path.join(dir, 'stdin.json');
    const script = path.join(dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\ncat > "$1"\nprintf '%s|' "$@" > "$1.args"\necho delivered\n`);
    chmodSync(script, 0o755);
    addNotifier(db, dir, { name: 'cmd', command: script, args: [out, '$(touch pwned)', '; rm -rf /'] });
    addNotifier(db, dir, { name: 'hook', webhook: `${url}/hooks/s3cr3t-token?key=abc123` });
    const events = recordResults(db, [result({ id: 'microk8s.services', status: 'fail' })], { operationId: null });
    const deliveries = await notifyEvents(db, dir, events);
    expect(deliveries.map((d) => [d.notifier, d.ok])).toEqual([
      ['cmd', true],
      ['hook', true],
    ]);
    const sent = JSON.parse(readFileSync(out, 'utf8')) as HealthMessage;
    expect(sent).toMatchObject({ source: 'mko', type: 'health.event', text: 'node pi1: microk8s.services new -> fail: microk8s.services is fail', event: { id: events[0]?.id, from: null, to: 'fail', subject: 'pi1' } });
    expect(readFileSync(`${out}.args`, 'utf8')).toBe(`${out}|$(touch pwned)|; rm -rf /|`);
    expect(received).toEqual([{ path: '/hooks/s3cr3t-token?key=abc123', body: sent, type: 'application/json' }]);
    expect(listNotifiers(db).map((n) => [n.name, n.lastOk, n.lastDetail])).toEqual([
      ['cmd', true, 'exit 0: delivered'],
      ['hook', true, 'HTTP 204'],
    ]);
  });

  it('a failing notifier is recorded, the others still run, and no detail repeats the webhook URL', async () => {
    status = 500;
    addNotifier(db, dir, { name: 'missing', command: path.join(dir, 'no-such-program') });
    addNotifier(db, dir, { name: 'exit3', command: '/bin/sh', args: ['-c', 'echo oops >&2; exit 3'] });
    addNotifier(db, dir, { name: 'hook', webhook: `${url}/hooks/s3cr3t-token` });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    addNotifier(db, dir, { name: 'nobody', webhook: `http://127.0.0.1:${closedPort}/t0p-secret-path`, timeout: 5 });
    addNotifier(db, dir, { name: 'slow', command: '/bin/sleep', args: ['30'], timeout: 1 });
    const events = recordResults(db, [result({ id: 'a', status: 'fail' }), result({ id: 'b', status: 'warn' })], { operationId: null });
    const deliveries = await notifyEvents(db, dir, events);
    expect(deliveries).toHaveLength(10);
    expect(deliveries.every((d) => !d.ok)).toBe(true);
    const byName = Object.fromEntries(listNotifiers(db).map((n) => [n.name, n.lastDetail]));
    expect(byName['missing']).toMatch(/^could not run .*no-such-program/);
    expect(byName['exit3']).toBe('exit 3: oops');
    expect(byName['hook']).toBe('HTTP 500: nope, token <redacted> refused');
    expect(byName['nobody']).toBe(`POST to http://127.0.0.1:${closedPort}/… failed: connect ECONNREFUSED 127.0.0.1:${closedPort}`);
    expect(byName['slow']).toMatch(/^stopped after 1 s/);
    expect(received).toHaveLength(2);
    const dump = dumpDb(db);
    expect(dump).not.toContain('s3cr3t');
    expect(dump).not.toContain('t0p-secret');
    expect(readFileSync(path.join(dir, 'secrets', 'secrets.json'), 'utf8')).toContain('s3cr3t-token');
  }, 60_000);

  it('the next passes try a failed delivery again, up to MAX_ATTEMPTS and for a day; an event a stopped pass never sent goes with the next; a notifier added later gets no history', async () => {
    status = 500;
    addNotifier(db, dir, { name: 'hook', webhook: `${url}/hooks/s3cr3t-token` });
    // Each pass reports every check so far (a check a pass leaves out counts as resolved).
    const reported: CheckResult[] = [result({ id: 'microk8s.services', status: 'fail' })];
    const [down] = recordResults(db, reported, { operationId: null });
    const sent = async (events = [] as never[]) => (await notifyEvents(db, dir, events)).map((d) => [d.eventId, d.ok, d.retry]);
    expect(await sent([down] as never[])).toEqual([[down?.id, false, false]]);
    // The next pass, nothing new: the webhook is still down, then back.
    expect(await sent()).toEqual([[down?.id, false, true]]);
    status = 204;
    expect(await sent()).toEqual([[down?.id, true, true]]);
    expect(received.map((r) => r.body.event.id)).toEqual([down?.id, down?.id, down?.id]);
    expect(await sent()).toEqual([]);

    // Down for good: tried MAX_ATTEMPTS times in all, then left alone.
    status = 500;
    reported.push(result({ id: 'disk.space', status: 'fail' }));
    const [disk, ...none] = recordResults(db, reported, { operationId: null });
    expect(none).toEqual([]);
    await notifyEvents(db, dir, disk ? [disk] : []);
    for (let i = 1; i < MAX_ATTEMPTS; i++) expect(await sent()).toEqual([[disk?.id, false, true]]);
    expect(await sent()).toEqual([]);

    // Recorded by a pass that stopped before sending: the next pass sends it.
    status = 204;
    reported.push(result({ id: 'dqlite.quorum', scope: 'cluster', subject: 'home', status: 'fail' }));
    const [quorum] = recordResults(db, reported, { operationId: null });
    expect(await sent()).toEqual([[quorum?.id, true, true]]);

    // A day later an undelivered event is not worth sending any more.
    reported.push(result({ id: 'clock.skew', status: 'warn' }));
    const [old] = recordResults(db, reported, { operationId: null, at: new Date(Date.now() - 25 * 3_600_000) });
    db.prepare("UPDATE health_notifiers SET created_at = '2020-01-01T00:00:00.000Z'").run();
    expect(old).toBeDefined();
    expect(await sent()).toEqual([]);

    // A notifier added now is sent what happens from now on, not the earlier events.
    addNotifier(db, dir, { name: 'late', command: '/bin/true' });
    expect(await sent()).toEqual([]);
  }, 60_000);

  it('removing a webhook notifier takes its URL out of the secrets file', () => {
    addNotifier(db, dir, { name: 'hook', webhook: `${url}/hooks/s3cr3t-token` });
    removeNotifier(db, dir, 'hook');
    expect(readFileSync(path.join(dir, 'secrets', 'secrets.json'), 'utf8')).not.toContain('s3cr3t');
    expect(listNotifiers(db)).toEqual([]);
  });

  it('refuses a malformed webhook without repeating it, and both kinds at once', () => {
    expect(() => addNotifier(db, dir, { name: 'x', webhook: 'ftp://h/s3cr3t' })).toThrow(/^invalid --webhook: must be an http/);
    expect(() => addNotifier(db, dir, { name: 'x', webhook: 'ftp://h/s3cr3t' })).not.toThrow(/s3cr3t/);
    expect(() => addNotifier(db, dir, { name: 'x', command: '/bin/true', webhook: `${url}/a` })).toThrow(/one of the two/);
    expect(() => addNotifier(db, dir, { name: 'x', command: '{{ lookup("pipe", "id") }}' })).toThrow(/invalid --command/);
    expect(listNotifiers(db)).toEqual([]);
  });
});
