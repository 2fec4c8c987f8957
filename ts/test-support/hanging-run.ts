// Real processes for tests of stopping a run: the built mko running a real ansible-playbook that
// hangs in ssh (its ProxyCommand is a long sleep, so the group holds ansible-playbook, a worker,
// ssh and the sleep), with helpers to find and wait for processes.
import { execa, type ResultPromise } from 'execa';
import { mkoBin } from './cli.js';
import { pollUntil } from './lab.js';


/** Poll probe every 100 ms until it gives a value (the lab tests' pollUntil, at a faster pace). */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  return pollUntil(what, timeoutMs, async () => probe(), 100);
}

/** SIGKILL what a failed test left running: PIDs, and process groups as negative numbers. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export async function pidsOf(pattern: string): Promise<number[]> {
  const found = await execa('pgrep', ['-f', pattern], { reject: false });
  return found.stdout.split('\n').filter(Boolean).map(Number);
}

/** The processes of group pgid that still run (zombies, dead and waiting for init to reap them, do not). */
export async function liveMembers(pgid: number): Promise<string[]> {
  const ps = await execa('ps', ['-eo', 'pid=,pgid=,stat=,args=']);
  return ps.stdout.split('\n').filter((line) => {
    const [, group, stat] = line.trim().split(/\s+/);
    return group === String(pgid) && !stat?.startsWith('Z');
  });
}

export interface HangingRun {
  mko: ResultPromise<{ reject: false; all: true }>;
  /** A pgrep -f pattern matching only this run's sleep. */
  marker: string;
  secret: string;
}

/**
 * `mko ups setup` (fleet dbPath) for a new UPS whose password is a fresh secret, its ssh stuck in
 * a ProxyCommand that sleeps: returns once the sleep runs, i.e. the whole group is up and the
 * secret is on disk. The mko's PID goes into started at once, for the caller to kill after.
 */
export async function startHangingRun(dbPath: string, name: string, address: string, started: number[]): Promise<HangingRun> {
  const secret = `sg-secret-${name}-${process.pid}-${Date.now()}`;
  const seconds = 3_000_000 + Math.floor(Math.random() * 1_000_000);
  const marker = `^sleep ${seconds}$`;
  const env = { MKO_DB: dbPath };
  await execa(mkoBin, ['node', 'add', '--hostname', `host-${name}`, '--ip', address, '--user', 'nobody'], { env });
  await execa(mkoBin, ['ups', 'add', name, '--host', `host-${name}`, '--user', 'sgmon', '--password', secret], { env });
  const mko = execa(mkoBin, ['ups', 'setup', name], {
    env: { ...env, ANSIBLE_SSH_ARGS: `-o ProxyCommand="sleep ${seconds}"` },
    reject: false,
    all: true,
  });
  if (mko.pid) started.push(mko.pid);
  await waitFor('the ssh ProxyCommand sleep', async () => ((await pidsOf(marker)).length > 0 ? true : undefined));
  return { mko, marker, secret };
}
