// Processes the lab started, looked at through /proc: alive (not a zombie) and still the same
// program (a recycled PID must never be signalled).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The process's argv, or null when it is gone or a zombie. */
export async function commandLine(pid: number): Promise<string[] | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // state is the first field after the parenthesised command name
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return null;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

/** True while `pid` runs and its command line contains every one of `markers`. */
export async function isRunningAs(pid: number | null, markers: readonly string[]): Promise<boolean> {
  if (pid === null) return false;
  const argv = await commandLine(pid);
  return argv !== null && markers.every((m) => argv.some((a) => a.includes(m)));
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Waits until every PID has exited (or is a zombie); true when they all did in time. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(pids.map(async (p) => (await commandLine(p)) !== null));
    if (!alive.includes(true)) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/**
 * Starts `command` in its own session, inside the given cgroups, output appended to `logFile`,
 * and returns its PID. A shell moves itself into the cgroups first and then execs
 * `setsid command...`, so the PID stays the same throughout and nothing escapes the cgroups.
 */
export function spawnInCgroups(
  command: readonly string[],
  cgroupProcsFiles: readonly string[],
  logFile: string,
  env: Record<string, string> = {},
): number {
  const script = 'for f in $MKO_CGROUP_PROCS; do echo $$ > "$f" || exit 1; done\nexec setsid "$@"';
  const log = openSync(logFile, 'a');
  try {
    const child = spawn('sh', ['-c', script, 'sh', ...command], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...env, MKO_CGROUP_PROCS: cgroupProcsFiles.join(' ') },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command.join(' ')}`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}
