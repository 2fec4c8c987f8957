// The rules engine with real timers (delays of a few hundred ms) and a real SQLite database. The
// runner records what it is asked to do and takes the time it is told; notify runs for real.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, updateCluster } from '../fleet/index.js';
import { UserError } from '../errors.js';
import { buildInventory } from '../inventory/build.js';
import { getOperation } from '../ops/index.js';
import { dumpDb } from '../test-support/db-dump.js';
import { powerFleet, RecordingRunner, sleep, waitFor, type PowerFleet } from '../test-support/power.js';
import { secretsFile } from '../secrets/index.js';
import { FleetActionRunner } from './actions.js';
import type { UpsEventKind } from './detect.js';
import { RulesEngine, type ActionRunner } from './engine.js';
import { createRule, getRule, setRuleEnabled, type RuleInput } from './rules.js';
import { getAction, listActions, recordEvent, type UpsEvent } from './store.js';
import { addUps, removeUps, updateUps, upsPasswords } from './ups.js';

let dir: string;
let db: Db;
let fleet: PowerFleet;
let engines: RulesEngine[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-power-'));
  db = openDb(':memory:');
  fleet = powerFleet(db, dir);
});

afterEach(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  engines = [];
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function engine(runner: ActionRunner, lateLimitMs?: number): RulesEngine {
  const e = new RulesEngine({ db, runner, ...(lateLimitMs !== undefined ? { lateLimitMs } : {}) });
  engines.push(e);
  return e;
}

function event(kind: UpsEventKind, extra: Partial<{ charge: number; threshold: number | null; status: string }> = {}): UpsEvent {
  return recordEvent(db, fleet.ups.id, { kind, status: extra.status ?? 'OB DISCHRG', charge: extra.charge ?? 80, runtime: 1200, threshold: extra.threshold ?? null, detail: 'test' });
}

function rule(input: Partial<RuleInput> & { event: string; action: string }) {
  return createRule(db, { ups: 'dummy', cluster: 'home', ...input });
}

describe('delays', () => {
  it('a delayed action waits its delay on a real timer', async () => {
    rule({ event: 'power_loss', action: 'graceful_shutdown', actionDelay: 0.3 });
    const runner = new RecordingRunner();
    const started = Date.now();
    engine(runner).handle(event('power_loss'));
    await waitFor(() => runner.calls.length === 1, 2000, 'the shutdown');
    const waited = (runner.calls[0]?.startedAt ?? 0) - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(700);
  });

  it('power coming back first cancels it, and the cancellation is recorded', async () => {
    const r = rule({ event: 'power_loss', action: 'graceful_shutdown', actionDelay: 0.3 });
    const runner = new RecordingRunner();
    const e = engine(runner);
    const [scheduled] = e.handle(event('power_loss'));
    await sleep(100);
    const back = event('power_restored', { status: 'OL CHRG' });
    e.handle(back);
    await sleep(400);
    expect(runner.calls).toEqual([]);
    const action = getAction(db, scheduled?.id ?? 0);
    expect(action.status).toBe('cancelled');
    expect(action.cancelledByEventId).toBe(back.id);
    expect(action.detail).toMatch(/^power returned \(event \d+\) 0\.\d s before its delay ended$/);
    const after = getRule(db, r.id);
    expect(after.executionCount).toBe(0);
    expect(after.lastResult).toMatch(/^cancelled: power returned/);
    expect(e.idle).toBe(true);
  });

  it('comm_restored cancels what comm_lost scheduled, not battery actions', async () => {
    rule({ event: 'comm_lost', action: 'notify', command: 'true', actionDelay: 0.3, name: 'on-comm' });
    rule({ event: 'power_loss', action: 'force_shutdown', actionDelay: 0.3, name: 'on-battery' });
    const runner = new RecordingRunner();
    const e = engine(runner);
    e.handle(event('power_loss'));
    e.handle(event('comm_lost'));
    e.handle(event('comm_restored'));
    await waitFor(() => runner.calls.length === 1, 2000);
    await sleep(100);
    expect(runner.calls.map((c) => c.rule)).toEqual(['on-battery']);
    expect(listActions(db, { status: 'cancelled' }).map((a) => a.rule)).toEqual(['on-comm']);
  });

  it('a rule disabled before its action falls due does not run it', async () => {
    const r = rule({ event: 'power_loss', action: 'startup', actionDelay: 0.2 });
    const runner = new RecordingRunner();
    const [scheduled] = engine(runner).handle(event('power_loss'));
    setRuleEnabled(db, r.name, false);
    await sleep(350);
    expect(runner.calls).toEqual([]);
    expect(getAction(db, scheduled?.id ?? 0)).toMatchObject({ status: 'cancelled', detail: 'the rule was disabled before the action was due' });
  });
});

describe('order', () => {
  it('larger priority first, one cluster action per cluster at a time, clusters side by side, notify beside them', async () => {
    rule({ event: 'power_loss', action: 'graceful_shutdown', priority: 1, name: 'home-low' });
    rule({ event: 'power_loss', action: 'wake_on_lan', priority: 10, name: 'home-high' });
    rule({ event: 'power_loss', action: 'scale_down', workloads: 'default/web', priority: 5, name: 'home-mid' });
    rule({ event: 'power_loss', action: 'force_shutdown', cluster: 'media', name: 'media-only' });
    rule({ event: 'power_loss', action: 'notify', command: 'true', priority: -5, name: 'home-notify' });
    const runner = new RecordingRunner((req) => (req.rule.action === 'notify' ? 0 : 200));
    engine(runner).handle(event('power_loss'));
    await waitFor(() => runner.calls.length === 5 && runner.calls.every((c) => c.endedAt !== null), 5000, 'five actions');
    const byRule = Object.fromEntries(runner.calls.map((c) => [c.rule, c]));
    const home = runner.calls.filter((c) => c.cluster === 'home' && c.action !== 'notify');
    expect(home.map((c) => c.rule)).toEqual(['home-high', 'home-mid', 'home-low']);
    for (let i = 1; i < home.length; i++) expect(home[i]?.startedAt).toBeGreaterThanOrEqual(home[i - 1]?.endedAt ?? Infinity);
    // Another cluster does not wait for home; notify does not wait either.
    expect(byRule['media-only']?.startedAt).toBeLessThan(byRule['home-high']?.endedAt ?? 0);
    expect(byRule['home-notify']?.startedAt).toBeLessThan(byRule['home-high']?.endedAt ?? 0);
    expect(getRule(db, 'home-mid')).toMatchObject({ executionCount: 1, lastResult: 'succeeded: recorded scale_down' });
  });

  it('a restore during a shutdown waits for the shutdown to finish, then starts up', async () => {
    rule({ event: 'power_loss', action: 'graceful_shutdown', name: 'off' });
    rule({ event: 'power_restored', action: 'startup', name: 'on' });
    const runner = new RecordingRunner((req) => (req.rule.action === 'graceful_shutdown' ? 500 : 50));
    const e = engine(runner);
    e.handle(event('power_loss'));
    await sleep(100);
    e.handle(event('power_restored', { status: 'OL' }));
    await waitFor(() => runner.calls.length === 2 && runner.calls.every((c) => c.endedAt !== null), 3000, 'shutdown then startup');
    const [off, on] = runner.calls;
    expect([off?.rule, on?.rule]).toEqual(['off', 'on']);
    expect(on?.startedAt).toBeGreaterThanOrEqual(off?.endedAt ?? Infinity);
    expect(listActions(db).map((a) => [a.rule, a.status])).toEqual([
      ['on', 'succeeded'],
      ['off', 'succeeded'],
    ]);
  });

  it('a queued shutdown that has not started is cancelled by the restore', async () => {
    rule({ event: 'power_loss', action: 'scale_down', workloads: 'default/web', priority: 10, name: 'shed' });
    rule({ event: 'power_loss', action: 'graceful_shutdown', priority: 1, name: 'off' });
    const runner = new RecordingRunner(() => 300);
    const e = engine(runner);
    e.handle(event('power_loss'));
    await sleep(100);
    e.handle(event('power_restored', { status: 'OL' }));
    await sleep(500);
    expect(runner.calls.map((c) => c.rule)).toEqual(['shed']);
    expect(getAction(db, listActions(db, { status: 'cancelled' })[0]?.id ?? 0).detail).toMatch(/while it waited for another action on cluster home/);
  });
});

describe('cluster settings', () => {
  it('an inactive cluster is left alone: its cluster actions are cancelled and say why, notify still runs', async () => {
    updateCluster(db, 'media', { active: false });
    rule({ event: 'power_loss', action: 'force_shutdown', cluster: 'media', name: 'media-off' });
    rule({ event: 'power_loss', action: 'notify', command: 'true', cluster: 'media', name: 'media-tell' });
    rule({ event: 'power_loss', action: 'force_shutdown', name: 'home-off' });
    const runner = new RecordingRunner();
    const e = engine(runner);
    e.handle(event('power_loss'));
    await waitFor(() => runner.calls.length === 2 && e.idle, 2000, 'home-off and media-tell');
    expect(runner.calls.map((c) => c.rule).sort()).toEqual(['home-off', 'media-tell']);
    const [skipped] = listActions(db, { status: 'cancelled' });
    expect(skipped).toMatchObject({ rule: 'media-off', detail: 'cluster media is inactive: mko leaves it alone (mko cluster update media --active to change that)' });
    expect(getRule(db, 'media-off')).toMatchObject({ executionCount: 0, lastResult: expect.stringMatching(/^cancelled: cluster media is inactive/) });
  });

  it('power-on between clusters goes one cluster at a time, lower cluster priority first; other actions do not wait', async () => {
    addCluster(db, { name: 'storage', priority: 10 });
    addCluster(db, { name: 'apps', priority: 200 });
    updateCluster(db, 'media', { priority: 50 });
    // Rule priority is the other way round, and orders only within a cluster: it does not win here.
    rule({ event: 'power_restored', action: 'startup', cluster: 'apps', priority: 99, name: 'apps-on' });
    rule({ event: 'power_restored', action: 'startup', name: 'home-on' });
    rule({ event: 'power_restored', action: 'wake_on_lan', cluster: 'media', name: 'media-wake' });
    rule({ event: 'power_restored', action: 'startup', cluster: 'storage', name: 'storage-on' });
    rule({ event: 'power_restored', action: 'notify', command: 'true', cluster: 'apps', name: 'apps-tell' });
    const runner = new RecordingRunner((req) => (req.rule.action === 'notify' ? 0 : 150));
    const e = engine(runner);
    e.handle(event('power_restored', { status: 'OL' }));
    await waitFor(() => runner.calls.length === 5 && runner.calls.every((c) => c.endedAt !== null), 5000, 'four power-ons and a notify');
    const powerOn = runner.calls.filter((c) => c.action !== 'notify');
    // storage 10, media 50, home 100 (the default), apps 200.
    expect(powerOn.map((c) => c.rule)).toEqual(['storage-on', 'media-wake', 'home-on', 'apps-on']);
    for (let i = 1; i < powerOn.length; i++) expect(powerOn[i]?.startedAt).toBeGreaterThanOrEqual(powerOn[i - 1]?.endedAt ?? Infinity);
    expect(runner.calls.find((c) => c.rule === 'apps-tell')?.startedAt).toBeLessThan(powerOn[0]?.endedAt ?? 0);
    const detail = (name: string): string => listActions(db).find((a) => a.rule === name)?.detail ?? '';
    expect(detail('storage-on')).toBe('recorded startup');
    expect(detail('media-wake')).toBe('waited for cluster storage (priority 10) to power on first; recorded wake_on_lan');
    expect(detail('apps-on')).toMatch(/^waited for cluster storage \(priority 10\) to power on first; .*recorded startup$/);
  });

  it('a power-on cancelled while it waited lets the next cluster go', async () => {
    addCluster(db, { name: 'storage', priority: 10 });
    rule({ event: 'comm_lost', action: 'graceful_shutdown', cluster: 'storage', name: 'storage-off' });
    rule({ event: 'comm_lost', action: 'startup', cluster: 'storage', name: 'storage-on' });
    rule({ event: 'power_loss', action: 'startup', name: 'home-on' });
    const runner = new RecordingRunner((req) => (req.rule.action === 'graceful_shutdown' ? 600 : 50));
    const e = engine(runner);
    e.handle(event('comm_lost'));
    e.handle(event('power_loss'));
    await sleep(100);
    // storage-on waits behind storage-off, home-on behind storage-on; comm_restored cancels storage-on.
    expect(runner.calls.map((c) => c.rule)).toEqual(['storage-off']);
    e.handle(event('comm_restored', { status: 'OL' }));
    await waitFor(() => runner.calls.some((c) => c.rule === 'home-on'), 2000, 'home-on');
    expect(runner.calls.find((c) => c.rule === 'home-on')?.startedAt).toBeLessThan(runner.calls[0]?.endedAt ?? Infinity);
  });
});

describe('once per outage', () => {
  it('a low_battery rule fires at its threshold, or at LB, once per outage', async () => {
    rule({ event: 'low_battery', action: 'notify', command: 'true', batteryThreshold: 50, name: 'at-50' });
    rule({ event: 'low_battery', action: 'notify', command: 'true', name: 'at-lb' });
    rule({ event: 'critical_battery', action: 'force_shutdown', name: 'critical' });
    const runner = new RecordingRunner();
    const e = engine(runner);
    e.handle(event('power_loss'));
    e.handle(event('low_battery', { threshold: 50, charge: 50 }));
    e.handle(event('low_battery', { threshold: null, status: 'OB LB', charge: 30 }));
    e.handle(event('critical_battery', { charge: 9 }));
    e.handle(event('critical_battery', { charge: 8 }));
    await sleep(100);
    expect(runner.calls.map((c) => c.rule).sort()).toEqual(['at-50', 'at-lb', 'critical']);
    e.handle(event('power_restored', { status: 'OL' }));
    e.handle(event('power_loss'));
    e.handle(event('low_battery', { threshold: null, status: 'OB LB', charge: 60 }));
    await sleep(100);
    expect(runner.calls.map((c) => c.rule).sort()).toEqual(['at-50', 'at-50', 'at-lb', 'at-lb', 'critical']);
  });
});

describe('restart', () => {
  it('a pending action survives an engine restart and fires at its original due time', async () => {
    rule({ event: 'power_loss', action: 'graceful_shutdown', actionDelay: 0.5 });
    const first = new RecordingRunner();
    const e1 = engine(first);
    const started = Date.now();
    const [scheduled] = e1.handle(event('power_loss'));
    await sleep(150);
    await e1.stop();
    expect(getAction(db, scheduled?.id ?? 0).status).toBe('pending');
    const second = new RecordingRunner();
    const report = engine(second).resume();
    expect(report.rearmed.map((a) => a.id)).toEqual([scheduled?.id]);
    await waitFor(() => second.calls.length === 1, 2000, 'the re-armed action');
    const at = (second.calls[0]?.startedAt ?? 0) - started;
    expect(at).toBeGreaterThanOrEqual(480);
    expect(at).toBeLessThan(900);
    expect(first.calls).toEqual([]);
  });

  it('an action that fell due while no engine ran runs late (and says so); a much older one expires; a running one is interrupted', async () => {
    rule({ event: 'power_loss', action: 'graceful_shutdown', actionDelay: 60, name: 'late' });
    rule({ event: 'power_loss', action: 'notify', command: 'true', actionDelay: 60, name: 'old' });
    rule({ event: 'power_loss', action: 'startup', name: 'was-running' });
    const [late, old, running] = engine(new RecordingRunner()).handle(event('power_loss'));
    await engines[0]?.stop();
    db.prepare("UPDATE power_actions SET due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 seconds') WHERE id = ?").run(late?.id);
    db.prepare("UPDATE power_actions SET due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours') WHERE id = ?").run(old?.id);
    db.prepare("UPDATE power_actions SET status = 'running' WHERE id = ?").run(running?.id);
    const runner = new RecordingRunner();
    const report = engine(runner, 600_000).resume();
    expect([report.late.length, report.expired.length, report.interrupted.length, report.rearmed.length]).toEqual([1, 1, 1, 0]);
    await waitFor(() => getAction(db, late?.id ?? 0).status === 'succeeded', 2000, 'the late action');
    expect(getAction(db, late?.id ?? 0).detail).toMatch(/^run 5(\.\d)? s late: it fell due while the watcher was not running; recorded graceful_shutdown$/);
    expect(getAction(db, old?.id ?? 0)).toMatchObject({ status: 'expired' });
    expect(getAction(db, old?.id ?? 0).detail).toMatch(/before the watcher came back \(limit 600 s\)/);
    expect(getAction(db, running?.id ?? 0)).toMatchObject({ status: 'interrupted' });
    expect(runner.calls.map((c) => c.rule)).toEqual(['late']);
  });
});

describe('notify runs a real command', () => {
  it('with the event in its environment, as an operation linked to the action', async () => {
    const out = path.join(dir, 'notified.txt');
    rule({ event: 'power_loss', action: 'notify', command: `env | grep ^MKO_ | sort > ${out}; echo said it`, name: 'tell' });
    rule({ event: 'power_restored', action: 'notify', command: 'echo nope >&2; exit 3', name: 'broken' });
    const e = engine(new FleetActionRunner({ db, dbPath: ':memory:', dataDir: dir }));
    const loss = event('power_loss', { charge: 77 });
    const [action] = e.handle(loss);
    await waitFor(() => getAction(db, action?.id ?? 0).status === 'succeeded', 5000, 'notify');
    const env = readFileSync(out, 'utf8');
    expect(env).toContain('MKO_EVENT=power_loss\n');
    expect(env).toContain('MKO_UPS=dummy\n');
    expect(env).toContain('MKO_CLUSTER=home\n');
    expect(env).toContain('MKO_CHARGE=77\n');
    expect(env).toContain(`MKO_EVENT_ID=${loss.id}\n`);
    const done = getAction(db, action?.id ?? 0);
    const op = getOperation(db, done.operationId ?? 0);
    expect(op).toMatchObject({ kind: 'power:notify', target: 'home', status: 'succeeded' });
    expect(op.log).toContain('said it');
    const [failed] = e.handle(event('power_restored', { status: 'OL' }));
    await waitFor(() => getAction(db, failed?.id ?? 0).status === 'failed', 5000, 'the failing notify');
    expect(getAction(db, failed?.id ?? 0).detail).toBe('the command exited with 3');
    expect(getRule(db, 'broken')).toMatchObject({ executionCount: 1, lastResult: expect.stringMatching(/^failed \(operation \d+\): the command exited with 3$/) });
  });
});

describe('rules input', () => {
  const bad: [string, Partial<RuleInput>, RegExp][] = [
    ['unknown event', { event: 'brownout', action: 'notify', command: 'true' }, /^invalid event "brownout": must be one of power_loss, /],
    ['unknown action', { event: 'power_loss', action: 'reboot' }, /^invalid action "reboot": must be one of graceful_shutdown, /],
    ['unknown UPS', { ups: 'nope', event: 'power_loss', action: 'startup' }, /^no UPS "nope": see mko ups list$/],
    ['unknown cluster', { cluster: 'nope', event: 'power_loss', action: 'startup' }, /^no cluster "nope": see mko cluster list$/],
    ['threshold over 100', { event: 'low_battery', action: 'startup', batteryThreshold: '101' }, /^invalid --battery-threshold 101: must be a whole percentage from 0 to 100$/],
    ['threshold under 0', { event: 'low_battery', action: 'startup', batteryThreshold: '-1' }, /^invalid --battery-threshold -1: must be a whole percentage/],
    ['threshold not a number', { event: 'low_battery', action: 'startup', batteryThreshold: 'half' }, /^invalid --battery-threshold "half": must be a whole percentage/],
    ['negative delay', { event: 'power_loss', action: 'startup', actionDelay: '-5' }, /^invalid --action-delay -5: must be seconds from 0 to 86400/],
    ['priority not an integer', { event: 'power_loss', action: 'startup', priority: '1.5' }, /^invalid --priority 1.5: must be an integer/],
    ['threshold on another event', { event: 'power_loss', action: 'startup', batteryThreshold: '20' }, /^--battery-threshold applies to low_battery rules only/],
    ['notify without a command', { event: 'power_loss', action: 'notify' }, /^missing --command/],
    ['scale without workloads', { event: 'power_loss', action: 'scale_down' }, /^missing --workloads/],
    ['bad workloads', { event: 'power_loss', action: 'scale_down', workloads: 'web' }, /^invalid --workloads "web": must be a comma-separated list of namespace\/name/],
    ['bad name', { event: 'power_loss', action: 'startup', name: 'a b' }, /^invalid --name "a b"/],
  ];

  it.each(bad)('%s: one line naming the flag, database unchanged', (_name, input, message) => {
    rule({ event: 'power_loss', action: 'startup', name: 'existing' });
    const before = dumpDb(db);
    const error = (() => {
      try {
        rule({ event: 'power_loss', action: 'startup', ...input } as RuleInput);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
    expect(dumpDb(db)).toBe(before);
  });

  it('a duplicate name is refused', () => {
    rule({ event: 'power_loss', action: 'startup', name: 'twice' });
    expect(() => rule({ event: 'power_restored', action: 'startup', name: 'TWICE' })).toThrow(/rule TWICE already exists/);
  });

  it('workloads are parsed and kept', () => {
    const r = rule({ event: 'power_loss', action: 'scale_down', workloads: 'default/web,media/statefulset/db' });
    expect(r.name).toBe('dummy-power-loss-scale-down');
    expect(r.options.workloads).toEqual([
      { namespace: 'default', kind: 'deployment', name: 'web' },
      { namespace: 'media', kind: 'statefulset', name: 'db' },
    ]);
  });
});

describe('UPS registry', () => {
  it('keeps passwords in the 0600 secrets file, never in the database, and the inventory lists the UPS host', () => {
    expect(dumpDb(db)).not.toContain('s3cret-pw');
    expect(upsPasswords(db, dir, fleet.ups).secondary).toBe('s3cret-pw');
    expect(upsPasswords(db, dir, fleet.ups).primary).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(statSync(secretsFile(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(secretsFile(dir))).mode & 0o777).toBe(0o700);
    const inventory = buildInventory(db, { dataDir: dir });
    expect(inventory['ups_hosts']).toMatchObject({ hosts: ['ups-host'] });
    expect(inventory._meta.hostvars['ups-host']?.['mko_ups']).toEqual({
      name: 'dummy',
      driver: 'dummy-ups',
      port: 'dummy.dev',
      description: '',
      driver_options: {},
      upsd_port: 3493,
      primary_user: 'upsmon_primary',
      secondary_user: 'upsmon_secondary',
    });
    expect(JSON.stringify(inventory)).not.toContain('s3cret-pw');
    removeUps(db, dir, 'dummy');
    expect(readFileSync(secretsFile(dir), 'utf8')).not.toContain('s3cret-pw');
  });

  it('update changes the driver, port, options, upsd port and description; the inventory says the new ones', () => {
    const ups = updateUps(db, 'dummy', { driver: 'blazer_usb', port: 'auto', driverOptions: { vendorid: '0665' }, upsdPort: '3494', description: 'rack <b>' });
    expect(ups).toMatchObject({ name: 'dummy', host: 'ups-host', driver: 'blazer_usb', port: 'auto', driverOptions: { vendorid: '0665' }, upsdPort: 3494, description: 'rack <b>' });
    expect(buildInventory(db, { dataDir: dir })._meta.hostvars['ups-host']?.['mko_ups']).toMatchObject({ driver: 'blazer_usb', port: 'auto', upsd_port: 3494, driver_options: { vendorid: '0665' } });
    expect(upsPasswords(db, dir, ups).secondary).toBe('s3cret-pw');
  });

  it.each([
    ['nothing', {}, /^nothing to change: give --driver, --port, --option, --upsd-port or --description$/],
    ['bad driver', { driver: 'rm -rf' }, /^invalid --driver "rm -rf"/],
    ['template in the port', { port: '{{x}}' }, /^invalid --port/],
    ['bad upsd port', { upsdPort: '0' }, /^invalid --upsd-port 0/],
    ['the host', { host: 'other' }, /host/],
  ])('update with %s is refused and changes nothing', (_name, changes, message) => {
    const before = dumpDb(db);
    expect(() => updateUps(db, 'dummy', changes as never)).toThrow(message);
    expect(dumpDb(db)).toBe(before);
  });

  it.each([
    ['bad name', { name: 'a b', host: 'ups-host' }, /^invalid UPS name "a b"/],
    ['unknown host', { name: 'u2', host: 'ghost' }, /^no node "ghost"/],
    ['host taken', { name: 'u2', host: 'ups-host' }, /^--host ups-host already runs UPS dummy: one UPS per host$/],
    ['bad driver', { name: 'u2', host: 'ups-host', driver: 'rm -rf' }, /^invalid --driver "rm -rf"/],
    ['password with a quote', { name: 'u2', host: 'ups-host', user: 'x', password: 'a"bcd' }, /^invalid --password: must be 4 to 64 printable/],
    ['password without user', { name: 'u2', host: 'ups-host', password: 'abcdef' }, /^--password needs --user/],
    ['bad upsd port', { name: 'u2', host: 'ups-host', upsdPort: '70000' }, /^invalid --upsd-port 70000/],
  ])('%s is refused and changes nothing', (_name, input, message) => {
    const before = dumpDb(db);
    const secretsBefore = existsSync(secretsFile(dir)) ? readFileSync(secretsFile(dir), 'utf8') : '';
    expect(() => addUps(db, dir, input)).toThrow(message);
    expect(dumpDb(db)).toBe(before);
    expect(readFileSync(secretsFile(dir), 'utf8')).toBe(secretsBefore);
  });
});
