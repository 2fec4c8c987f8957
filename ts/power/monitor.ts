// `mko ups monitor start|stop|status`: the watcher as a foreground process (for systemd), found
// through a PID file next to the database.
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { readPidFile, removeOwnPidFile, stopPidFileProcess, writePidFile, type ServiceInfo } from '../ops/index.js';
import { FleetActionRunner } from './actions.js';
import type { ResumeReport } from './engine.js';
import { actionsWithStatus, getWatchState } from './store.js';
import { listUpses } from './ups.js';
import { Watcher, type WatcherOptions } from './watcher.js';

export interface MonitorInfo extends ServiceInfo {
  intervalMs: number;
}

export const pidFileFor = (dbPath: string): string => `${dbPath}.ups-monitor.pid`;

/** The running watcher's PID file, or undefined when none runs (a stale file is ignored). */
export function runningMonitor(dbPath: string): MonitorInfo | undefined {
  return readPidFile<MonitorInfo>(pidFileFor(dbPath));
}

export interface MonitorOptions extends Omit<WatcherOptions, 'db' | 'runner' | 'log'> {
  db: Db;
  dbPath: string;
  dataDir: string;
  /** Stops the watcher when aborted (SIGTERM, Ctrl-C). */
  signal: AbortSignal;
  log: (line: string) => void;
  /** Called once the first polls are done and pending actions are re-armed. */
  onStarted?: (report: ResumeReport) => void;
}

/** Run the watcher until the signal stops it. Refuses to run twice on one database. */
export async function runMonitor(options: MonitorOptions): Promise<void> {
  const { db, dbPath, dataDir, signal, log, onStarted, ...settings } = options;
  const other = runningMonitor(dbPath);
  if (other) throw new UserError(`a UPS monitor already runs on ${dbPath} (pid ${other.pid}, since ${other.startedAt}): mko ups monitor stop`);
  const file = pidFileFor(dbPath);
  writePidFile(file, { dbPath, intervalMs: settings.intervalMs ?? 1000 });
  const watcher = new Watcher({ ...settings, db, log, runner: new FleetActionRunner({ db, dbPath, dataDir, log }) });
  try {
    if (signal.aborted) return;
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    onStarted?.(await watcher.start());
    await stopped;
    log('stopping: pending actions stay scheduled for the next start');
  } finally {
    await watcher.stop();
    removeOwnPidFile(file);
  }
}

/** Signal the running watcher and wait until it is gone. */
export function stopMonitor(dbPath: string, timeoutMs = 20_000): Promise<MonitorInfo | undefined> {
  return stopPidFileProcess<MonitorInfo>(pidFileFor(dbPath), 'the UPS monitor', { timeoutMs });
}

export interface MonitorStatus {
  running: boolean;
  pid: number | null;
  startedAt: string | null;
  intervalMs: number | null;
  /** The latest poll of any UPS. */
  lastPollAt: string | null;
  upses: { ups: string; polledAt: string | null; status: string | null; error: string | null }[];
  pendingActions: number;
}

export function monitorStatus(db: Db, dbPath: string): MonitorStatus {
  const info = runningMonitor(dbPath);
  const upses = listUpses(db).map((u) => {
    const state = getWatchState(db, u.id);
    return { ups: u.name, polledAt: state?.at ?? null, status: state?.status ?? null, error: state?.error ?? null };
  });
  const polls = upses.map((u) => u.polledAt).filter((a): a is string => a !== null).sort();
  return {
    running: info !== undefined,
    pid: info?.pid ?? null,
    startedAt: info?.startedAt ?? null,
    intervalMs: info?.intervalMs ?? null,
    lastPollAt: polls.at(-1) ?? null,
    upses,
    pendingActions: actionsWithStatus(db, 'pending').length,
  };
}
