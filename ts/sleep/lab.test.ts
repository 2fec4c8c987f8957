// Auto-sleep on a real lab (3 control-plane nodes and a worker; MicroK8s is the lab's test double)
// through the built CLI and the real ansible-playbook: the node's own timer puts an idle worker to
// sleep (power-off: lab hosts cannot suspend) and a voter only while 2 others stay up; a pod with
// the prevent label and an SSH session keep a node awake and `sleep status` says so; a real magic
// packet wakes nodes, which come back Ready and uncordoned (an admin's cordon stays); the node's
// own sleeps become operations once mko reads its journal. The cluster is formed with the stand-in's
// own `snap install` / `microk8s add-node` / `join` (mko cluster setup is tested elsewhere and would
// double this file's time).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labStatus, sshArgs, type LabInfo } from '../lab/index.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';
import type { SleepNodeStatus, SleepNowResult, SleepRunResult } from './index.js';
import type { WakeResult } from '../wol/index.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('asl');
const n = (i: number): string => `${LAB}-n${i}`;

describe.skipIf(!isRoot)('auto-sleep on the lab (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let info: LabInfo;

  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
  const json = async <T>(...args: string[]): Promise<{ exitCode: number | undefined; stderr: string; value: T }> => {
    const r = await run(...args, '--json');
    return { exitCode: r.exitCode, stderr: r.stderr, value: JSON.parse(r.stdout || 'null') as T };
  };
  const address = (host: string): string => info.hosts.find((h) => h.hostname === host)?.address ?? '';
  const ssh = (host: string, command: string) =>
    execa('ssh', [...sshArgs(path.join(dir, 'lab', LAB), address(host)), command], { reject: false, timeout: 180_000, stdin: 'ignore' });
  const kubectl = async (host: string, args: string): Promise<string> => {
    const r = await ssh(host, `/snap/bin/microk8s kubectl ${args}`);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout;
  };
  const running = async (host: string): Promise<boolean> =>
    (await labStatus({ name: LAB, stateDir: path.join(dir, 'lab', LAB) }))?.hosts.find((h) => h.hostname === host)?.running ?? false;
  const nodeObject = async (via: string, host: string) =>
    JSON.parse(await kubectl(via, `get node ${host} -o json`)) as { spec: { unschedulable?: boolean }; status: { conditions: { type: string; status: string }[] } };
  const ready = (node: Awaited<ReturnType<typeof nodeObject>>): boolean => node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const status = async (host: string): Promise<SleepNodeStatus> => {
    const r = await json<SleepRunResult>('sleep', 'status', host);
    expect(r.value?.nodes.length, r.stderr).toBe(1);
    return r.value.nodes[0] as SleepNodeStatus;
  };
  const checkOf = (s: SleepNodeStatus, name: string) => s.checks.find((c) => c.check === name);
  /** A bare pod bound to `host` in kube-system (excluded: only its label counts), labelled to keep it awake. */
  const preventPod = (via: string, name: string, host: string) =>
    kubectl(via, `run ${name} -n kube-system --image=busybox --labels=mko.io/prevent-sleep=true --overrides='{"spec":{"nodeName":"${host}"}}'`);

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-sleep-lab-'));
    dbPath = path.join(dir, 'mko.db');
    const up = await run('lab', 'up', '--name', LAB, '--nodes', '4');
    expect(up.exitCode, up.stderr).toBe(0);
    info = (await labStatus({ name: LAB, stateDir: path.join(dir, 'lab', LAB) })) as LabInfo;
    // Every node resolves every other (the join refuses otherwise), MicroK8s on all, then joins.
    const hosts = info.hosts.map((h) => `${h.address} ${h.hostname}`).join('\\n');
    await Promise.all(
      info.hosts.map(async (h) => {
        const r = await ssh(h.hostname, `printf '${hosts}\\n' >> /etc/hosts && snap install microk8s --classic --channel=1.31/stable`);
        expect(r.exitCode, r.stderr).toBe(0);
      }),
    );
    for (const i of [2, 3, 4]) {
      const token = JSON.parse((await ssh(n(1), '/snap/bin/microk8s add-node --format json')).stdout) as { urls: string[] };
      const joined = await ssh(n(i), `/snap/bin/microk8s join ${token.urls[0] ?? ''}${i === 4 ? ' --worker' : ''}`);
      expect(joined.exitCode, joined.stdout + joined.stderr).toBe(0);
    }
    await kubectl(n(1), 'wait --for=condition=Ready nodes --all --timeout=120s');
    // Short times for the lab, through the settings a user sets; CPU and network limits out of
    // reach of this shared build machine's load.
    const configured = await run('sleep', 'config', LAB, '--timeout', '30', '--interval', '5', '--grace', '5', '--action', 'poweroff', '--cpu-load', '1000', '--net-bytes', '5000000');
    expect(configured.exitCode, configured.stderr).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('enable: a voter may sleep while 2 others stay awake; the next is refused before anything is touched', async () => {
    const first = await json<SleepRunResult>('sleep', 'enable', n(1));
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.value.nodes[0]).toMatchObject({ host: n(1), state: 'idle', settings: expect.objectContaining({ sleepable: true, timeout: 30, action: 'poweroff' }) });

    const operations = (await run('operation', 'list', '--json')).stdout;
    const refused = await run('sleep', 'enable', n(2));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `mko: cannot make ${n(2)} sleepable: it is a control-plane node (a dqlite voter, or one in waiting) and only 1 other control-plane node of cluster ${LAB} stays awake (${n(3)}); 2 must, for the datastore's quorum: keep ${n(2)} awake, or add control-plane nodes`,
    );
    expect((await run('operation', 'list', '--json')).stdout).toBe(operations); // no run
    expect((await json<{ effective: { sleepable: boolean } }>('sleep', 'config', n(2))).value.effective.sleepable).toBe(false);
  }, 300_000);

  it('a worker with no pods sleeps after the timeout (and so does the voter enabled above)', async () => {
    const enabled = await json<SleepRunResult>('sleep', 'enable', n(4));
    expect(enabled.exitCode, enabled.stderr).toBe(0);
    const worker = enabled.value.nodes[0] as SleepNodeStatus;
    expect(worker.state).toBe('idle');
    expect(worker.sleepsIn).toBeLessThanOrEqual(30);
    expect(checkOf(worker, 'pods')).toMatchObject({ state: 'idle', detail: 'no pod outside DaemonSets and kube-system' });
    await pollUntil(`${n(4)} and ${n(1)} powered off by their own timers`, 240_000, async () => !(await running(n(4))) && !(await running(n(1))));
    const node = await nodeObject(n(2), n(4));
    expect([ready(node), node.spec.unschedulable]).toEqual([false, true]); // cordoned before it went
  }, 300_000);

  it('a voter re-checks at sleep time: with one voter asleep, another is refused on the node itself', async () => {
    // The role in check mode, then for real, then again: nothing left to change.
    const checked = await json<SleepRunResult>('sleep', 'apply', n(2), '--check');
    expect(checked.exitCode, checked.stderr).toBe(0);
    for (const round of [1, 2]) {
      const applied = await json<SleepRunResult>('sleep', 'apply', n(2));
      expect(applied.exitCode, applied.stderr).toBe(0);
      const recap = (await json<{ recap: Record<string, { changed: number }> }>('operation', 'show', String(applied.value.operationId))).value.recap;
      if (round === 2) expect(recap[n(2)]?.changed).toBe(0);
    }
    const s = await status(n(2));
    expect(checkOf(s, 'voters')).toEqual({
      check: 'voters',
      state: 'busy',
      detail: `a dqlite voter: sleeping would leave 1 voter(s) up (${address(n(3))}), fewer than 2`,
    });
    const now = await json<SleepNowResult>('sleep', 'now', n(2));
    expect(now.exitCode).toBe(2);
    expect(now.value).toMatchObject({ host: n(2), outcome: 'cancelled', cordoned: false, ok: false });
    expect(now.value.reason).toContain('sleeping would leave 1 voter(s) up');
    expect(await running(n(2))).toBe(true);
    expect((await nodeObject(n(3), n(2))).spec.unschedulable).toBeFalsy();
  }, 300_000);

  it('waking brings the worker back Ready and uncordoned, records its own sleep; a prevent-labelled pod keeps it awake', async () => {
    await preventPod(n(2), 'keep-awake', n(4));
    const woken = await json<WakeResult>('wol', 'wake-node', n(4), '--wait');
    expect(woken.exitCode, woken.stderr).toBe(0);
    expect(woken.value.nodes[0]).toMatchObject({ host: n(4), outcome: 'woken', resumed: { ready: true, uncordoned: true } });
    const node = await nodeObject(n(2), n(4));
    expect([ready(node), node.spec.unschedulable ?? false]).toEqual([true, false]);
    // The node's own sleep, read from its journal by the wake, is an operation dated when it happened.
    const ops = (await json<{ id: number; kind: string; target: string; status: string }[]>('operation', 'list')).value;
    expect(ops).toContainEqual(expect.objectContaining({ kind: 'auto-sleep', target: n(4), status: 'succeeded' }));

    await sleep(45_000); // longer than timeout + grace
    expect(await running(n(4))).toBe(true);
    const s = await status(n(4));
    expect(s.state).toBe('awake');
    expect(checkOf(s, 'pods')?.state).toBe('idle');
    expect(checkOf(s, 'prevent-label')).toEqual({ check: 'prevent-label', state: 'busy', detail: 'mko.io/prevent-sleep=true on kube-system/keep-awake' });
    const table = await run('sleep', 'status', n(4));
    expect(table.stdout).toMatch(new RegExp(`^${n(4)}\\s+yes\\s+poweroff\\s+awake\\s+-\\s+prevent-label: mko.io/prevent-sleep=true on kube-system/keep-awake$`, 'm'));
  }, 300_000);

  it('an SSH session keeps it awake; sleep now puts it to sleep anyway and leaves an admin\'s cordon alone', async () => {
    await kubectl(n(2), 'delete pod keep-awake -n kube-system');
    let session: ResultPromise | undefined;
    try {
      // -tt: a terminal, as a person's login has (Ansible's own sessions have none and do not count).
      const args = sshArgs(path.join(dir, 'lab', LAB), address(n(4)));
      session = execa('ssh', [...args.slice(0, -1), '-tt', ...args.slice(-1), 'sleep 600'], { reject: false, stdin: 'pipe' });
      await pollUntil('the SSH session on the node', 30_000, async () => (await ssh(n(4), 'who')).stdout.includes('pts/'));
      await sleep(40_000);
      expect(await running(n(4))).toBe(true);
      const s = await status(n(4));
      expect(s.state).toBe('awake');
      expect(checkOf(s, 'prevent-label')?.state).toBe('idle');
      expect(checkOf(s, 'sessions')?.state).toBe('busy');
      expect(checkOf(s, 'sessions')?.detail).toMatch(/^1 interactive session\(s\): root on pts\/\d+$/);

      await kubectl(n(2), `cordon ${n(4)}`); // the admin's own cordon
      const check = await json<SleepNowResult>('sleep', 'now', n(4), '--check');
      expect(check.value).toMatchObject({ outcome: 'would sleep', ok: true });
      expect(await running(n(4))).toBe(true);
      const now = await json<SleepNowResult>('sleep', 'now', n(4));
      expect(now.exitCode, now.stderr).toBe(0);
      expect(now.value).toMatchObject({ host: n(4), outcome: 'slept', reason: 'asked by mko sleep now', cordoned: false, gone: true, ok: true });
      expect(await running(n(4))).toBe(false);
    } finally {
      session?.kill();
      await session;
    }
  }, 300_000);

  it('wake-cluster: the voter comes back Ready, uncordoned and with the settings it missed; the worker Ready and still cordoned by the admin', async () => {
    // Pods that keep them awake once woken: with 30 s of inactivity they would be gone again.
    await preventPod(n(2), 'keep-n1', n(1));
    await preventPod(n(2), 'keep-n4', n(4));
    // Disabled while asleep: the node cannot be reached (exit 2), mko stores it, the wake applies it.
    const disabled = await run('sleep', 'disable', n(1));
    expect(disabled.exitCode).toBe(2);
    expect(disabled.stdout).toContain(`${n(1)}: auto-sleep disabled in mko; the node gets it when it answers again (mko wol wake-node ${n(1)} wakes it and applies it)`);
    const woken = await json<WakeResult>('wol', 'wake-cluster', LAB, '--wait');
    expect(woken.exitCode, woken.stderr).toBe(0);
    const byHost = Object.fromEntries(woken.value.nodes.map((w) => [w.host, w]));
    // Uncordoned by the wake, or by the node's own first check after boot if that came first.
    expect(byHost[n(1)]).toMatchObject({ outcome: 'woken', resumed: { ready: true, uncordoned: true } });
    expect(byHost[n(4)]).toMatchObject({ outcome: 'woken', resumed: { ready: true, uncordoned: false } });
    expect(byHost[n(2)]).toMatchObject({ outcome: 'already up', resumed: { ready: true, uncordoned: false } });
    const [one, four] = [await nodeObject(n(2), n(1)), await nodeObject(n(2), n(4))];
    expect([ready(one), one.spec.unschedulable ?? false, ready(four), four.spec.unschedulable]).toEqual([true, false, true, true]);
    expect((await ssh(n(1), 'systemctl is-enabled mko-autosleep.timer; systemctl is-active mko-autosleep.timer')).stdout.split('\n')).toEqual(['disabled', 'inactive']);
    expect((await status(n(1))).state).toBe('not sleepable');
  }, 300_000);
});
