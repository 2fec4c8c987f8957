// The lab's state file: what `up` made, so `down`, `status` and the WoL firmware (another
// process) can find it. Written atomically (temp file + rename), updated under a lock file.
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';
import type { LabSubnet } from './naming.js';
import type { LabOptions } from './types.js';

export interface HostState {
  index: number;
  hostname: string;
  address: string;
  mac: string;
  netns: string;
  veth: string;
  cgroup: string;
  /** PID of the host's systemd-nspawn process, null when never started. */
  pid: number | null;
}

export interface LabState extends LabSubnet {
  version: 1;
  name: string;
  /** false until `up` finished: a state with complete=false is a crashed or running `up`. */
  complete: boolean;
  bridge: string;
  user: string;
  userPassword: string;
  adminKey: string;
  lowerDir: string;
  wolPid: number | null;
  hosts: HostState[];
}

const STATE_FILE = 'lab.json';
const LOCK_STALE_MS = 10_000;

export const statePath = (stateDir: string): string => join(stateDir, STATE_FILE);

export async function readState(stateDir: string): Promise<LabState | null> {
  let text: string;
  try {
    text = await readFile(statePath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return JSON.parse(text) as LabState;
}

/** The state of lab `o.name` in `o.stateDir`, or null; another lab's state there is refused. */
export async function readLabState(o: LabOptions): Promise<LabState | null> {
  const state = await readState(resolve(o.stateDir));
  if (state && state.name !== o.name) {
    throw new LabError(`${o.stateDir} holds lab "${state.name}", not "${o.name}"`);
  }
  return state;
}

export async function writeState(stateDir: string, state: LabState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const target = statePath(stateDir);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, target);
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(statePath(stateDir), { force: true });
}

/** Read-modify-write under `lab.json.lock`, so the CLI and the WoL firmware never lose an update. */
export async function updateState(
  stateDir: string,
  change: (state: LabState) => void,
): Promise<LabState | null> {
  const lock = `${statePath(stateDir)}.lock`;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await rm(lock, { force: true });
      else await sleep(20);
    }
  }
  try {
    const state = await readState(stateDir);
    if (state) {
      change(state);
      await writeState(stateDir, state);
    }
    return state;
  } finally {
    await rm(lock, { force: true });
  }
}
