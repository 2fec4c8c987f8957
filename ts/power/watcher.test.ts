// End to end on this machine: the watcher polls a real upsd (dummy-ups driver, .dev file) over
// real TCP, stores into a real SQLite file, and the rules run real notify commands. The UPS's
// state changes by rewriting the .dev file; the driver and upsd are stopped and started for real.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { getOperation } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { powerFleet, sleep, waitFor, type PowerFleet } from '../test-support/power.js';
import { ONLINE, startUpsd, type UpsdFixture } from '../test-support/upsd.js';
import { FleetActionRunner } from './actions.js';
import { createRule, type RuleInput } from './rules.js';
import { listActions, listEvents, listSamples } from './store.js';
import { Watcher } from './watcher.js';

const isRoot = process.getuid?.() === 0;
// Short for the tests (upsmon's is 15 s), yet longer than a driver restart takes here (~3 s).
const DEAD_TIME_MS = 6000;
const ON_BATTERY = { ...ONLINE, 'ups.status': 'OB DISCHRG', 'battery.charge': 80, 'battery.runtime': 1500 };

describe.skipIf(!isRoot)('watcher against a real upsd', () => {
  let upsd: UpsdFixture;
  let dir: string;
  let dbPath: string;
  let db: Db;
  let fleet: PowerFleet;
  let watcher: Watcher | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    // MAXAGE 2: a paused driver makes upsd say DATA-STALE after 2 s.
    upsd = await startUpsd({ maxAge: 2 });
  });
  afterAll(async () => {
    await upsd?.stop();
  });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-watch-'));
    dbPath = path.join(dir, 'mko.db');
    db = openDb(dbPath);
    fleet = powerFleet(db, dir, { upsdPort: upsd.port });
    logs.length = 0;
  });

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    db.close();
    rmSync(dir, { recursive: true, force: true });
    upsd.resumeDriver();
    if (upsd.pids().length < 2) {
      await upsd.stopDriver();
      await upsd.stopUpsd();
      await upsd.startDriver();
      await upsd.startUpsd();
    }
    upsd.setVars(ONLINE);
    await upsd.waitForStatus('OL');
  });

  async function startWatcher(): Promise<Watcher> {
    watcher = new Watcher({
      db,
      runner: new FleetActionRunner({ db, dbPath, dataDir: dir }),
      deadTimeMs: DEAD_TIME_MS,
      backoffMs: { first: 200, max: 1000 },
      log: (line) => logs.push(line),
    });
    await watcher.start();
    return watcher;
  }

  const rule = (input: Partial<RuleInput> & { event: string; action: string }) => createRule(db, { ups: 'dummy', cluster: 'home', ...input });
  const kinds = () =>
    listEvents(db, { limit: 100 })
      .reverse()
      .map((e) => e.kind);
  const marker = (name: string) => path.join(dir, name);

  it('power loss: the rule runs a real command within 2 s of the .dev file changing; power back is an event too', async () => {
    rule({ event: 'power_loss', action: 'notify', command: `echo "$MKO_EVENT $MKO_UPS $MKO_CHARGE" > ${marker('lost')}.tmp && mv ${marker('lost')}.tmp ${marker('lost')}` });
    await startWatcher();
    const written = upsd.setVars(ON_BATTERY);
    await waitFor(() => existsSync(marker('lost')), 6000, 'the notify command');
    expect(readFileSync(marker('lost'), 'utf8')).toBe('power_loss dummy 80\n');
    const [action] = listActions(db);
    const started = Date.parse(getOperation(db, action?.operationId ?? 0).startedAt);
    const latency = started - written;
    process.stderr.write(`watcher: .dev written -> operation started in ${latency} ms\n`);
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(2500);
    upsd.setVars(ONLINE);
    await waitFor(() => kinds().includes('power_restored'), 6000, 'power_restored');
    expect(kinds()).toEqual(['power_loss', 'power_restored']);
    // The sampled history has the change both ways.
    expect(listSamples(db, fleet.ups.id, 100).map((s) => s.status)).toEqual(expect.arrayContaining(['OL', 'OB DISCHRG']));
  });

  it('a blip shorter than the delay cancels the delayed action, and says so', async () => {
    rule({ event: 'power_loss', action: 'notify', actionDelay: 5, command: `touch ${marker('late')}` });
    await startWatcher();
    upsd.setVars(ON_BATTERY);
    await waitFor(() => listActions(db).some((a) => a.status === 'pending'), 6000, 'the pending action');
    await sleep(1100);
    upsd.setVars(ONLINE);
    await waitFor(() => listActions(db).some((a) => a.status === 'cancelled'), 6000, 'the cancellation');
    await sleep(5000);
    expect(existsSync(marker('late'))).toBe(false);
    const [action] = listActions(db);
    expect(action?.status).toBe('cancelled');
    expect(action?.detail).toMatch(/^power returned \(event \d+\) \d+(\.\d)? s before its delay ended$/);
    expect(action?.operationId).toBeNull();
  });

  it('stale data and a lost driver shorter than the dead time trigger nothing, even on battery; longer while on battery is critical', async () => {
    rule({ event: 'critical_battery', action: 'notify', command: `touch ${marker('critical')}`, name: 'critical' });
    rule({ event: 'comm_lost', action: 'notify', command: `touch ${marker('comm')}`, name: 'comm' });
    rule({ event: 'power_loss', action: 'notify', command: 'true', name: 'loss' });
    await startWatcher();
    upsd.setVars(ON_BATTERY);
    await waitFor(() => kinds().includes('power_loss'), 6000, 'power_loss');
    // DATA-STALE: the paused driver sends nothing; upsd calls its data stale after MAXAGE (2 s).
    upsd.pauseDriver();
    await waitFor(() => listSamples(db, fleet.ups.id, 100).some((s) => s.error === 'DATA-STALE'), 6000, 'a DATA-STALE reading');
    upsd.resumeDriver();
    await upsd.waitForStatus('OB DISCHRG');
    // DRIVER-NOT-CONNECTED: the driver is gone for a moment.
    await upsd.stopDriver();
    await waitFor(() => listSamples(db, fleet.ups.id, 100).some((s) => s.error === 'DRIVER-NOT-CONNECTED'), 4000, 'a DRIVER-NOT-CONNECTED reading');
    await upsd.startDriver();
    await upsd.waitForStatus('OB DISCHRG');
    await sleep(1500);
    expect(kinds()).toEqual(['power_loss']);
    expect(existsSync(marker('critical')) || existsSync(marker('comm'))).toBe(false);
    // Gone for longer than the dead time while on battery: lost, and critical, as upsmon would judge it.
    await upsd.stopDriver();
    await waitFor(() => existsSync(marker('critical')) && existsSync(marker('comm')), DEAD_TIME_MS + 5000, 'the critical and comm_lost actions');
    expect(kinds()).toEqual(['power_loss', 'comm_lost', 'critical_battery']);
    await upsd.startDriver();
    await waitFor(() => kinds().includes('comm_restored'), 6000, 'comm_restored');
  });

  it('killing upsd while on line power starts nothing; the watcher reconnects when it is back', async () => {
    rule({ event: 'critical_battery', action: 'force_shutdown', name: 'critical-off' });
    rule({ event: 'power_loss', action: 'graceful_shutdown', name: 'loss-off' });
    await startWatcher();
    await waitFor(() => listSamples(db, fleet.ups.id).length > 0, 3000, 'a first sample');
    await upsd.stopUpsd();
    await waitFor(() => kinds().includes('comm_lost'), DEAD_TIME_MS + 5000, 'comm_lost');
    await sleep(1000);
    expect(kinds()).toEqual(['comm_lost']);
    expect(listActions(db)).toEqual([]);
    expect(logs.some((l) => /cannot connect to upsd at 127\.0\.0\.1:\d+: .*next try in/.test(l))).toBe(true);
    await upsd.startUpsd();
    await waitFor(() => kinds().includes('comm_restored'), 8000, 'comm_restored');
    expect(listActions(db)).toEqual([]);
    expect(logs.some((l) => /connected to upsd at 127\.0\.0\.1/.test(l))).toBe(true);
  });
});

describe.skipIf(!isRoot)('mko ups monitor, as a process', () => {
  let upsd: UpsdFixture;
  let dir: string;
  let dbPath: string;
  const children: ResultPromise[] = [];
  const mko = path.join(projectRoot, 'bin', 'mko');
  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });

  beforeAll(async () => {
    if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
    upsd = await startUpsd();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-monitor-'));
    dbPath = path.join(dir, 'mko.db');
    const db = openDb(dbPath);
    powerFleet(db, dir, { upsdPort: upsd.port });
    db.close();
  });
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      await child.catch(() => undefined);
    }
    await upsd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function startMonitor(): ResultPromise {
    const child = execa(mko, ['ups', 'monitor', 'start', '--dead-time', '3'], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true });
    children.push(child);
    return child;
  }

  it('a PID file whose PID now belongs to another process is stale: status says not running, stop signals nothing', async () => {
    // A process that got the watcher's PID after a reboot: same PID, another start.
    const stranger = execa('sleep', ['60']);
    children.push(stranger);
    const pid = stranger.pid ?? 0;
    writeFileSync(`${dbPath}.ups-monitor.pid`, JSON.stringify({ pid, pidStart: 'another-boot:1', startedAt: new Date().toISOString(), dbPath, intervalMs: 1000 }));
    expect((await run('ups', 'monitor', 'status')).stdout).toMatch(/^running: +no$/m);
    const stop = await run('ups', 'monitor', 'stop');
    expect(stop.exitCode, stop.stderr).toBe(0);
    await sleep(300);
    expect(() => process.kill(pid, 0)).not.toThrow();
    stranger.kill('SIGTERM');
    await stranger.catch(() => undefined);
    rmSync(`${dbPath}.ups-monitor.pid`, { force: true });
  });

  it('restarting the watcher in the middle of a delay does not lose the pending action', async () => {
    const out = path.join(dir, 'fired');
    expect((await run('ups', 'rules', 'create', 'dummy', 'home', 'power_loss', 'notify', '--action-delay', '6', '--name', 'later', '--command', `date +%s%N > ${out}.tmp && mv ${out}.tmp ${out}`)).exitCode).toBe(0);
    const first = startMonitor();
    await waitFor(() => existsSync(`${dbPath}.ups-monitor.pid`), 10_000, 'the PID file');
    const status = await run('ups', 'monitor', 'status');
    expect(status.stdout).toMatch(/^running: +yes \(pid \d+\)$/m);
    upsd.setVars(ON_BATTERY);
    const db = openDb(dbPath);
    let due: number;
    try {
      await waitFor(() => listActions(db, { status: 'pending' }).length === 1, 8000, 'a pending action');
      due = Date.parse(listActions(db, { status: 'pending' })[0]?.dueAt ?? '');
    } finally {
      db.close();
    }
    const stop = await run('ups', 'monitor', 'stop');
    expect(stop.stdout).toMatch(/^Stopped the UPS monitor \(pid \d+/);
    const firstRun = await first;
    expect(firstRun.all).toContain('stopping: pending actions stay scheduled for the next start');
    expect(existsSync(out)).toBe(false);
    expect((await run('ups', 'monitor', 'status')).stdout).toMatch(/^running: +no$/m);
    await sleep(1000);
    const second = startMonitor();
    await waitFor(() => existsSync(out), 10_000, 'the re-armed action');
    const firedAt = Number(readFileSync(out, 'utf8').trim()) / 1e6;
    // It fired at its own due time, not a whole delay after the restart.
    expect(Math.abs(firedAt - due)).toBeLessThan(1500);
    const actions = JSON.parse((await run('ups', 'actions', '--json')).stdout) as { status: string }[];
    expect(actions.map((a) => a.status)).toEqual(['succeeded']);
    await run('ups', 'monitor', 'stop');
    expect((await second).all).toMatch(/started \(pid \d+\): 1 pending action\(s\) re-armed, 0 run late, 0 expired, 0 interrupted/);
    upsd.setVars(ONLINE);
    await upsd.waitForStatus('OL');
  });
});
