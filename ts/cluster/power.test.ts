// Cluster shutdown and startup. The lab part runs the built mko against real systemd hosts that
// really power off (and come back only on a magic packet to the lab bridge, or when the Proxmox API
// starts them), with the real ansible-playbook over SSH; MicroK8s on them is the lab's test double.
// The one other double is a Proxmox VE API on 127.0.0.1 (real HTTPS, a CA made by openssl here)
// whose "start" boots a lab host, as Proxmox would boot the VM.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, insertNode, listNodes, validateNodeInput } from '../fleet/index.js';
import { labStatus, powerOn } from '../lab/index.js';
import { setLabSecureOn } from '../lab/wol-listener.js';
import { getOperation, startOperation } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { readPowerReports } from './power.js';
import { getPowerRun, savePowerRun, type PowerRun, type PowerStep } from './power-store.js';
import type { NodeStatus } from './status-store.js';
import { expectLabGone, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('pwr');
const host = (n: number): string => `${LAB}-n${n}`;
const SECUREON = '11:22:33:44:55:66';

interface CliPower {
  operation: number;
  status: string;
  exitMeaning: string;
  run: PowerRun | null;
}

describe('power reports and the power sequence in the database', () => {
  let dir: string;
  let db: Db;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-power-unit-'));
    db = openDb(':memory:');
    addCluster(db, { name: 'home' });
    for (const [i, name] of ['pi1', 'pi2', 'pi3'].entries()) {
      insertNode(db, validateNodeInput({ hostname: name, address: `10.0.9.${i + 1}`, sshUser: 'root', cluster: 'home', role: i < 2 ? 'control-plane' : 'worker' }), null);
    }
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads what shutdown.yml writes, stores it with the operation and gives it back in the order it went', () => {
    const write = (name: string, value: unknown): void => writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(value));
    write('_run', {
      kind: 'shutdown', mode: 'graceful', check: false, began_at: '2026-01-01T10:00:00.000Z', finished_at: '2026-01-01T10:00:20.000Z',
      kubectl_host: 'pi1', drain_timeout: 30, backup: { host: 'pi1', file: '/var/snap/microk8s/common/backups/mko-x.tar.gz', ok: true, detail: 'backed up' },
    });
    const node = (host: string, step: number, part: string, at: number, extra: object = {}) => ({
      host, name: host, role: part === 'worker' ? 'worker' : 'control-plane', ups_host: false, part, step, datastore_role: part === 'worker' ? '' : 'voter',
      outcome: 'powered off', stop_requested_at: `2026-01-01T10:00:${at}.000Z`, powered_off_at: `2026-01-01T10:00:${at + 3}.000Z`,
      microk8s: 'stopped', drain: '', cordoned: true, detail: '', ...extra,
    });
    write('pi3', node('pi3', 1, 'worker', 10, { drain: 'drain timed out after 30 s, went on: error: timed out', step: '1' }));
    write('pi2', node('pi2', 2, 'voter', 14));
    write('pi1', node('pi1', 3, 'voter', 17, { powered_off_at: null, outcome: 'still up', detail: 'its SSH port still answered 300 s after the power-off' }));
    const operationId = startOperation(db, { kind: 'shutdown', target: 'home' });
    const nodes = listNodes(db, { cluster: 'home' });
    const run = readPowerReports(dir, 'shutdown', nodes, { operationId, clusterId: 1 });
    expect(run).not.toBeNull();
    savePowerRun(db, run as PowerRun);
    const stored = getPowerRun(db, operationId);
    expect(stored).toMatchObject({ kind: 'shutdown', mode: 'graceful', check: false, kubectlHost: 'pi1', drainTimeout: 30, backupFile: '/var/snap/microk8s/common/backups/mko-x.tar.gz' });
    expect(stored?.steps.map((s) => [s.step, s.hostname, s.part, s.outcome])).toEqual([
      [2, 'pi2', 'voter', 'powered off'],
      [3, 'pi1', 'voter', 'still up'],
      [null, 'pi3', 'worker', 'powered off'], // a step of the wrong type is not trusted; no step goes last
    ]);
    expect(stored?.steps[1]).toMatchObject({ doneAt: null, detail: 'its SSH port still answered 300 s after the power-off', cordoned: true });
    expect(stored?.steps[2]?.drain).toMatch(/^drain timed out/);
    // A run that wrote nothing (stopped before its plan) stores nothing; a node without a report says so.
    expect(readPowerReports(path.join(dir, 'none'), 'shutdown', nodes, { operationId, clusterId: 1 })).toBeNull();
    rmSync(path.join(dir, 'pi2.json'));
    expect(readPowerReports(dir, 'shutdown', nodes, { operationId, clusterId: 1 })?.steps.find((s) => s.hostname === 'pi2')).toMatchObject({ outcome: 'no report' });
  });

  it('mko cluster shutdown refuses what it cannot do before running anything', async () => {
    await buildCli();
    const dbPath = path.join(dir, 'cli.db');
    const file = openDb(dbPath);
    addCluster(file, { name: 'home' });
    insertNode(file, validateNodeInput({ hostname: 'pi1', address: '10.0.9.1', sshUser: 'root', cluster: 'home', role: 'control-plane' }), null);
    file.close();
    const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
    const cases: [string[], RegExp][] = [
      [['cluster', 'shutdown', 'home'], /say how: --graceful .* or --force/],
      [['cluster', 'shutdown', 'home', '--graceful', '--force', '--yes'], /say how: --graceful .* or --force/],
      [['cluster', 'shutdown', 'home', '--graceful', '--yes', '--drain-timeout', '-5'], /invalid --drain-timeout -5: must be whole seconds from 0/],
      [['cluster', 'shutdown', 'home', '--graceful', '--yes', '--drain-timeout', '2.5'], /invalid --drain-timeout 2.5/],
      [['cluster', 'shutdown', 'home', '--force', '--yes', '--drain-timeout', '5'], /--drain-timeout applies to a graceful shutdown only/],
      [['cluster', 'shutdown', 'home', '--graceful'], /Power off all 1 nodes of cluster home \(graceful\): not confirmed; pass --yes/],
      [['cluster', 'startup', 'nope'], /no cluster/i],
    ];
    for (const [args, message] of cases) {
      const result = await run(...args);
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n').pop(), args.join(' ')).toMatch(message);
    }
    const after = openDb(dbPath);
    expect(after.prepare('SELECT count(*) AS n FROM operations').get()).toEqual({ n: 0 });
    after.close();
  });
});

/**
 * Proxmox VE's API for the calls a wake makes, on node "pve": status/current, status/start (whose
 * task, polled at tasks/{upid}/status, runs until the lab host it boots is started, then stops with
 * exitstatus OK).
 */
class FakePve {
  server!: Server;
  port = 0;
  requests: { method: string; url: string }[] = [];
  private readonly tasks = new Map<string, { done: boolean }>();
  constructor(
    private readonly auth: string,
    private readonly vms: Map<number, string>,
    private readonly running: (hostname: string) => Promise<boolean>,
    private readonly start: (hostname: string) => Promise<void>,
  ) {}

  async listen(cert: string, key: string): Promise<void> {
    this.server = createServer({ cert, key }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, data: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ data }));
    };
    this.requests.push({ method: req.method ?? '', url: req.url ?? '' });
    if (req.headers.authorization !== this.auth) return send(401, null);
    const task = /^\/api2\/json\/nodes\/pve\/tasks\/([^/]+)\/status$/.exec(req.url ?? '');
    if (task && req.method === 'GET') {
      const found = this.tasks.get(decodeURIComponent(task[1] ?? ''));
      if (!found) return send(500, null);
      return send(200, found.done ? { status: 'stopped', exitstatus: 'OK', type: 'qmstart' } : { status: 'running', type: 'qmstart' });
    }
    const route = /^\/api2\/json\/nodes\/pve\/qemu\/(\d+)\/status\/(current|start)$/.exec(req.url ?? '');
    const hostname = route ? this.vms.get(Number(route[1])) : undefined;
    if (!route || !hostname) return send(404, null);
    if (route[2] === 'current' && req.method === 'GET') return send(200, { vmid: Number(route[1]), status: (await this.running(hostname)) ? 'running' : 'stopped' });
    if (route[2] === 'start' && req.method === 'POST') {
      const upid = `UPID:pve:0000AAAA:00BBBBBB:0000000${this.tasks.size}:qmstart:${route[1]}:root@pam!mko:`;
      const started = { done: false };
      this.tasks.set(upid, started);
      void this.start(hostname).finally(() => (started.done = true));
      return send(200, upid);
    }
    send(501, null);
  }
}

describe.skipIf(!isRoot)('cluster shutdown and startup on a lab (skipped unless root)', () => {
  let dir: string;
  let dbPath: string;
  let stateDir: string;
  let db: Db;
  let pve: FakePve | undefined;
  const pveSecret = '7c1e5d0b-8f1a-4b7e-9c3d-2a6f0e4b8c11';

  const run = (args: string[], input?: string) =>
    execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, timeout: 900_000, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) });
  const json = async <T>(...args: string[]): Promise<{ exitCode: number | undefined; stderr: string; value: T }> => {
    const r = await run([...args, '--json']);
    let value: T;
    try {
      value = JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`mko ${args.join(' ')} printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
    }
    return { exitCode: r.exitCode, stderr: r.stderr, value };
  };
  const power = (...args: string[]) => json<CliPower>('cluster', ...args);
  const ansible = (target: string, ...args: string[]) =>
    execa('ansible', [target, ...args], { cwd: projectRoot, env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1' }, reject: false, timeout: 120_000 });
  const powerState = async (): Promise<Record<string, boolean>> =>
    Object.fromEntries(((await labStatus({ name: LAB, stateDir }))?.hosts ?? []).map((h) => [h.hostname, h.running]));
  const allHosts = [1, 2, 3, 4, 5, 6].map(host);
  /** Every host really on (or off): the lab's own view of its machines, not SSH. */
  async function expectPower(on: boolean): Promise<void> {
    // SSH closes a moment before the machine is gone: give the last one a few seconds.
    const deadline = Date.now() + 20_000;
    let state = await powerState();
    while (Object.values(state).some((running) => running !== on) && Date.now() < deadline) {
      await sleep(500);
      state = await powerState();
    }
    expect(state).toEqual(Object.fromEntries(allHosts.map((h) => [h, on])));
  }
  /** Each step's nodes, and every node of a step confirmed off before the next step was asked to stop. */
  function expectOrder(run: PowerRun | null, steps: [string, string[]][]): void {
    expect(run).not.toBeNull();
    const done = (run?.steps ?? []).filter((s) => s.step !== null);
    const byStep = new Map<number, PowerStep[]>();
    for (const s of done) byStep.set(s.step ?? 0, [...(byStep.get(s.step ?? 0) ?? []), s]);
    expect([...byStep.keys()]).toEqual(steps.map((_, i) => i + 1));
    expect([...byStep.values()].map((group) => [group[0]?.part, group.map((s) => s.hostname).sort()])).toEqual(steps.map(([part, hosts]) => [part, [...hosts].sort()]));
    const at = (iso: string | null): number => Date.parse(iso ?? 'missing');
    let previousOff = 0;
    for (const group of byStep.values()) {
      for (const s of group) {
        expect(s.outcome, s.hostname).toBe('powered off');
        expect(at(s.requestedAt), `${s.hostname} was asked to stop only after the step before it was off`).toBeGreaterThanOrEqual(previousOff);
        expect(at(s.doneAt), `${s.hostname} off after its stop was requested`).toBeGreaterThanOrEqual(at(s.requestedAt));
      }
      previousOff = Math.max(...group.map((s) => at(s.doneAt)));
    }
  }
  /** A shutdown through the CLI that must succeed, leave every host really off and go in these steps. */
  async function shutdownInSteps(args: string[], steps: [string, string[]][]): Promise<{ operation: number; seq: PowerRun | null }> {
    const result = await power('shutdown', LAB, ...args, '--yes');
    expect(result.exitCode, result.stderr).toBe(0);
    await expectPower(false);
    expectOrder(result.value.run, steps);
    return { operation: result.value.operation, seq: result.value.run };
  }
  const changedByHost = (operationId: number): Record<string, number> =>
    Object.fromEntries(Object.entries(getOperation(db, operationId).recap).map(([h, r]) => [h, r.changed]));

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-power-lab-'));
    dbPath = path.join(dir, 'mko.db');
    stateDir = path.join(dir, 'lab', LAB);
    db = openDb(dbPath);
    await run(['lab', 'down', '--name', LAB]);
    const up = await run(['lab', 'up', '--name', LAB, '--nodes', '6']);
    expect(up.exitCode, up.stderr).toBe(0);
    // 3 voters, a standby (the 4th control plane node) and 2 workers.
    expect((await run(['cluster', 'assign', LAB, host(4), '--role', 'control-plane'])).exitCode).toBe(0);
    const setup = await run(['cluster', 'setup', LAB]);
    expect(setup.exitCode, setup.stdout.slice(-3000)).toBe(0);
    // A worker whose NIC wants a SecureOn password: the startup must send it, or it stays off.
    const mac = (await labStatus({ name: LAB, stateDir }))?.hosts.find((h) => h.hostname === host(5))?.mac ?? '';
    expect((await run(['wol', 'configure', host(5), '--secureon', '-'], SECUREON)).exitCode).toBe(0);
    await setLabSecureOn(stateDir, mac, SECUREON);
  }, 900_000);

  afterAll(async () => {
    try {
      await pve?.close();
      if (dbPath) {
        const down = await run(['lab', 'down', '--name', LAB]);
        expect(down.exitCode, down.stderr).toBe(0);
      }
    } finally {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await expectLabGone(LAB);
  }, 300_000);

  it('check mode: both say what they would do and power nothing off', async () => {
    const shutdown = await power('shutdown', LAB, '--graceful', '--check');
    expect(shutdown.exitCode, shutdown.stderr).toBe(0);
    expect(shutdown.value.run).toMatchObject({ kind: 'shutdown', check: true, mode: 'graceful', kubectlHost: host(1), backupFile: null, backupDetail: 'would back up' });
    expect(shutdown.value.run?.steps.map((s) => [s.step, s.hostname, s.outcome])).toEqual([
      [1, host(5), 'would power off'],
      [1, host(6), 'would power off'],
      [2, host(4), 'would power off'],
      [3, host(2), 'would power off'],
      [4, host(3), 'would power off'],
      [5, host(1), 'would power off'],
    ]);
    const log = getOperation(db, shutdown.value.operation).log;
    // The lab's name carries $MKO_TEST_LAB_SUFFIX.
    const [n1, n2, n3, n4, n5, n6] = allHosts;
    expect(log).toContain(
      `Check mode, nothing is done; would do a graceful shutdown of cluster_${LAB}: 1. worker: ${n5}, ${n6} (together); 2. standby: ${n4}; 3. voter: ${n2}; 4. voter: ${n3}; 5. voter: ${n1}`,
    );
    expect(log).toContain(`Would back up the datastore on ${n1}`);
    expect(log).toContain(`Would cordon ${n5} and drain it (at most 120 s) through ${n1}`);

    const startup = await power('startup', LAB, '--check');
    expect(startup.exitCode, startup.stderr).toBe(0);
    expect(startup.value.run?.steps.map((s) => s.outcome)).toEqual(allHosts.map(() => 'already up'));
    await expectPower(true);
    const cordoned = await ansible(host(1), '--become', '-m', 'ansible.builtin.command', '-a', '/snap/bin/microk8s kubectl get nodes');
    expect(cordoned.stdout).not.toMatch(/SchedulingDisabled/);
  }, 600_000);

  it('graceful: backup, then workers together, the standby, the voters one at a time; every host really off', async () => {
    const started = Date.now();
    const { operation, seq } = await shutdownInSteps(['--graceful'], [
      ['worker', [host(5), host(6)]],
      ['standby', [host(4)]],
      ['voter', [host(2)]],
      ['voter', [host(3)]],
      ['voter', [host(1)]],
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(seq).toMatchObject({ mode: 'graceful', check: false, kubectlHost: host(1), drainTimeout: 120, backupDetail: 'backed up' });
    expect(seq?.backupFile).toMatch(/^\/var\/snap\/microk8s\/common\/backups\/mko-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(seq?.steps.filter((s) => s.part === 'worker').map((s) => s.drain)).toEqual(['drained', 'drained']);
    expect(seq?.steps.every((s) => s.cordoned && s.microk8s === 'stopped')).toBe(true);
    expect(seq?.steps.filter((s) => s.part === 'voter').map((s) => s.datastoreRole)).toEqual(['voter', 'voter', 'voter']);
    expect(getPowerRun(db, operation)).toEqual(seq);
    expect(getOperation(db, operation)).toMatchObject({ kind: 'shutdown', target: LAB, status: 'succeeded' });
    console.log(`graceful shutdown of 6 nodes: ${seconds.toFixed(1)} s\n${seq?.steps.map((s) => `${s.step} ${s.hostname} ${s.part} ${s.requestedAt} ${s.doneAt}`).join('\n')}`);
  }, 600_000);

  it('startup: control plane first, voters back, then the workers; HA, all Ready, nothing cordoned; a second run changes nothing', async () => {
    const result = await power('startup', LAB);
    expect(result.exitCode, result.stderr).toBe(0);
    await expectPower(true);
    const seq = result.value.run;
    expect(seq?.readySeconds).toBeGreaterThan(0);
    expect(seq?.readyAt).toBeTruthy();
    expect(seq?.voters).toHaveLength(3);
    // Within a phase the nodes go together: in the order of their names here.
    const byName = [...(seq?.steps ?? [])].sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.hostname.localeCompare(b.hostname));
    expect(byName.map((s) => [s.hostname, s.step, s.method, s.outcome, s.microk8s, s.ready])).toEqual([
      ...[1, 2, 3, 4].map((n) => [host(n), 1, 'wol', 'powered on', 'started', true]),
      ...[5, 6].map((n) => [host(n), 2, 'wol', 'powered on', 'started', true]),
    ]);
    // The workers were woken only once the control plane was up with its voters.
    const at = (iso: string | null): number => Date.parse(iso ?? 'missing');
    const controlPlaneUp = Math.max(...(seq?.steps.filter((s) => s.step === 1).map((s) => at(s.doneAt)) ?? []));
    for (const worker of seq?.steps.filter((s) => s.step === 2) ?? []) expect(at(worker.requestedAt)).toBeGreaterThan(controlPlaneUp);
    console.log(`startup to Ready: ${seq?.readySeconds} s`);
    // The worker with SecureOn got it: the lab's firmware woke it on a 108-byte packet only.
    expect((await execa('cat', [path.join(stateDir, 'wol.log')])).stdout).toMatch(new RegExp(`magic packet of 108 bytes with SecureOn for \\S+ \\(${host(5)}\\)`));
    expect(JSON.stringify(getOperation(db, result.value.operation))).not.toContain(SECUREON);

    const status = await json<{ nodes: NodeStatus[] }>('cluster', 'status', LAB);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.value.nodes.map((n) => [n.hostname, n.reachable, n.running, n.ready, n.ha])).toEqual(allHosts.map((h) => [h, true, true, true, true]));
    expect(status.value.nodes.filter((n) => n.haRole === 'voter')).toHaveLength(3);
    const nodes = await ansible(host(1), '--become', '-m', 'ansible.builtin.command', '-a', '/snap/bin/microk8s kubectl get nodes -o json');
    const items = (JSON.parse(nodes.stdout.slice(nodes.stdout.indexOf('{'))) as { items: { metadata: { name: string }; spec: { unschedulable?: boolean } }[] }).items;
    expect(items.map((i) => [i.metadata.name, i.spec.unschedulable ?? false])).toEqual(allHosts.map((h) => [h, false]));

    const again = await power('startup', LAB);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(changedByHost(again.value.operation)).toEqual(Object.fromEntries(allHosts.map((h) => [h, 0])));
    expect(again.value.run?.steps.map((s) => [s.outcome, s.microk8s])).toEqual(allHosts.map(() => ['already up', 'already running']));
    expect(again.value.run?.readySeconds).toBeGreaterThan(0);
  }, 600_000);

  it('force: workers, then the whole control plane at once; startup wakes a Proxmox VM through the API', async () => {
    // pwr-n6 becomes a "VM" on a Proxmox VE whose start boots the lab host: it has no magic packet
    // any more, so only the API call can bring it back.
    const ca = path.join(dir, 'pve');
    rmSync(ca, { recursive: true, force: true });
    await execa('mkdir', ['-p', ca]);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await execa('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mko test Proxmox CA'], { cwd: ca });
    await execa('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pve'], { cwd: ca });
    writeFileSync(path.join(ca, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    await execa('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], { cwd: ca });
    pve = new FakePve(
      `PVEAPIToken=root@pam!mko=${pveSecret}`,
      new Map([[106, host(6)]]),
      async (h) => (await powerState())[h] ?? false,
      (h) => powerOn({ name: LAB, stateDir }, h),
    );
    await pve.listen((await execa('cat', [path.join(ca, 'server.pem')])).stdout, (await execa('cat', [path.join(ca, 'server.key')])).stdout);
    const added = await run(['proxmox', 'add', 'pvefake', '--url', `https://127.0.0.1:${pve.port}`, '--token-id', 'root@pam!mko', '--token-secret', '-', '--ca-file', path.join(ca, 'ca.pem')], pveSecret);
    expect(added.exitCode, added.stderr).toBe(0);
    const configured = await run(['wol', 'configure', host(6), '--method', 'proxmox', '--proxmox-host', 'pvefake', '--proxmox-node', 'pve', '--vmid', '106']);
    expect(configured.exitCode, configured.stderr).toBe(0);
    db.prepare('UPDATE nodes SET wol_mac = NULL WHERE hostname = ?').run(host(6));

    const text = await run(['cluster', 'shutdown', LAB, '--force', '--yes']);
    expect(text.exitCode, text.stderr).toBe(0);
    await expectPower(false);
    // The table, in the order it went.
    const table = text.stdout.slice(text.stdout.lastIndexOf('STEP  NODE'));
    expect(table.split('\n')[0]).toMatch(/^STEP\s+NODE\s+PART\s+STOP REQUESTED\s+POWERED OFF\s+TOOK\s+RESULT\s+DRAIN\s+DETAIL$/);
    expect(table.split('\n').slice(1, 7).map((l) => l.split(/\s+/).slice(0, 3).join(' ')).sort()).toEqual([
      `1 ${host(5)} worker`,
      `1 ${host(6)} worker`,
      ...[1, 2, 3, 4].map((n) => `2 ${host(n)} control-plane`),
    ]);
    expect(text.stdout).toMatch(new RegExp(`force shutdown of cluster ${LAB}: succeeded \\(ok\\), operation (\\d+)`));
    const operationId = Number(/operation (\d+)\s*$/.exec(text.stdout.trim())?.[1]);
    const run2 = getPowerRun(db, operationId);
    expectOrder(run2, [
      ['worker', [host(5), host(6)]],
      ['control-plane', [1, 2, 3, 4].map(host)],
    ]);
    expect(run2).toMatchObject({ mode: 'force', backupFile: null });
    expect(run2?.steps.every((s) => !s.cordoned && s.drain === '')).toBe(true);

    const started = await power('startup', LAB);
    expect(started.exitCode, started.stderr).toBe(0);
    await expectPower(true);
    expect(started.value.run?.steps.find((s) => s.hostname === host(6))).toMatchObject({ method: 'proxmox', outcome: 'powered on', microk8s: 'started', ready: true });
    expect(pve.requests.filter((r) => r.method === 'POST').map((r) => r.url)).toEqual(['/api2/json/nodes/pve/qemu/106/status/start']);
    // The start task was waited for until it stopped (the module polls its UPID).
    expect(pve.requests.filter((r) => r.url.includes('/tasks/UPID')).length).toBeGreaterThan(0);
    // The token went to Ansible in a 0600 file: never into the operation's arguments or log.
    const op = getOperation(db, started.value.operation);
    expect(JSON.stringify(op.args) + op.log).not.toContain(pveSecret);
  }, 600_000);

  it('the UPS host goes last; a drain that fails is noted and the shutdown goes on; a second run finds every node off', async () => {
    // pwr-n2, a voter, runs the UPS's NUT primary (mko ups add puts it in ups_hosts).
    const ups = await run(['ups', 'add', 'rack', '--host', host(2), '--driver', 'dummy-ups', '--port', 'dummy.dev']);
    expect(ups.exitCode, ups.stderr).toBe(0);
    // Kubernetes forgets pwr-n5: draining it fails for real (NotFound).
    const deleted = await ansible(host(1), '--become', '-m', 'ansible.builtin.command', '-a', `/snap/bin/microk8s kubectl delete node ${host(5)}`);
    expect(deleted.exitCode, deleted.stdout).toBe(0);

    // The datastore's roles as they are now, not as the set-up made them: a voter that came back
    // late from the force shutdown above may have given its seat to the standby (dqlite does, and
    // so does the test double). The order follows from them: the kubectl host (the first voter in
    // inventory order) is the last voter, and the UPS host goes after everything.
    const status = await json<{ nodes: NodeStatus[] }>('cluster', 'status', LAB);
    expect(status.exitCode, status.stderr).toBe(0);
    const role = (h: string): string | null => status.value.nodes.find((n) => n.hostname === h)?.haRole ?? null;
    const kubectl = allHosts.find((h) => role(h) === 'voter');
    const controlPlane = [1, 3, 4].map(host);
    const standby = controlPlane.filter((h) => role(h) === 'standby' || role(h) === 'spare');
    const voters = controlPlane.filter((h) => !standby.includes(h));
    const lastVoters = [...voters.filter((h) => h !== kubectl), ...voters.filter((h) => h === kubectl)];
    const { seq } = await shutdownInSteps(['--graceful', '--drain-timeout', '5'], [
      ['worker', [host(5), host(6)]],
      ...(standby.length > 0 ? [['standby', standby] as [string, string[]]] : []),
      ...lastVoters.map((h) => ['voter', [h]] as [string, string[]]),
      ['ups-host', [host(2)]],
    ]);
    expect(seq?.drainTimeout).toBe(5);
    expect(seq?.steps.find((s) => s.hostname === host(5))?.drain).toBe(`drain failed (exit 1), went on: Error from server (NotFound): nodes "${host(5)}" not found`);
    expect(seq?.steps.find((s) => s.hostname === host(6))?.drain).toBe('drained');
    expect(seq?.steps.find((s) => s.hostname === host(2))).toMatchObject({ upsHost: true, datastoreRole: role(host(2)) });

    const again = await power('shutdown', LAB, '--graceful', '--yes');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.value.run?.steps.map((s) => [s.hostname, s.step, s.outcome])).toEqual(allHosts.map((h) => [h, null, 'already off']));
    expect(changedByHost(again.value.operation)).toEqual(Object.fromEntries(allHosts.map((h) => [h, 0])));
    expect(getOperation(db, again.value.operation).recap[host(1)]?.unreachable).toBe(0);
  }, 600_000);
});
