// Per-host cgroups. On a cgroup-v1 hybrid machine (no systemd as PID 1) every host needs its own
// name=systemd and unified cgroup, else the hosts share one and units fail with 219/CGROUP.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signal, waitForExit } from './process.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The hierarchies a lab cgroup lives in: name=systemd + unified (hybrid) or the v2 root. */
export function hierarchies(): string[] {
  const hybrid = ['systemd', 'unified'].map((h) => join(CGROUP_ROOT, h));
  if (hybrid.every((h) => existsSync(join(h, 'cgroup.procs')))) return hybrid;
  if (existsSync(join(CGROUP_ROOT, 'cgroup.procs'))) return [CGROUP_ROOT];
  throw new Error(`no usable cgroup hierarchy under ${CGROUP_ROOT}`);
}

/** The cgroup.procs files a spawning shell writes its PID to, one per hierarchy. */
export async function createCgroup(name: string): Promise<string[]> {
  return Promise.all(
    hierarchies().map(async (h) => {
      await mkdir(join(h, name), { recursive: true });
      return join(h, name, 'cgroup.procs');
    }),
  );
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

async function pidsUnder(dir: string): Promise<number[]> {
  const own = await readFile(join(dir, 'cgroup.procs'), 'utf8').then(
    (t) => t.split('\n').filter((l) => l !== '').map(Number),
    () => [],
  );
  const nested = await Promise.all((await subdirs(dir)).map(pidsUnder));
  return [...own, ...nested.flat()];
}

/** Every PID in the named cgroup and its descendants, across all hierarchies. */
export async function cgroupPids(name: string): Promise<number[]> {
  const all = await Promise.all(hierarchies().map((h) => pidsUnder(join(h, name))));
  return [...new Set(all.flat())];
}

/** Names of top-level lab cgroups matching `pattern`, in any hierarchy. */
export async function findCgroups(pattern: RegExp): Promise<string[]> {
  const names = (await Promise.all(hierarchies().map(subdirs)))
    .flat()
    .map((d) => d.slice(d.lastIndexOf('/') + 1))
    .filter((n) => pattern.test(n));
  return [...new Set(names)];
}

const RMDIR_BUSY_TIMEOUT_MS = 10_000;

async function removeTree(dir: string): Promise<void> {
  for (const child of await subdirs(dir)) await removeTree(child);
  // EBUSY while the threads of a killed process are still exiting (its leader already a zombie)
  const deadline = Date.now() + RMDIR_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return await rmdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

/** Removes the cgroup (children first: cgroup dirs are removed with rmdir, never rm -r). */
export async function removeCgroup(name: string): Promise<void> {
  for (const h of hierarchies()) await removeTree(join(h, name));
}

/** SIGKILL to every process left in a lab cgroup (all of them were started by the lab). */
export async function killCgroup(cgroup: string): Promise<void> {
  const pids = await cgroupPids(cgroup);
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitForExit(pids, 5000);
}
