// Power drill, end to end on one lab: a real upsd with the dummy-ups driver on a UPS host outside
// the cluster, upsmon on every cluster node (harmless SHUTDOWNCMD), the built watcher on this
// machine. The UPS goes on battery: the power_loss rule's graceful shutdown really powers the lab
// hosts off in order while the UPS host stays on. Power returns: the power_restored rule wakes the
// hosts with magic packets and the cluster starts up, HA and Ready. Everything is in the history.
// Before that, on the same lab, what must NOT power anything off: a blip shorter than the rule's
// delay, the UPS driver gone for less than the watcher's dead time (on battery), upsd killed on line
// power. And during the real outage the watcher is restarted in the middle of the delay: the
// pending shutdown survives it.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPowerRun, type PowerStep } from '../cluster/power-store.js';
import type { NodeStatus } from '../cluster/status-store.js';
import { openDb } from '../db/index.js';
import { projectRoot } from '../paths.js';
import { mkoBin as mko } from '../test-support/cli.js';
import { labUpsText, pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('drl');
const host = (n: number): string => `${LAB}-n${n}`;
const UPS_HOST = host(6);
const CLUSTER_HOSTS = [1, 2, 3, 4, 5].map(host);
const ALL_ON = Object.fromEntries([...CLUSTER_HOSTS, UPS_HOST].map((h) => [h, true]));
/** The power_loss rule's delay: long enough for a blip to end and for a watcher restart to land inside it. */
const OFF_DELAY_S = 15;
/** The watcher's --dead-time (upsmon's DEADTIME): longer than the driver outage below takes (~7 s measured). */
const DEAD_TIME_S = 15;
/** NUT 2.8 on Debian 12: one driver unit per UPS (made by the enumerator), upsd is nut-server. */
const DRIVER_UNIT = 'nut-driver@rack';
const UPSD_UNIT = 'nut-server';

interface Action {
  id: number;
  rule: string;
  action: string;
  event: string;
  eventId: number;
  status: string;
  dueAt: string;
  startedAt: string | null;
  operationId: number | null;
  cancelledByEventId: number | null;
  detail: string | null;
}
interface Event {
  id: number;
  kind: string;
  at: string;
  status: string | null;
  detail: string;
}
interface Sample {
  at: string;
  error: string | null;
  status: string | null;
}

describe.skipIf(!isRoot)('power drill on a lab: UPS on battery -> ordered shutdown; power back -> startup (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let watcher: ResultPromise | undefined;
  let watcherPid: number | undefined;
  /** Everything every watcher process printed, in order (read while they run). */
  let watcherLog = '';

  const run = (args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, timeout: 600_000, stdin: 'ignore' });
  const ok = async (...args: string[]) => {
    const r = await run(args);
    expect(r.exitCode, `mko ${args.join(' ')}\n${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    return r;
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await run([...args, '--json']);
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`mko ${args.join(' ')} printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
    }
  };
  const powerState = async (): Promise<Record<string, boolean>> =>
    Object.fromEntries((await json<{ hosts: { hostname: string; running: boolean }[] }>('lab', 'status', '--name', LAB)).hosts.map((h) => [h.hostname, h.running]));
  /** One Ansible module run on the UPS host (the inventory comes from the database); its output. */
  async function onUpsHost(module: string, args: string): Promise<string> {
    const r = await execa('ansible', [UPS_HOST, '--become', '-m', module, '-a', args], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1' },
      reject: false,
      timeout: 120_000,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    return r.stdout;
  }
  /** Flip the dummy UPS: rewrite the .dev file on the UPS host (dummy-loop re-reads it every second). */
  async function setUps(status: string): Promise<void> {
    await onUpsHost('ansible.builtin.copy', `dest=/etc/nut/dummy.dev owner=root group=nut mode=0640 content=${JSON.stringify(labUpsText(status))}`);
  }
  /** systemd's view of a unit on the UPS host: active, failed, inactive ... */
  const unitState = async (unit: string): Promise<string> => (await onUpsHost('ansible.builtin.shell', `systemctl is-active ${unit} || true`)).trim().split('\n').at(-1)?.trim() ?? '';
  function startWatcher(): void {
    const child = execa(mko, ['ups', 'monitor', 'start', '--dead-time', String(DEAD_TIME_S)], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true });
    child.all?.on('data', (chunk: Buffer | string) => {
      watcherLog += String(chunk);
    });
    watcher = child;
    watcherPid = child.pid;
  }
  /** SIGTERM the watcher process, as systemd stops it, and wait until it is gone. */
  async function stopWatcher(): Promise<{ exitCode: number | undefined }> {
    expect(watcherPid).toBeDefined();
    process.kill(watcherPid ?? -1, 'SIGTERM');
    const result = await watcher;
    watcher = undefined;
    watcherPid = undefined;
    return { exitCode: result?.exitCode };
  }
  const actions = () => json<Action[]>('ups', 'actions', '--limit', '100');
  /** The events after event `after`, oldest first. */
  const eventsAfter = async (after: number): Promise<Event[]> => (await json<Event[]>('ups', 'events', '--limit', '100')).filter((e) => e.id > after).reverse();
  const lastEventId = async (): Promise<number> => (await json<Event[]>('ups', 'events', '--limit', '1'))[0]?.id ?? 0;
  /** The stored samples taken at or after `since`, oldest first. */
  const samplesSince = async (since: number): Promise<Sample[]> =>
    (await json<Sample[]>('ups', 'history', 'rack', '--limit', '500')).filter((x) => Date.parse(x.at) >= since).reverse();
  /** Operations a rule could have started (shutdown, startup, power:*). */
  const powerOperations = async () =>
    (await json<{ id: number; kind: string }[]>('operation', 'list')).filter((o) => o.kind === 'shutdown' || o.kind === 'startup' || o.kind.startsWith('power:')).map((o) => [o.id, o.kind]);
  const finished = (a: Action | undefined): a is Action => !!a && ['succeeded', 'failed', 'cancelled', 'expired', 'interrupted'].includes(a.status);

  beforeAll(async () => {
    await execa('npm', ['run', '--silent', 'build'], { cwd: projectRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-drill-'));
    dbPath = path.join(dir, 'mko.db');
    await run(['lab', 'down', '--name', LAB]);
    await ok('lab', 'up', '--name', LAB, '--nodes', '6');
    // drl-n6 is the UPS's Pi: out of the cluster, it keeps running and sees the power return.
    await ok('cluster', 'unassign', UPS_HOST);
    await ok('cluster', 'setup', LAB);
    await ok('ups', 'add', 'rack', '--host', UPS_HOST, '--driver', 'dummy-ups', '--port', 'dummy.dev', '--option', 'mode=dummy-loop', '--option', 'pollinterval=1');
    await ok('ups', 'setup', 'rack', '--secondaries', LAB, '--shutdown-cmd', '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko drill: not shutting down)"');
    await ok('ups', 'rules', 'create', 'rack', LAB, 'power_loss', 'graceful_shutdown', '--action-delay', String(OFF_DELAY_S), '--drain-timeout', '10', '--name', 'off');
    // What a lost UPS on battery would trigger (critical after the dead time): nothing may set it off but a real outage.
    await ok('ups', 'rules', 'create', 'rack', LAB, 'critical_battery', 'force_shutdown', '--name', 'critical-off');
    // Disabled until the real outage: after a blip, a startup of a running cluster is not what these tests are about.
    await ok('ups', 'rules', 'create', 'rack', LAB, 'power_restored', 'startup', '--name', 'on', '--disabled');
    startWatcher();
    await pollUntil('the watcher to poll the UPS', 30_000, async () => {
      const status = await run(['ups', 'monitor', 'status']);
      return /^running: +yes/m.test(status.stdout) && (await run(['ups', 'status'])).stdout.match(new RegExp(String.raw`rack\s+${UPS_HOST}\s+OL\b`));
    });
  }, 900_000);

  afterAll(async () => {
    try {
      if (watcherPid) {
        try {
          process.kill(watcherPid, 'SIGTERM');
        } catch {
          // already gone
        }
        await watcher?.catch(() => undefined);
      }
      if (watcherLog) process.stderr.write(`watcher output (tail):\n${watcherLog.slice(-6000)}\n`);
    } finally {
      await tearDownLab(LAB, dbPath, dir);
    }
  }, 300_000);

  // 4.
  it('a blip shorter than the delay: the pending graceful shutdown is cancelled and recorded so, no host goes off', async () => {
    expect(await powerState()).toEqual(ALL_ON);
    const before = await lastEventId();
    const mark = watcherLog.length;
    await setUps('OB DISCHRG');
    const pending = await pollUntil('the pending graceful shutdown', 30_000, async () => (await actions()).find((a) => a.rule === 'off' && a.status === 'pending'));
    expect(pending).toMatchObject({ action: 'graceful_shutdown', event: 'power_loss', startedAt: null, operationId: null });
    const due = Date.parse(pending.dueAt);
    await setUps('OL');
    const cancelled = await pollUntil('the pending shutdown to be settled', 30_000, async () => {
      const a = (await actions()).find((x) => x.id === pending.id);
      return a && a.status !== 'pending' ? a : undefined;
    });
    expect(cancelled.status, cancelled.detail ?? '').toBe('cancelled');
    expect(cancelled.detail).toMatch(/^power returned \(event \d+\) \d+(\.\d)? s before its delay ended$/);
    expect(cancelled).toMatchObject({ startedAt: null, operationId: null });
    const events = await eventsAfter(before);
    expect(events.map((e) => e.kind)).toEqual(['power_loss', 'power_restored']);
    expect(cancelled.eventId).toBe(events[0]?.id);
    expect(cancelled.cancelledByEventId).toBe(events[1]?.id);
    expect(Date.parse(events[1]?.at ?? 'missing'), 'power came back before the delay ended').toBeLessThan(due);
    expect(watcherLog.slice(mark)).toContain(`action ${pending.id} (off) cancelled: power returned (event ${events[1]?.id})`);
    // Through the time it would have fallen due, and a few seconds past it: every host stays on.
    while (Date.now() < due + 5000) {
      expect(await powerState()).toEqual(ALL_ON);
      await sleep(1000);
    }
    expect((await actions()).map((a) => [a.id, a.rule, a.status])).toEqual([[pending.id, 'off', 'cancelled']]);
    expect(await powerOperations()).toEqual([]);
    expect(await eventsAfter(before)).toEqual(events);
  }, 300_000);

  // 5.
  it('the UPS driver gone for less than the dead time while on battery: DRIVER-NOT-CONNECTED is seen, nothing is triggered', async () => {
    // This test is about the dead time, not the delay: without the power_loss rule nothing is pending.
    await ok('ups', 'rules', 'disable', 'off');
    const before = await lastEventId();
    const actionsBefore = await actions();
    await setUps('OB DISCHRG');
    const [loss] = await pollUntil('power_loss', 30_000, async () => {
      const events = await eventsAfter(before);
      return events.length > 0 ? events : undefined;
    });
    expect(loss?.kind).toBe('power_loss');
    // The driver stops (upsd: DRIVER-NOT-CONNECTED), is away 2 s, starts again (WAIT, then data).
    const outageFrom = Date.now();
    await onUpsHost('ansible.builtin.shell', `systemctl stop ${DRIVER_UNIT} && sleep 2 && systemctl start ${DRIVER_UNIT}`);
    const samples = await pollUntil('data from the driver again after its outage', 60_000, async () => {
      const all = await samplesSince(outageFrom);
      const firstError = all.findIndex((x) => x.error !== null);
      return firstError >= 0 && all.slice(firstError).some((x) => x.error === null && x.status === 'OB DISCHRG') ? all : undefined;
    });
    const firstError = samples.findIndex((x) => x.error !== null);
    const back = samples.findIndex((x, i) => i > firstError && x.error === null && x.status === 'OB DISCHRG');
    const gap = samples.slice(firstError, back);
    expect(gap.map((x) => x.error ?? x.status)).toContain('DRIVER-NOT-CONNECTED');
    // Only what a restarting driver makes upsd say: not connected, stale, or the driver's WAIT.
    for (const x of gap) expect(['DRIVER-NOT-CONNECTED', 'DATA-STALE', 'WAIT']).toContain(x.error ?? x.status);
    const outage = Date.parse(samples[back]?.at ?? '') - Date.parse(samples[firstError]?.at ?? '');
    process.stderr.write(`drill: driver outage seen by the watcher: ${outage} ms (dead time ${DEAD_TIME_S} s)\n`);
    expect(outage, 'the outage was shorter than the dead time (else this test proves nothing)').toBeLessThan((DEAD_TIME_S - 2) * 1000);
    // Data is back and the watcher has read it: neither comm_lost nor critical_battery came, no action.
    expect((await eventsAfter(before)).map((e) => e.kind)).toEqual(['power_loss']);
    expect(await actions()).toEqual(actionsBefore);
    expect(await powerState()).toEqual(ALL_ON);
    expect(await unitState(DRIVER_UNIT)).toBe('active');

    await setUps('OL');
    await pollUntil('power_restored', 30_000, async () => (await eventsAfter(before)).some((e) => e.kind === 'power_restored'));
    expect((await eventsAfter(before)).map((e) => e.kind)).toEqual(['power_loss', 'power_restored']);
    expect(await actions()).toEqual(actionsBefore);
    expect(await powerOperations()).toEqual([]);
    expect(await powerState()).toEqual(ALL_ON);
    await ok('ups', 'rules', 'enable', 'off');
  }, 300_000);

  // 6.
  it('upsd killed on line power: comm_lost, then comm_restored once it is back; no action, every host on', async () => {
    const before = await lastEventId();
    const actionsBefore = await actions();
    const mark = watcherLog.length;
    await onUpsHost('ansible.builtin.command', `systemctl kill --signal=SIGKILL ${UPSD_UNIT}`);
    await pollUntil('upsd to be dead', 20_000, async () => (await unitState(UPSD_UNIT)) === 'failed');
    const [lost] = await pollUntil('comm_lost', (DEAD_TIME_S + 20) * 1000, async () => {
      const events = await eventsAfter(before);
      return events.length > 0 ? events : undefined;
    });
    expect(lost).toMatchObject({ kind: 'comm_lost', status: 'OL' });
    expect(lost?.detail).toMatch(/^no data for \d+(\.\d)? s \(.+\); last known status OL$/);
    expect(watcherLog.slice(mark)).toMatch(/UPS rack: cannot connect to upsd at [\d.]+:3493: .*next try in/);
    expect(await actions()).toEqual(actionsBefore);
    expect(await powerState()).toEqual(ALL_ON);
    // Still down (systemd does not restart upsd): the watcher keeps trying, nothing else happens.
    expect(await unitState(UPSD_UNIT)).toBe('failed');
    expect((await eventsAfter(before)).map((e) => e.kind)).toEqual(['comm_lost']);

    await onUpsHost('ansible.builtin.systemd', `name=${UPSD_UNIT} state=started`);
    await pollUntil('comm_restored', 30_000, async () => (await eventsAfter(before)).some((e) => e.kind === 'comm_restored'));
    const events = await eventsAfter(before);
    expect(events.map((e) => e.kind)).toEqual(['comm_lost', 'comm_restored']);
    expect(events[1]).toMatchObject({ status: 'OL' });
    expect(watcherLog.slice(mark)).toMatch(/UPS rack: connected to upsd at [\d.]+:3493/);
    expect(await actions()).toEqual(actionsBefore);
    expect(await powerOperations()).toEqual([]);
    expect(await powerState()).toEqual(ALL_ON);
  }, 300_000);

  it('on battery (the watcher restarted during the delay): the cluster powers off in order, the UPS host stays on; power back: HA and Ready again; all of it recorded', async () => {
    expect(await powerState()).toEqual(ALL_ON);
    await ok('ups', 'rules', 'enable', 'off');
    await ok('ups', 'rules', 'enable', 'on');
    const before = await lastEventId();

    // 2. The power goes.
    const lostAt = Date.now();
    await setUps('OB DISCHRG');
    const pending = await pollUntil('the pending graceful shutdown', 30_000, async () => (await actions()).find((a) => a.rule === 'off' && a.status === 'pending'));
    const due = Date.parse(pending.dueAt);

    // 7. The watcher is restarted in the middle of the delay (SIGTERM, as systemd stops it): the action is not lost.
    expect(due - Date.now(), 'time left in the delay for the restart').toBeGreaterThan(5000);
    const mark = watcherLog.length;
    expect((await stopWatcher()).exitCode).toBe(0);
    expect(watcherLog.slice(mark)).toContain('stopping: pending actions stay scheduled for the next start');
    expect((await run(['ups', 'monitor', 'status'])).stdout).toMatch(/^running: +no$/m);
    expect((await actions()).find((a) => a.id === pending.id)?.status).toBe('pending');
    const restartMark = watcherLog.length;
    startWatcher();
    const started = await pollUntil('the restarted watcher to report its start', 30_000, async () => watcherLog.slice(restartMark).match(/started \(pid \d+\): .*/)?.[0]);
    expect(started).toBe(`started (pid ${watcherPid}): 1 pending action(s) re-armed, 0 run late, 0 expired, 0 interrupted`);
    expect(watcherLog.slice(restartMark)).toMatch(new RegExp(`action ${pending.id} \\(off\\): re-armed, due in \\d+(\\.\\d)? s`));
    expect(Date.now(), 'the watcher was back before the delay ended').toBeLessThan(due);

    const shutdown = await pollUntil('the graceful shutdown to finish', 300_000, async () => {
      const a = (await actions()).find((x) => x.id === pending.id);
      return finished(a) ? a : undefined;
    });
    expect(shutdown.status, shutdown.detail ?? '').toBe('succeeded');
    // It ran at its own due time, not a whole delay after the restart.
    expect(Math.abs(Date.parse(shutdown.startedAt ?? 'missing') - due)).toBeLessThan(1500);
    const off = await pollUntil('the cluster hosts to be off', 30_000, async () => {
      const state = await powerState();
      return CLUSTER_HOSTS.every((h) => state[h] === false) ? state : undefined;
    });
    expect(off).toEqual({ ...Object.fromEntries(CLUSTER_HOSTS.map((h) => [h, false])), [UPS_HOST]: true });

    const db = openDb(dbPath);
    let steps: PowerStep[];
    try {
      const seq = getPowerRun(db, shutdown.operationId ?? 0);
      expect(seq).toMatchObject({ kind: 'shutdown', mode: 'graceful', check: false, drainTimeout: 10 });
      steps = (seq?.steps ?? []).filter((s) => s.step !== null);
    } finally {
      db.close();
    }
    expect(steps.map((s) => s.hostname).sort()).toEqual(CLUSTER_HOSTS);
    expect(steps.every((s) => s.outcome === 'powered off')).toBe(true);
    // Workers together first, then the voters one at a time; each step only after the one before was off.
    const byStep = new Map<number, PowerStep[]>();
    for (const s of steps) byStep.set(s.step ?? 0, [...(byStep.get(s.step ?? 0) ?? []), s]);
    const groups = [...byStep.entries()].sort(([a], [b]) => a - b).map(([, g]) => g);
    expect(groups.map((g) => [g[0]?.part, g.map((s) => s.hostname).sort()])).toEqual([
      ['worker', [host(4), host(5)]],
      ['voter', [expect.any(String)]],
      ['voter', [expect.any(String)]],
      ['voter', [expect.any(String)]],
    ]);
    expect(groups.slice(1).flatMap((g) => g.map((s) => s.hostname)).sort()).toEqual([1, 2, 3].map(host));
    const at = (iso: string | null): number => Date.parse(iso ?? 'missing');
    let previousOff = 0;
    for (const group of groups) {
      for (const s of group) expect(at(s.requestedAt), `${s.hostname} asked to stop only after the step before was off`).toBeGreaterThanOrEqual(previousOff);
      previousOff = Math.max(...group.map((s) => at(s.doneAt)));
    }
    // The delay held: nothing was asked to stop before the 15 s were over.
    expect(Math.min(...steps.map((s) => at(s.requestedAt)))).toBeGreaterThan(lostAt + OFF_DELAY_S * 1000);
    expect(Math.min(...steps.map((s) => at(s.requestedAt)))).toBeGreaterThanOrEqual(due);

    // 3. The power comes back.
    await setUps('OL');
    const startup = await pollUntil('the startup to finish', 300_000, async () => {
      const a = (await actions()).find((x) => x.action === 'startup');
      return finished(a) ? a : undefined;
    });
    expect(startup.status, startup.detail ?? '').toBe('succeeded');
    expect(await powerState()).toEqual(ALL_ON);
    const db2 = openDb(dbPath);
    try {
      const seq = getPowerRun(db2, startup.operationId ?? 0);
      expect(seq?.kind).toBe('startup');
      const up = seq?.steps ?? [];
      expect(up.map((s) => [s.hostname, s.method, s.outcome, s.ready]).sort()).toEqual(CLUSTER_HOSTS.map((h) => [h, 'wol', 'powered on', true]));
      // Control plane first; the workers only once it was up.
      const cpUp = Math.max(...up.filter((s) => s.part === 'control-plane').map((s) => at(s.doneAt)));
      for (const w of up.filter((s) => s.part === 'worker')) expect(at(w.requestedAt)).toBeGreaterThan(cpUp);
      expect(seq?.voters).toHaveLength(3);
    } finally {
      db2.close();
    }
    const status = await json<{ nodes: NodeStatus[] }>('cluster', 'status', LAB);
    expect(status.nodes.map((n) => [n.hostname, n.reachable, n.running, n.ready, n.ha])).toEqual(CLUSTER_HOSTS.map((h) => [h, true, true, true, true]));
    expect(status.nodes.filter((n) => n.haRole === 'voter')).toHaveLength(3);

    // 4. The history.
    const ops = await json<{ id: number; kind: string; target: string; status: string }[]>('operation', 'list');
    expect(ops.find((o) => o.id === shutdown.operationId)).toMatchObject({ kind: 'shutdown', target: LAB, status: 'succeeded' });
    expect(ops.find((o) => o.id === startup.operationId)).toMatchObject({ kind: 'startup', target: LAB, status: 'succeeded' });
    expect((await eventsAfter(before)).map((e) => e.kind)).toEqual(['power_loss', 'power_restored']);
    // The whole drill: the blip, the driver outage on battery, upsd killed, the real outage.
    expect((await eventsAfter(0)).map((e) => e.kind)).toEqual(['power_loss', 'power_restored', 'power_loss', 'power_restored', 'comm_lost', 'comm_restored', 'power_loss', 'power_restored']);
    expect((await actions()).map((a) => [a.rule, a.action, a.status]).reverse()).toEqual([
      ['off', 'graceful_shutdown', 'cancelled'],
      ['off', 'graceful_shutdown', 'succeeded'],
      ['on', 'startup', 'succeeded'],
    ]);
  }, 900_000);
});
