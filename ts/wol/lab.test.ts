// Wake-on-LAN against the lab: real hosts that are really off after `systemctl poweroff`, and come
// back only when a valid magic packet for their MAC reaches the lab bridge (the lab's firmware
// listener), with the right SecureOn password for the worker, whose NIC wants one. The wol role,
// collect-mac, every way to wake (wake-node, wake-cluster, the wake_on_lan and startup rule
// actions, mko cluster startup, plain playbooks/wake.yml) and the RTC alarm all run through the
// built mko and the real ansible-playbook: one path, the wol role's wake entry point.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { assignNode, getCluster, getNode } from '../fleet/index.js';
import type { PowerRun } from '../cluster/index.js';
import { FleetActionRunner } from '../power/actions.js';
import type { ActionRequest } from '../power/engine.js';
import { setLabSecureOn } from '../lab/wol-listener.js';
import { labDown, labStatus, labUp, type LabInfo } from '../lab/index.js';
import { buildMagicPacket } from '../lab/magic-packet.js';
import { registerLab, unregisterLab } from '../lab/register.js';
import { getOperation, runPlaybook } from '../ops/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { setRtcAlarm, wakeSecrets, type NicRunResult, type WakeResult, type WolStatus } from './index.js';
import { expectLabGone, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('woll');
const SECUREON = '0a:1b:2c:3d:4e:5f';

describe.skipIf(!isRoot)('Wake-on-LAN on the lab (skipped unless root)', () => {
  let dir: string;
  let dbPath: string;
  let stateDir: string;
  let db: Db;
  let info: LabInfo;
  let worker: string; // lab host 1, made a worker
  let controlPlane: string; // lab host 2, made the control plane

  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
  const json = async <T>(...args: string[]): Promise<{ exitCode: number | undefined; stderr: string; value: T }> => {
    const r = await run(...args, '--json');
    return { exitCode: r.exitCode, stderr: r.stderr, value: JSON.parse(r.stdout || 'null') as T };
  };
  const ansible = (host: string, ...args: string[]) =>
    execa('ansible', [host, ...args], { cwd: projectRoot, env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1' }, reject: false, timeout: 60_000 });
  const running = async (hostname: string): Promise<boolean> =>
    (await labStatus({ name: LAB, stateDir }))?.hosts.find((h) => h.hostname === hostname)?.running ?? false;
  const host = (hostname: string) => {
    const found = info.hosts.find((h) => h.hostname === hostname);
    if (!found) throw new Error(`no lab host ${hostname}`);
    return found;
  };

  /** The host's own `systemctl poweroff`, as its login user through sudo, over the project inventory. */
  async function powerOff(hostname: string): Promise<void> {
    await ansible(hostname, '--become', '-m', 'ansible.builtin.command', '-a', 'systemctl poweroff');
    const deadline = Date.now() + 60_000;
    while (await running(hostname)) {
      if (Date.now() > deadline) throw new Error(`${hostname} did not power off`);
      await sleep(250);
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-wol-lab-'));
    dbPath = path.join(dir, 'mko.db');
    stateDir = path.join(dir, 'lab', LAB);
    db = openDb(dbPath);
    await labDown({ name: LAB, stateDir });
    info = await labUp({ name: LAB, stateDir, nodes: 2 });
    await registerLab({ db, dataDir: dir, stateDir, info });
    worker = info.hosts[0]?.hostname ?? '';
    controlPlane = info.hosts[1]?.hostname ?? '';
    // Roles the other way round from the host order, so that "control plane first" is not
    // "first by name" or "first by id".
    assignNode(db, worker, LAB, 'worker');
    assignNode(db, controlPlane, LAB, 'control-plane');
    await buildCli();
  }, 600_000);

  afterAll(async () => {
    try {
      if (stateDir) await labDown({ name: LAB, stateDir });
      if (db) unregisterLab(db, dir, LAB);
    } finally {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await expectLabGone(LAB);
  }, 120_000);

  it('enable: the role finds each veth NIC, reports it unsupported (not a failure), and status says so', async () => {
    const enabled = await json<NicRunResult>('wol', 'enable', LAB);
    expect(enabled.exitCode, enabled.stderr).toBe(0);
    expect(enabled.value.hosts).toEqual(
      [controlPlane, worker].map((h) =>
        expect.objectContaining({
          host: h,
          status: 'reported',
          report: expect.objectContaining({ interface: 'eth0', mac: host(h).mac, supported: false, enabled: false, persistence: null }),
        }),
      ),
    );
    const status = await json<WolStatus>('wol', 'status', LAB);
    expect(status.value.nodes.map((n) => [n.node, n.nic?.supported, n.ready])).toEqual([
      [controlPlane, false, false],
      [worker, false, false],
    ]);
    expect(status.value.nodes[0]?.note).toMatch(/eth0 does not support Wake-on-LAN .*; it comes back when its power does/);
    expect(status.value.clusters).toEqual([{ cluster: LAB, state: 'Partial', ready: 0, enabled: 2, total: 2 }]);
    const table = await run('wol', 'enable', worker);
    expect(table.stdout).toMatch(new RegExp(`^${worker}\\s+unsupported\\s+eth0\\s+-\\s+-\\s+-\\s+eth0 does not support Wake-on-LAN`, 'm'));
  }, 120_000);

  it('collect-mac --source facts reads the MAC and broadcast of the interface that carries the address', async () => {
    db.prepare('UPDATE nodes SET wol_mac = NULL, wol_broadcast = NULL WHERE hostname = ?').run(worker);
    const collected = await json<{ hosts: { host: string; status: string; source: string; mac: string; broadcast: string }[] }>(
      'wol', 'collect-mac', worker, '--source', 'facts',
    );
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.value.hosts).toEqual([expect.objectContaining({ host: worker, status: 'stored', source: 'facts', mac: host(worker).mac, broadcast: info.broadcast })]);
    expect(getNode(db, worker).wol).toMatchObject({ mac: host(worker).mac, broadcast: info.broadcast, port: 9 });
  }, 120_000);

  /** The firmware's log lines that powered `hostname` on with a 108-byte SecureOn packet. */
  const secureWakes = (hostname: string): number =>
    readFileSync(path.join(stateDir, 'wol.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(`magic packet of 108 bytes with SecureOn for ${host(hostname).mac} (${hostname})`)).length;

  it('the worker\'s NIC wants a SecureOn password: packets without it, or malformed, wake nothing; wake-node --wait sends it and says how long it took', async () => {
    const configured = await run('wol', 'configure', worker, '--secureon', SECUREON);
    expect(configured.exitCode, configured.stderr).toBe(0);
    await setLabSecureOn(stateDir, host(worker).mac, SECUREON);
    await powerOff(worker);
    const firmwareLog = path.join(stateDir, 'wol.log');
    const ignoredBefore = (readFileSync(firmwareLog, 'utf8').match(/ignored/g) ?? []).length;
    const good = buildMagicPacket(host(worker).mac);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff; // the 16th copy differs
    const wrong = buildMagicPacket(host(worker).mac, Uint8Array.of(1, 2, 3, 4, 5, 6));
    const packets = [corrupt, good.subarray(0, 101), buildMagicPacket('02:00:00:00:00:77'), good, wrong];
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    socket.setBroadcast(true);
    for (const packet of packets) await new Promise<void>((resolve, reject) => socket.send(packet, 9, info.broadcast, (e) => (e ? reject(e) : resolve())));
    socket.close();
    await sleep(5000);
    // The listener got all five and turned each down; the host stayed off.
    const log = readFileSync(firmwareLog, 'utf8');
    expect((log.match(/ignored/g) ?? []).length).toBe(ignoredBefore + packets.length);
    expect(log).toContain(`ignored 102 bytes from`);
    expect(log).toMatch(new RegExp(`ignored 102 bytes from \\S+: no SecureOn password for ${host(worker).mac}`));
    expect(log).toMatch(new RegExp(`ignored 108 bytes from \\S+: wrong SecureOn password for ${host(worker).mac}`));
    expect(await running(worker)).toBe(false);

    const woken = await json<WakeResult>('wol', 'wake-node', worker, '--wait');
    expect(woken.exitCode, woken.stderr).toBe(0);
    expect(woken.value.nodes).toEqual([expect.objectContaining({ host: worker, outcome: 'woken', packets: 3, packetBytes: 108 })]);
    expect(woken.value.nodes[0]?.seconds).toBeLessThan(60);
    expect(await running(worker)).toBe(true);
    expect(secureWakes(worker)).toBeGreaterThan(0);
    expect((await ansible(worker, '-m', 'ansible.builtin.ping')).exitCode).toBe(0);
    const op = getOperation(db, woken.value.operationId);
    expect(op).toMatchObject({ kind: 'wake', target: worker, status: 'succeeded' });
    expect(JSON.stringify(op)).not.toContain(SECUREON);

    const text = await run('wol', 'wake-node', worker);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${worker}\\s+worker\\s+ethernet\\s+already up\\s+-\\s+-\\s+SSH answers at ${host(worker).address.replace(/\./g, '\\.')}:22$`, 'm'));
  }, 240_000);

  it('wake-cluster --wait wakes the control plane first, and the workers once it answers', async () => {
    await Promise.all([powerOff(worker), powerOff(controlPlane)]);
    const before = secureWakes(worker);
    const woken = await json<WakeResult>('wol', 'wake-cluster', LAB, '--wait');
    expect(woken.exitCode, woken.stderr).toBe(0);
    const [first, second] = woken.value.nodes;
    expect([first?.host, first?.role, first?.outcome, first?.packetBytes]).toEqual([controlPlane, 'control-plane', 'woken', 102]);
    expect([second?.host, second?.role, second?.outcome, second?.packetBytes]).toEqual([worker, 'worker', 'woken', 108]);
    // The control plane got its packets first, and the worker its own only after the control plane answered SSH.
    const at = (iso: string | null | undefined): number => Date.parse(iso ?? '');
    expect(at(first?.sentAt)).toBeLessThan(at(second?.sentAt));
    expect(at(second?.sentAt)).toBeGreaterThanOrEqual(at(first?.upAt));
    expect(await running(worker)).toBe(true);
    expect(await running(controlPlane)).toBe(true);
    expect(secureWakes(worker)).toBeGreaterThan(before);

    const again = await json<WakeResult>('wol', 'wake-cluster', LAB);
    expect(again.value.nodes.map((n) => n.outcome)).toEqual(['already up', 'already up']);
    const status = await json<WolStatus>('wol', 'status', worker);
    expect(status.value.nodes[0]?.lastWake).toMatchObject({ result: 'already up', operationId: again.value.operationId });
  }, 240_000);

  it('the wake_on_lan and startup rule actions, and mko cluster startup, wake it the same way, SecureOn included', async () => {
    const runner = new FleetActionRunner({ db, dbPath, dataDir: dir });
    const request = (action: 'wake_on_lan' | 'startup'): ActionRequest =>
      // The runner reads the rule's action and options and the cluster; the rest is the watcher's.
      ({ rule: { action, options: {} }, cluster: getCluster(db, LAB), linkOperation: () => {} }) as unknown as ActionRequest;
    for (const action of ['wake_on_lan', 'startup'] as const) {
      await powerOff(worker);
      const before = secureWakes(worker);
      const result = await runner.run(request(action), new AbortController().signal);
      expect(result.status, `${action}: ${result.detail}`).toBe('succeeded');
      expect(getOperation(db, result.operationId ?? 0)).toMatchObject({ kind: action === 'wake_on_lan' ? 'wake' : 'startup', status: 'succeeded' });
      expect(await running(worker)).toBe(true);
      expect(secureWakes(worker), action).toBeGreaterThan(before);
    }

    await powerOff(worker);
    const before = secureWakes(worker);
    const started = await json<{ operation: number; run: PowerRun | null }>('cluster', 'startup', LAB);
    expect(started.exitCode, started.stderr).toBe(0);
    // The control plane comes first in a startup, then the workers.
    expect(started.value.run?.steps.map((s) => [s.hostname, s.method, s.outcome])).toEqual([
      [controlPlane, 'none', 'already up'],
      [worker, 'wol', 'powered on'],
    ]);
    expect(await running(worker)).toBe(true);
    expect(secureWakes(worker)).toBeGreaterThan(before);
    const op = getOperation(db, started.value.operation);
    expect(JSON.stringify(op)).not.toContain(SECUREON);
  }, 360_000);

  it('playbooks/wake.yml does the same with plain Ansible given the secrets (and sends nothing in check mode); without them it says what is missing', async () => {
    await powerOff(worker);
    const play = (check: boolean, secrets: boolean) =>
      runPlaybook(db, {
        kind: 'wake',
        target: LAB,
        playbook: 'wake.yml',
        dbPath,
        limit: worker,
        extraVars: { mko_hosts_target: `cluster_${LAB}`, ...(secrets ? wakeSecrets(db, dir, [getNode(db, worker)]).extraVars : {}) },
        check,
      });
    const missing = await play(false, false);
    expect(missing.status).toBe('failed');
    expect(missing.output).toContain(
      // The record's log (the history callback's) gives a failure's msg alone.
      `fatal: [${worker}]: FAILED! => ${worker}: needs its SecureOn password, which mko keeps out of the inventory: run mko wol wake-node ${worker} (or pass wol_wake_secureon in a vault file)`,
    );
    const checked = await play(true, true);
    expect(checked.status, checked.output).toBe('succeeded');
    await sleep(3000);
    expect(await running(worker)).toBe(false);
    const before = secureWakes(worker);
    const woken = await play(false, true);
    expect(woken.status, woken.output).toBe('succeeded');
    expect(woken.output).toMatch(/TASK \[wol : Wake the node from the controller\][^]*changed: \[.*-> localhost\]/);
    expect(woken.output).not.toContain(SECUREON);
    expect(await running(worker)).toBe(true);
    expect(secureWakes(worker)).toBeGreaterThan(before);
    const again = await play(false, true);
    expect(again.recap[worker]).toMatchObject({ changed: 0, failed: 0 });
  }, 240_000);

  it('rtc-alarm says clearly when a node has no RTC, and writes 0 then +SECONDS to the wake alarm', async () => {
    const none = await run('wol', 'rtc-alarm', worker, '--in', '120');
    expect(none.exitCode).toBe(2);
    expect(none.stderr.trim().split('\n').pop()).toMatch(
      new RegExp(`^mko: could not set the RTC wake alarm of ${worker}: ${worker} has no RTC wake alarm \\(/sys/class/rtc/rtc0/wakealarm does not exist\\)`),
    );
    // The lab has no RTC: a plain file stands in for the sysfs attribute.
    const alarm = '/root/mko-test-wakealarm';
    expect((await ansible(worker, '--become', '-m', 'ansible.builtin.copy', '-a', `dest=${alarm} content=1700000000 mode=0600`)).exitCode).toBe(0);
    const set = await setRtcAlarm(db, worker, 120, { dbPath, dataDir: dataDirFor(dbPath), vars: { wol_rtc_wakealarm: alarm } });
    expect(set).toMatchObject({ node: worker, value: '+120', seconds: 120 });
    expect(getOperation(db, set.operationId ?? 0)).toMatchObject({ kind: 'wol-rtc-alarm', status: 'succeeded' });
  }, 120_000);

  it('disable turns it off in mko; status then says Disabled', async () => {
    const disabled = await json<NicRunResult>('wol', 'disable', LAB);
    expect(disabled.exitCode, disabled.stderr).toBe(0);
    const status = await json<WolStatus>('wol', 'status', LAB);
    expect(status.value.clusters).toEqual([{ cluster: LAB, state: 'Disabled', ready: 0, enabled: 0, total: 2 }]);
    const skipped = await json<WakeResult>('wol', 'wake-node', worker);
    expect(skipped.exitCode).toBe(2);
    expect(skipped.value.nodes[0]).toMatchObject({ outcome: 'skipped' });
  }, 120_000);
});
