// On a two-host lab (MicroK8s there is the lab's test double), with the built CLI and the real
// ansible-playbook: a node that is really powered off is UNREACHABLE in `cluster status` (human
// and --json), and `cluster startup` wakes it with magic packets that carry its SecureOn password,
// caught on the lab bridge beside the lab's Wake-on-LAN firmware.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { labStatus, parseMagicPacket, sshArgs, type LabInfo } from '../lab/index.js';
import { getOperation } from '../ops/index.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { tearDownLab, testLabName } from '../test-support/lab.js';
import type { NodeStatus } from './status-store.js';
import type { PowerRun } from './power-store.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('se');
const n1 = `${LAB}-n1`;
const n2 = `${LAB}-n2`;
const SECUREON = 'a1:b2:c3:d4:e5:f6';

describe.skipIf(!isRoot)('an unreachable node and a SecureOn wake on a lab (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let stateDir = '';
  let lab: LabInfo;
  const run = (args: string[], input?: string) =>
    execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, all: true, timeout: 900_000, ...(input === undefined ? { stdin: 'ignore' as const } : { input }) });
  const running = async (hostname: string): Promise<boolean> => ((await labStatus({ name: LAB, stateDir }))?.hosts ?? []).find((h) => h.hostname === hostname)?.running ?? false;

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-reach-wake-'));
    dbPath = path.join(dir, 'mko.db');
    stateDir = path.join(dir, 'lab', LAB);
    const up = await run(['lab', 'up', '--name', LAB, '--nodes', '2']);
    expect(up.exitCode, up.all).toBe(0);
    lab = (await labStatus({ name: LAB, stateDir })) as LabInfo;
    const setup = await run(['cluster', 'setup', LAB]);
    expect(setup.exitCode, setup.all?.slice(-3000)).toBe(0);
  }, 900_000);

  afterAll(async () => {
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('a powered-off node is UNREACHABLE, the one that runs is not', async () => {
    const address = lab.hosts.find((h) => h.hostname === n2)?.address ?? '';
    await execa('ssh', [...sshArgs(stateDir, address), 'systemctl poweroff'], { reject: false });
    const deadline = Date.now() + 30_000;
    while ((await running(n2)) && Date.now() < deadline) await sleep(500);
    expect(await running(n2)).toBe(false);

    const json = await run(['cluster', 'status', LAB, '--json']);
    expect(json.exitCode, json.all).toBe(0);
    const nodes = (JSON.parse(json.stdout) as { nodes: NodeStatus[] }).nodes;
    expect(nodes.map((n) => [n.hostname, n.reachable])).toEqual([
      [n1, true],
      [n2, false],
    ]);
    expect(nodes[0]).toMatchObject({ installed: true, running: true, problem: null });
    expect(nodes[1]?.problem).toMatch(/ssh/i);

    const table = await run(['cluster', 'status', LAB]);
    expect(table.exitCode, table.all).toBe(0);
    const line = (host: string): string => table.stdout.split('\n').find((l) => l.startsWith(`${host} `)) ?? '';
    expect(line(n1).split(/\s+/)[1]).toBe('yes');
    expect(line(n2).split(/\s+/)[1]).toBe('UNREACHABLE');
  }, 300_000);

  it('startup wakes it with magic packets that carry its SecureOn password, which no log holds', async () => {
    expect(await running(n2)).toBe(false);
    const configured = await run(['wol', 'configure', n2, '--secureon', '-'], SECUREON);
    expect(configured.exitCode, configured.all).toBe(0);
    const mac = lab.hosts.find((h) => h.hostname === n2)?.mac ?? '';

    // Beside the lab's firmware (same address and port, SO_REUSEADDR): both get every broadcast.
    const packets: Buffer[] = [];
    const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (msg) => packets.push(msg));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: lab.broadcast, port: 9 }, resolve);
    });
    let started;
    try {
      started = await run(['cluster', 'startup', LAB, '--json']);
    } finally {
      socket.close();
    }
    expect(started.exitCode, started.all).toBe(0);
    const result = JSON.parse(started.stdout) as { operation: number; run: PowerRun };
    expect(result.run.steps.find((s) => s.hostname === n2)).toMatchObject({ method: 'wol', outcome: 'powered on', ready: true });
    expect(await running(n2)).toBe(true);

    const forN2 = packets.map((p) => ({ length: p.length, packet: parseMagicPacket(p) })).filter((p) => p.packet?.mac === mac);
    expect(forN2.length).toBeGreaterThanOrEqual(1);
    expect(forN2.map((p) => [p.length, p.packet?.password])).toEqual(forN2.map(() => [108, SECUREON]));

    const db = openDb(dbPath);
    try {
      const op = getOperation(db, result.operation);
      expect(JSON.stringify(op.args) + op.log).not.toContain(SECUREON);
    } finally {
      db.close();
    }
  }, 600_000);
});
