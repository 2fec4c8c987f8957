import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findCgroups } from './cgroup.js';
import { LabError, labDown, labStatus, labUp, sshArgs } from './index.js';
import type { LabInfo } from './index.js';
import { leftoverPatterns } from './naming.js';
import { commandLine } from './process.js';
import { readState } from './state.js';

const isRoot = process.getuid?.() === 0;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('lab without root', () => {
  it('refuses with a LabError that says how to run it', async () => {
    const getuid = vi.spyOn(process as unknown as { getuid: () => number }, 'getuid').mockReturnValue(1000);
    try {
      const o = { name: 'nope', stateDir: '/nonexistent' };
      await expect(labUp({ ...o, nodes: 1 })).rejects.toThrow(LabError);
      await expect(labDown(o)).rejects.toThrow(/needs root: run it as root/);
    } finally {
      getuid.mockRestore();
    }
  });
});

describe.skipIf(!isRoot)('lab of 2 hosts (skipped unless root: it makes netns, bridges, mounts)', () => {
  const name = `t${process.pid % 100000}`;
  let stateDir = '';
  let info: LabInfo | null = null;
  const o = () => ({ name, stateDir });
  const ssh = (address: string, command: string) =>
    execa('ssh', [...sshArgs(stateDir, address), command], { reject: false, timeout: 30_000 });

  afterAll(async () => {
    if (stateDir) {
      await labDown(o());
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('boots, powers off, wakes on LAN and leaves nothing behind', { timeout: 600_000 }, async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'mko-lab-test-'));
    info = await labUp({ ...o(), nodes: 2 });
    const [h1, h2] = info.hosts;
    if (!h1 || !h2) throw new Error('expected 2 hosts');
    expect(info.hosts.every((h) => h.running)).toBe(true);
    expect(h1.hostname).toBe(`${name}-n1`);

    const machineIds: string[] = [];
    for (const h of info.hosts) {
      const r = await ssh(h.address, 'hostname; cat /etc/machine-id; cat /sys/class/net/eth0/address');
      expect(r.exitCode, r.stderr).toBe(0);
      const [hostname, machineId, mac] = r.stdout.trim().split('\n');
      expect(hostname).toBe(h.hostname);
      expect(mac).toBe(h.mac);
      machineIds.push(machineId ?? '');
    }
    expect(machineIds[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(machineIds[0]).not.toBe(machineIds[1]);

    // The host powers itself off: its nspawn process ends and status says so.
    await ssh(h2.address, 'poweroff');
    await until('host 2 to be off', async () => {
      const s = await labStatus(o());
      return s?.hosts[1]?.running === false ? true : undefined;
    }, 30_000);
    expect((await labStatus(o()))?.hosts[0]?.running).toBe(true);

    // Only a magic packet on the lab's broadcast brings it back.
    await execa('wakeonlan', ['-i', info.broadcast, h2.mac]);
    await until('host 2 to answer ssh', async () => {
      const r = await ssh(h2.address, 'cat /etc/machine-id');
      return r.exitCode === 0 ? r.stdout.trim() : undefined;
    }, 60_000).then((id) => expect(id).toBe(machineIds[1]));
    expect((await labStatus(o()))?.hosts[1]?.running).toBe(true);

    const state = await readState(stateDir);
    const pids = [...(state?.hosts ?? []).map((h) => h.pid), state?.wolPid].filter((p): p is number => p !== null);
    expect(pids.length).toBe(3);

    await labDown(o());
    await labDown(o()); // a second run is safe
    expect(await labStatus(o())).toBeNull();
    const patterns = leftoverPatterns(name);
    const netns = (await execa('ip', ['netns', 'list'])).stdout;
    expect(netns.split('\n').filter((l) => patterns.netns.test(l.split(' ')[0] ?? ''))).toEqual([]);
    const links = (await execa('ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toContain(info.bridge);
    expect(links.split('\n').filter((l) => patterns.veth.test(l.split(': ')[1]?.split('@')[0] ?? ''))).toEqual([]);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(stateDir);
    expect(await findCgroups(patterns.cgroup)).toEqual([]);
    for (const pid of pids) expect(await commandLine(pid)).toBeNull();
    expect((await stat('/dev/null')).mode & 0o777).toBe(0o666);
  });
});

describe.skipIf(!isRoot)('mko lab down on a machine with no fleet yet (skipped unless root)', () => {
  it('succeeds, as the main job\'s first step needs, and makes no database or folder', async () => {
    const { buildCli, mkoBin } = await import('../test-support/cli.js');
    await buildCli();
    const dir = await mkdtemp(join(tmpdir(), 'mko-lab-nofleet-'));
    try {
      const dbPath = join(dir, 'fresh', 'mko.db');
      const result = await execa(mkoBin, ['lab', 'down', '--name', 'nofleet'], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Lab nofleet is down$/m);
      await expect(stat(join(dir, 'fresh'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
