// mko health watch end to end, through the built CLI against a real lab cluster (one control-plane
// node; MicroK8s there is the lab's test double, whose `microk8s stop` stops its systemd units as
// the snap does). The cheap checks run through mko doctor's playbook; a check that goes from pass
// to fail (MicroK8s stopped, the FORWARD policy set to DROP) is one health event, sent to a real
// command (the event JSON on its stdin) and POSTed to a real HTTP server on loopback; a pass that
// changes nothing records nothing and sends nothing; the repair is another event. The loop mode
// runs passes until SIGTERM.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';
import type { HealthMessage } from './notify.js';
import type { HealthPass } from './watch.js';
import { openDb } from '../db/index.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('hlw');
const NODE = `${LAB}-n1`;

interface LabJson {
  adminKey: string;
  knownHosts: string;
  hosts: { hostname: string; address: string }[];
}

describe.skipIf(!isRoot)('mko health watch on a lab cluster (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let lab: LabJson;
  let server: Server;
  const posted: { path: string; body: HealthMessage }[] = [];
  const run = (...args: string[]) => execa(mkoBin, args, { env: { MKO_DB: dbPath }, reject: false, all: true, stdin: 'ignore', timeout: 600_000 });
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    expect(r.exitCode, `mko ${args.join(' ')}\n${r.all?.slice(-4000) ?? ''}`).toBe(0);
    return r.stdout;
  };
  const pass = async (): Promise<HealthPass> => JSON.parse(await ok('health', 'watch', '--once', '--json')) as HealthPass;
  const onNode = async (command: string) => {
    const address = lab.hosts.find((h) => h.hostname === NODE)?.address ?? '';
    const r = await execa('ssh', ['-i', lab.adminKey, '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${address}`, command], { reject: false, timeout: 120_000, stdin: 'ignore' });
    expect(r.exitCode, `${command}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const commandLog = () => path.join(dir, 'command-events.jsonl');
  const commandEvents = (): HealthMessage[] =>
    existsSync(commandLog()) ? readFileSync(commandLog(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as HealthMessage) : [];

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-health-lab-'));
    dbPath = path.join(dir, 'mko.db');
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        posted.push({ path: req.url ?? '', body: JSON.parse(text) as HealthMessage });
        res.statusCode = 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await run('lab', 'down', '--name', LAB);
    await ok('lab', 'up', '--name', LAB, '--nodes', '1');
    lab = JSON.parse(await ok('lab', 'status', '--name', LAB, '--json')) as LabJson;
    await ok('cluster', 'setup', LAB);

    const script = path.join(dir, 'notify.sh');
    writeFileSync(script, '#!/bin/sh\n# the event, one JSON document on stdin, appended as one line\ncat >> "$1"\necho >> "$1"\n');
    chmodSync(script, 0o755);
    await ok('health', 'notify', 'add', 'log', '--command', script, `--arg=${commandLog()}`);
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/s3cr3t-t0ken`;
    const added = await execa(mkoBin, ['health', 'notify', 'add', 'hook', '--webhook', '-'], { env: { MKO_DB: dbPath }, input: `${hook}\n`, reject: false });
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toBe(`Added notifier hook: POST http://127.0.0.1:${(server.address() as AddressInfo).port}/…`);
  }, 900_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('a first pass stores every cheap check as a health operation; a second, with nothing changed, records and sends nothing, and forgets the first run once it is older than --keep', async () => {
    const first = await pass();
    expect(first.targets).toEqual([{ target: LAB, operationId: expect.any(Number), checks: expect.any(Number), error: null }]);
    expect(first.targets[0]?.checks).toBeGreaterThan(3);
    const operation = JSON.parse(await ok('operation', 'show', String(first.targets[0]?.operationId), '--json')) as { kind: string; status: string };
    expect(operation.kind).toBe('health');
    expect(first.pruned).toBe(0);
    const states = JSON.parse(await ok('health', 'show', NODE, '--json')) as { id: string; status: string; since: string }[];
    expect(states.find((s) => s.id === 'microk8s.services')).toMatchObject({ status: 'pass' });
    expect(states.every((s) => s.id !== 'certs.expiry')).toBe(true);
    // Whatever the lab host lacks (a real NIC for Wake-on-LAN, say) is new and not passing: its events, sent once.
    expect(first.deliveries).toHaveLength(first.events.length * 2);
    expect(first.events.every((e) => e.from === null && e.to !== 'pass')).toBe(true);
    const sentBefore = { command: commandEvents().length, webhook: posted.length };
    expect(sentBefore).toEqual({ command: first.events.length, webhook: first.events.length });

    // The first run finished 8 days ago, as far as the database knows: past the default --keep 7d.
    const firstRun = first.targets[0]?.operationId;
    const db = openDb(dbPath);
    try {
      db.prepare("UPDATE operations SET started_at = '2020-01-01T00:00:00.000Z', finished_at = '2020-01-01T00:01:00.000Z' WHERE id = ?").run(firstRun);
    } finally {
      db.close();
    }
    const second = await pass();
    expect(second.pruned).toBe(1);
    expect((await run('operation', 'show', String(firstRun))).stderr).toBe(`mko: no operation ${firstRun}: see mko operation list`);
    expect(second.events).toEqual([]);
    expect(second.deliveries).toEqual([]);
    expect({ command: commandEvents().length, webhook: posted.length }).toEqual(sentBefore);
    expect((JSON.parse(await ok('health', 'show', NODE, '--json')) as { id: string; since: string }[]).map((s) => [s.id, s.since])).toEqual(states.map((s) => [s.id, s.since]));
  }, 600_000);

  it('MicroK8s stopped on the node: its services check and the cluster\'s quorum check go pass -> fail, one event each, to the command and the webhook; nothing more while it stays down', async () => {
    const sentBefore = { command: commandEvents().length, webhook: posted.length };
    await onNode('/snap/bin/microk8s stop');
    const down = await pass();
    // A one-node cluster with MicroK8s stopped has lost its only dqlite voter too: two checks, two events.
    expect(down.events.map((e) => [e.scope, e.subject, e.check, e.from, e.to])).toEqual([
      ['node', NODE, 'microk8s.services', 'pass', 'fail'],
      ['cluster', LAB, 'dqlite.quorum', 'pass', 'fail'],
    ]);
    expect(down.events[0]?.fix).toContain('microk8s start');
    expect(down.events[0]?.operationId).toBe(down.targets[0]?.operationId);
    expect(down.deliveries.map((d) => [d.eventId, d.notifier, d.ok])).toEqual(down.events.flatMap((e) => [[e.id, 'hook', true], [e.id, 'log', true]]));
    const byCommand = commandEvents().slice(sentBefore.command);
    const byWebhook = posted.slice(sentBefore.webhook);
    expect(byCommand.map((m) => m.event)).toEqual(down.events);
    expect(byCommand[0]).toEqual({ source: 'mko', type: 'health.event', text: expect.stringMatching(new RegExp(`^node ${NODE}: microk8s.services pass -> fail: `)), event: down.events[0] });
    expect(byWebhook).toEqual(byCommand.map((body) => ({ path: '/hook/s3cr3t-t0ken', body })));

    const shown = await ok('health');
    expect(shown).toMatch(new RegExp(`^node\\s+${NODE}\\s+FAIL\\s+\\d+\\s+\\S*microk8s\\.services`, 'm'));
    expect(shown).toMatch(new RegExp(`^cluster\\s+${LAB}\\s+FAIL\\s+\\d+\\s+dqlite\\.quorum`, 'm'));
    expect(shown).toMatch(new RegExp(`^${NODE}\\s+microk8s\\.services\\s+FAIL\\s+`, 'm'));

    const still = await pass();
    expect(still.events).toEqual([]);
    expect({ command: commandEvents().length, webhook: posted.length }).toEqual({ command: sentBefore.command + 2, webhook: sentBefore.webhook + 2 });
  }, 600_000);

  it('MicroK8s started again: the two checks go fail -> pass, sent too; history lists the changes with their notifications', async () => {
    await onNode('/snap/bin/microk8s start');
    await onNode('/snap/bin/microk8s status --wait-ready --timeout 120 >/dev/null');
    const up = await pass();
    expect(up.events.map((e) => [e.check, e.from, e.to])).toEqual([
      ['microk8s.services', 'fail', 'pass'],
      ['dqlite.quorum', 'fail', 'pass'],
    ]);
    expect(posted.slice(-2).map((p) => p.body.event)).toEqual(up.events);
    expect(commandEvents().slice(-2).map((m) => m.event)).toEqual(up.events);

    const history = JSON.parse(await ok('health', 'history', '--subject', NODE, '--check', 'microk8s.services', '--json')) as { from: string; to: string; deliveries: { notifier: string; ok: boolean }[] }[];
    expect(history.map((e) => [e.from, e.to, e.deliveries.map((d) => `${d.notifier}:${d.ok}`).join(',')])).toEqual([
      ['fail', 'pass', 'hook:true,log:true'],
      ['pass', 'fail', 'hook:true,log:true'],
    ]);
    const table = await ok('health', 'history', '--subject', NODE, '--check', 'microk8s.services');
    expect(table).toMatch(/^ID\s+AT\s+SCOPE\s+SUBJECT\s+CHECK\s+CHANGE\s+SUMMARY\s+NOTIFIED$/m);
    expect(table).toMatch(new RegExp(`\\bnode\\s+${NODE}\\s+microk8s\\.services\\s+fail -> pass\\s+.*hook ok, log ok$`, 'm'));
    // The webhook's token is in no output, operation or row.
    expect(await ok('health', 'notify', 'list')).not.toContain('s3cr3t');
    const raw = await execa('sqlite3', [dbPath, '.dump'], { reject: false });
    if (raw.exitCode === 0) expect(raw.stdout).not.toContain('s3cr3t');
  }, 600_000);

  it('iptables FORWARD set to DROP on the node: exactly one event (iptables.forward pass -> fail), and one back when it is ACCEPT again', async () => {
    expect((JSON.parse(await ok('health', 'show', NODE, '--json')) as { id: string; status: string }[]).find((c) => c.id === 'iptables.forward')).toMatchObject({ status: 'pass' });
    const sentBefore = { command: commandEvents().length, webhook: posted.length };
    await onNode('iptables -P FORWARD DROP');
    const dropped = await pass();
    expect(dropped.events.map((e) => [e.scope, e.subject, e.check, e.from, e.to, e.summary])).toEqual([['node', NODE, 'iptables.forward', 'pass', 'fail', 'FORWARD policy DROP: pods on other nodes cannot be reached; the fix lasts until a reboot unless iptables-persistent keeps it']]);
    expect(dropped.events[0]?.fix).toContain('sudo iptables -P FORWARD ACCEPT');
    expect(commandEvents().slice(sentBefore.command).map((m) => m.event)).toEqual(dropped.events);
    expect(posted.slice(sentBefore.webhook).map((p) => p.body.event)).toEqual(dropped.events);
    expect((await pass()).events).toEqual([]);
    await onNode('iptables -P FORWARD ACCEPT');
    const accepted = await pass();
    expect(accepted.events.map((e) => [e.check, e.from, e.to])).toEqual([['iptables.forward', 'fail', 'pass']]);
    expect({ command: commandEvents().length, webhook: posted.length }).toEqual({ command: sentBefore.command + 2, webhook: sentBefore.webhook + 2 });
  }, 600_000);

  it('without --once it runs a pass per interval until SIGTERM; the pass SIGTERM cuts off stores nothing; it says it stopped', async () => {
    const eventsBefore = JSON.parse(await ok('health', 'history', '--limit', '1000', '--json')) as unknown[];
    const sentBefore = { command: commandEvents().length, webhook: posted.length };
    const watcher = execa(mkoBin, ['health', 'watch', '--interval', '10s'], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true, forceKillAfterDelay: 60_000 });
    const lines: string[] = [];
    watcher.all?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    await pollUntil('two passes of the watch', 300_000, async () => lines.filter((l) => / checked /.test(l)).length >= 2, 500);
    // A pass takes longer than 10 s on this machine: the next one is already running, and is cut off.
    watcher.kill('SIGTERM');
    const ended = await watcher;
    expect(ended.exitCode, ended.all).toBe(143);
    expect(lines[0]).toMatch(/ watching the whole fleet every 10s \(pid \d+\)$/);
    const passes = lines.filter((l) => / checked /.test(l));
    expect(passes.slice(0, 2).every((l) => new RegExp(`checked ${LAB} \\(operation \\d+\\): \\d+ check\\(s\\), .*; 0 change\\(s\\)$`).test(l)), ended.all).toBe(true);
    expect(lines.at(-1)).toMatch(/ stopped$/);
    expect(JSON.parse(await ok('health', 'history', '--limit', '1000', '--json'))).toEqual(eventsBefore);
    expect({ command: commandEvents().length, webhook: posted.length }).toEqual(sentBefore);
    expect(JSON.parse(await ok('health', 'show', NODE, '--json'))).not.toContainEqual(expect.objectContaining({ id: 'diagnostics.run' }));
  }, 600_000);
});
