// Power drill, end to end on one lab: a real upsd with the dummy-ups driver on a UPS host outside
// the cluster, upsmon on every cluster node (harmless SHUTDOWNCMD), the built watcher on this
// machine. The UPS goes on battery: the power_loss rule's graceful shutdown really powers the lab
// hosts off in order while the UPS host stays on. Power returns: the power_restored rule wakes the
// hosts with magic packets and the cluster starts up, HA and Ready. Everything is in the history.
import { mkdtempSync, rmSync } from 'node:fs';
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
import { expectLabGone } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = 'drl';
const host = (n: number): string => `${LAB}-n${n}`;
const UPS_HOST = host(6);
const CLUSTER_HOSTS = [1, 2, 3, 4, 5].map(host);
const devText = (status: string): string =>
  ['battery.charge: 100', 'battery.runtime: 1800', 'input.voltage: 230', 'ups.load: 20', 'ups.mfr: mko', 'ups.model: dummy-ups', `ups.status: ${status}`, ''].join('\n');

interface Action {
  id: number;
  action: string;
  status: string;
  operationId: number | null;
  detail: string | null;
}

describe.skipIf(!isRoot)('power drill on a lab: UPS on battery -> ordered shutdown; power back -> startup (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let watcher: ResultPromise | undefined;
  let watcherPid: number | undefined;

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
  /** Flip the dummy UPS: rewrite the .dev file on the UPS host (dummy-loop re-reads it every second). */
  async function setUps(status: string): Promise<void> {
    const r = await execa('ansible', [UPS_HOST, '--become', '-m', 'ansible.builtin.copy', '-a', `dest=/etc/nut/dummy.dev owner=root group=nut mode=0640 content=${JSON.stringify(devText(status))}`], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1' },
      reject: false,
      timeout: 120_000,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }
  async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(1000);
    }
  }
  const actions = () => json<Action[]>('ups', 'actions');
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
    await ok('ups', 'rules', 'create', 'rack', LAB, 'power_loss', 'graceful_shutdown', '--action-delay', '5', '--drain-timeout', '10', '--name', 'off');
    await ok('ups', 'rules', 'create', 'rack', LAB, 'power_restored', 'startup', '--name', 'on');
    watcher = execa(mko, ['ups', 'monitor', 'start', '--dead-time', '10'], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true });
    watcherPid = watcher.pid;
    await waitFor('the watcher to poll the UPS', 30_000, async () => {
      const status = await run(['ups', 'monitor', 'status']);
      return /^running: +yes/m.test(status.stdout) && (await run(['ups', 'status'])).stdout.match(/rack\s+drl-n6\s+OL\b/);
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
        const out = await watcher?.catch(() => undefined);
        if (out && 'all' in out) process.stderr.write(`watcher output (tail):\n${String(out.all).slice(-4000)}\n`);
      }
      if (dbPath) {
        const down = await run(['lab', 'down', '--name', LAB]);
        expect(down.exitCode, down.stderr).toBe(0);
      }
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    await expectLabGone(LAB);
  }, 300_000);

  it('on battery: the cluster powers off in order, the UPS host stays on; power back: HA and Ready again; all of it recorded', async () => {
    expect(await powerState()).toEqual(Object.fromEntries([...CLUSTER_HOSTS, UPS_HOST].map((h) => [h, true])));

    // 2. The power goes.
    const lostAt = Date.now();
    await setUps('OB DISCHRG');
    const shutdown = await waitFor('the graceful shutdown to finish', 300_000, async () => {
      const a = (await actions()).find((x) => x.action === 'graceful_shutdown');
      return finished(a) ? a : undefined;
    });
    expect(shutdown.status, shutdown.detail ?? '').toBe('succeeded');
    const off = await waitFor('the cluster hosts to be off', 30_000, async () => {
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
    // The delay held: nothing was asked to stop before the 5 s were over.
    expect(Math.min(...steps.map((s) => at(s.requestedAt)))).toBeGreaterThan(lostAt + 5000);

    // 3. The power comes back.
    await setUps('OL');
    const startup = await waitFor('the startup to finish', 300_000, async () => {
      const a = (await actions()).find((x) => x.action === 'startup');
      return finished(a) ? a : undefined;
    });
    expect(startup.status, startup.detail ?? '').toBe('succeeded');
    const on = await powerState();
    expect(on).toEqual(Object.fromEntries([...CLUSTER_HOSTS, UPS_HOST].map((h) => [h, true])));
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
    const events = await json<{ ups: string; kind: string }[]>('ups', 'events');
    expect(events.map((e) => e.kind).reverse()).toEqual(['power_loss', 'power_restored']);
  }, 900_000);
});
