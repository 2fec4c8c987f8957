import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { currentInvocation } from './invocation.js';
import { reportOperationStart } from './background.js';
import { ownStart, processStart } from './process-identity.js';

export type OperationStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export const OPERATION_STATUSES: readonly OperationStatus[] = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'];

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

/** A host's last failure in a run, as the history callback recorded it. */
export interface HostFailure {
  task: string | null;
  status: 'failed' | 'unreachable';
  message: string;
  /** The task ignored it (ignore_errors, ignore_unreachable): the run went on for that host. */
  ignored: boolean;
}

export interface Operation {
  id: number;
  kind: string;
  target: string;
  playbook: string | null;
  args: string[];
  source: 'mko' | 'ansible';
  status: OperationStatus;
  exitCode: number | null;
  exitMeaning: string | null;
  pid: number | null;
  startedAt: string;
  finishedAt: string | null;
  recap: Record<string, HostRecap>;
  failures: Record<string, HostFailure>;
  /** What the playbook reported with set_stats: per host, and "_run" for the whole run. */
  results: Record<string, Record<string, unknown>>;
  /** The mko command line that started it (retry re-runs it), null when there is none. */
  command: string[] | null;
  cwd: string | null;
  retryOf: number | null;
  log: string;
}

/** A row of the operations table as SQLite returns it (JSON columns still text). */
export interface OperationRow {
  id: number;
  kind: string;
  target: string;
  playbook: string | null;
  args: string;
  source: 'mko' | 'ansible';
  status: OperationStatus;
  exit_code: number | null;
  exit_meaning: string | null;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  recap: string;
  log: string;
  pid_start: string | null;
  child_pgid: number | null;
  child_start: string | null;
  failures: string;
  results: string;
  command: string | null;
  cwd: string | null;
  retry_of: number | null;
}

function toOperation(row: OperationRow): Operation {
  return {
    id: row.id,
    kind: row.kind,
    target: row.target,
    playbook: row.playbook,
    args: JSON.parse(row.args) as string[],
    source: row.source,
    status: row.status,
    exitCode: row.exit_code,
    exitMeaning: row.exit_meaning,
    pid: row.pid,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    recap: JSON.parse(row.recap) as Record<string, HostRecap>,
    failures: JSON.parse(row.failures) as Record<string, HostFailure>,
    results: JSON.parse(row.results) as Record<string, Record<string, unknown>>,
    command: row.command === null ? null : (JSON.parse(row.command) as string[]),
    cwd: row.cwd,
    retryOf: row.retry_of,
    log: row.log,
  };
}

export interface NewOperation {
  kind: string;
  target: string;
  playbook?: string;
  args?: string[];
}

/** A new running operation owned by this process, with the command that started it (see setInvocation). */
export function startOperation(db: Db, op: NewOperation): number {
  const { command, retryOf } = currentInvocation();
  const result = db
    .prepare(
      `INSERT INTO operations (kind, target, playbook, args, source, status, pid, pid_start, command, retry_of)
       VALUES (@kind, @target, @playbook, @args, 'mko', 'running', @pid, @pidStart, @command, @retryOf)`,
    )
    .run({
      kind: op.kind,
      target: op.target,
      playbook: op.playbook ?? null,
      args: JSON.stringify(op.args ?? []),
      pid: process.pid,
      pidStart: ownStart,
      command: command ? JSON.stringify(command) : null,
      retryOf,
    });
  const id = Number(result.lastInsertRowid);
  reportOperationStart(id);
  return id;
}

/** Remember the process group ansible-playbook runs in, so a later mko can stop it if we die. */
export function recordChild(db: Db, id: number, pgid: number): void {
  db.prepare('UPDATE operations SET child_pgid = @pgid, child_start = @start WHERE id = @id').run({ id, pgid, start: processStart(pgid) });
}

export function appendLog(db: Db, id: number, text: string): void {
  if (text) db.prepare('UPDATE operations SET log = log || ? WHERE id = ?').run(text, id);
}

export interface OperationEnd {
  status: Exclude<OperationStatus, 'running'>;
  exitCode: number | null;
  exitMeaning: string;
  recap?: Record<string, HostRecap>;
}

export function finishOperation(db: Db, id: number, end: OperationEnd): void {
  db.prepare(
    `UPDATE operations SET status = @status, exit_code = @exitCode, exit_meaning = @exitMeaning,
       recap = coalesce(@recap, recap), finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = @id`,
  ).run({
    id,
    status: end.status,
    exitCode: end.exitCode,
    exitMeaning: end.exitMeaning,
    recap: end.recap ? JSON.stringify(end.recap) : null,
  });
}

export interface ListOperationsFilter {
  status?: OperationStatus;
  limit?: number;
}

export function listOperations(db: Db, filter: ListOperationsFilter = {}): Operation[] {
  const rows = db
    .prepare(
      `SELECT * FROM operations WHERE (@status IS NULL OR status = @status) ORDER BY id DESC LIMIT @limit`,
    )
    .all({ status: filter.status ?? null, limit: filter.limit ?? 20 }) as OperationRow[];
  return rows.map(toOperation);
}

/** The newest operation of one of `kinds` on one of `targets` (names, as operations record them), if any. */
export function latestOperation(db: Db, kinds: readonly string[], targets: readonly string[]): Operation | undefined {
  const row = db
    .prepare('SELECT * FROM operations WHERE kind IN (SELECT value FROM json_each(@kinds)) AND target IN (SELECT value FROM json_each(@targets)) ORDER BY id DESC LIMIT 1')
    .get({ kinds: JSON.stringify(kinds), targets: JSON.stringify(targets) }) as OperationRow | undefined;
  return row ? toOperation(row) : undefined;
}

export function getOperation(db: Db, id: number): Operation {
  const row = db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as OperationRow | undefined;
  if (!row) throw new UserError(`no operation ${id}: see mko operation list`);
  return toOperation(row);
}

/**
 * Whether process pid still runs; with start (see processStart), whether it is still that
 * process and not a later one that got the same PID.
 */
export function isAlive(pid: number, start?: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!start) return true;
  const current = processStart(pid);
  // No /proc to tell (or it ended a moment ago): the PID alone decides.
  return current === null || current === start;
}

/** Kill what is left of an operation's process group, if its leader is still the one we started. */
function stopOrphanedGroup(pgid: number | null, start: string | null): boolean {
  if (pgid === null || start === null || !isAlive(pgid, start)) return false;
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/**
 * Operations still marked running whose process is gone were cut off by a crash or a kill:
 * stop the ansible-playbook they left running, mark them interrupted. Runs whose process is
 * still alive (another mko, a plain ansible-playbook) are left alone.
 */
export function markInterrupted(db: Db): number {
  const running = db
    .prepare("SELECT id, pid, pid_start, child_pgid, child_start FROM operations WHERE status = 'running'")
    .all() as Pick<OperationRow, 'id' | 'pid' | 'pid_start' | 'child_pgid' | 'child_start'>[];
  const dead = running.filter((op) => op.pid === null || !isAlive(op.pid, op.pid_start));
  const stopped = new Set(dead.filter((op) => stopOrphanedGroup(op.child_pgid, op.child_start)).map((op) => op.id));
  const mark = db.prepare(
    `UPDATE operations SET status = 'interrupted', exit_meaning = @meaning,
       finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = @id AND status = 'running'`,
  );
  const meaning = 'the process running it ended without recording a result';
  writeTransaction(db, () =>
    dead.forEach((op) => mark.run({ id: op.id, meaning: stopped.has(op.id) ? `${meaning}; its ansible-playbook, still running, was stopped` : meaning })),
  );
  return dead.length;
}
