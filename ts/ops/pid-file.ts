// A long-running mko process (the UPS watcher, the web server) found through a PID file next to
// the database. The file holds the process's start too, so a later process that got the same PID
// is never taken for it (or signalled).
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { isAlive } from './operations.js';
import { ownStart } from './process-identity.js';

export interface ServiceInfo {
  pid: number;
  pidStart?: string | null;
  startedAt: string;
  dbPath: string;
}

/** The live process a PID file names, or undefined (no file, unreadable, or that process is gone). */
export function readPidFile<T extends ServiceInfo>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as T;
    return typeof info.pid === 'number' && isAlive(info.pid, info.pidStart) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Write this process's PID file atomically (0600); returns what it wrote. */
export function writePidFile<T extends object>(file: string, details: T & { dbPath: string }): T & ServiceInfo {
  const info = { pid: process.pid, pidStart: ownStart, startedAt: new Date().toISOString(), ...details };
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return info;
}

/** Remove the PID file if it is still this process's. */
export function removeOwnPidFile(file: string): void {
  const current = readPidFile(file);
  if (!current || current.pid === process.pid) rmSync(file, { force: true });
}

/**
 * SIGTERM the process a PID file names and wait until it is gone; with force, SIGKILL it when it
 * has not stopped in time. Undefined when none runs.
 */
export async function stopPidFileProcess<T extends ServiceInfo>(file: string, what: string, options: { timeoutMs?: number; force?: boolean } = {}): Promise<T | undefined> {
  const info = readPidFile<T>(file);
  if (!info) return undefined;
  const timeoutMs = options.timeoutMs ?? 20_000;
  process.kill(info.pid, 'SIGTERM');
  let deadline = Date.now() + timeoutMs;
  let killed = false;
  while (isAlive(info.pid, info.pidStart)) {
    if (Date.now() > deadline) {
      if (!options.force || killed) throw new UserError(`${what} (pid ${info.pid}) did not stop within ${timeoutMs / 1000} s${options.force === false ? ': add --force to kill it' : ''}`);
      process.kill(info.pid, 'SIGKILL');
      killed = true;
      deadline = Date.now() + 5000;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (killed) rmSync(file, { force: true });
  return info;
}
