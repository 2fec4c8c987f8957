// `mko operation cancel`: stop a running operation from any shell by asking the process that
// records it, then wait for the row to be finished. An mko process is asked through the row
// (cancel_requested_at) and SIGUSR2: a one-shot command stops as a whole, a long-lived one (mko
// web, the UPS watcher) stops that run only and goes on. A plain ansible-playbook with the
// history callback gets SIGINT, its own Ctrl-C.
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getOperation, markInterrupted, type Operation, type OperationRow } from './operations.js';
import { processStart, statField } from './process-identity.js';

export const CANCEL_MEANING = 'cancelled by mko operation cancel';
/** The abort reason of a run stopped because mko operation cancel asked for it. */
export const CANCEL_REQUEST = 'mko operation cancel';
const POLL_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface CancelResult {
  /** cancelled: the recorder stopped it; interrupted: its recorder was already gone. */
  outcome: 'cancelled' | 'interrupted';
  /** The process signalled, and with what (none when the recorder was gone). */
  signalled?: { pid: number; signal: NodeJS.Signals };
  operation: Operation;
}

type Recorder = Pick<OperationRow, 'id' | 'status' | 'source' | 'pid' | 'pid_start'>;

function recorderOf(db: Db, id: number): Recorder {
  const row = db.prepare('SELECT id, status, source, pid, pid_start FROM operations WHERE id = ?').get(id) as Recorder | undefined;
  if (!row) throw new UserError(`no operation ${id}: see mko operation list`);
  return row;
}

/** Whether pid leads its own process group (a shell's job): field 5 of /proc/<pid>/stat is its pgid. */
const leadsGroup = (pid: number): boolean => statField(pid, 5) === String(pid);

/** Whether mko operation cancel has asked for operation id to stop. */
export const cancelRequested = (db: Db, id: number): boolean =>
  db.prepare('SELECT cancel_requested_at IS NOT NULL FROM operations WHERE id = ?').pluck().get(id) === 1;

const notRunning = (id: number, status: string): UserError => new UserError(`operation ${id} already finished (${status}): nothing to cancel`);

/**
 * Cancel operation id: signal its recorder, if it is still the process that started it (never a
 * later process with the same PID), and wait up to timeoutMs for it to record the end. A row left
 * running by a recorder that is gone is marked interrupted, its orphaned group stopped.
 */
export async function cancelOperation(db: Db, id: number, options: { timeoutMs?: number } = {}): Promise<CancelResult> {
  const row = recorderOf(db, id);
  if (row.status !== 'running') throw notRunning(id, row.status);
  const start = row.pid === null ? null : processStart(row.pid);
  if (row.pid === null || start === null || start !== row.pid_start) {
    markInterrupted(db);
    const operation = getOperation(db, id);
    if (operation.status === 'running') {
      // Alive by its PID, but with no start recorded to prove it is still the recorder.
      throw new UserError(`operation ${id}: cannot tell whether process ${row.pid} still runs it (no process start recorded): stop it yourself, or see mko operation show ${id}`);
    }
    return { outcome: 'interrupted', operation };
  }
  const signal: NodeJS.Signals = row.source === 'ansible' ? 'SIGINT' : 'SIGUSR2';
  if (row.source !== 'ansible') {
    db.prepare("UPDATE operations SET cancel_requested_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND status = 'running'").run(id);
  }
  // Ctrl-C reaches a shell job's whole group (the workers' commands too): do the same when
  // ansible-playbook leads its group; never a group it merely shares (with its parent).
  const recipient = row.source === 'ansible' && leadsGroup(row.pid) ? -row.pid : row.pid;
  const send = (): void => {
    try {
      process.kill(recipient, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') {
        throw new UserError(`operation ${id}: not allowed to signal process ${row.pid} (another user's): run mko operation cancel as that user`);
      }
      // It ended just now; the row tells how.
    }
  };
  send();
  let lastSent = Date.now();
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const now = recorderOf(db, id);
    if (now.status !== 'running') break;
    if (Date.now() > deadline) {
      throw new UserError(`operation ${id} is still running ${Math.round((options.timeoutMs ?? 15_000) / 1000)} s after ${signal} to process ${row.pid}: see mko operation show ${id}`);
    }
    // The recorder died without recording (a second signal, a crash): tidy as a restart would.
    if (processStart(row.pid) !== row.pid_start) markInterrupted(db);
    else {
      // An mko recorder between two steps had no run to stop yet: ask again until one stops.
      if (signal === 'SIGUSR2' && Date.now() - lastSent >= 1000) {
        send();
        lastSent = Date.now();
      }
      await sleep(POLL_MS);
    }
  }
  // The recorder says only that it was signalled (mko: "stopped (SIGTERM)"; ansible-playbook:
  // "interrupted"): say who asked.
  db.prepare(
    `UPDATE operations SET status = 'cancelled', exit_meaning = @meaning
     WHERE id = @id AND (status = 'cancelled' OR (status = 'interrupted' AND source = 'ansible'))`,
  ).run({ id, meaning: CANCEL_MEANING });
  const operation = getOperation(db, id);
  const signalled = { pid: row.pid, signal };
  if (operation.status === 'cancelled') return { outcome: 'cancelled', signalled, operation };
  if (operation.status === 'interrupted') return { outcome: 'interrupted', signalled, operation };
  // It ended on its own before the signal took effect.
  throw notRunning(id, operation.status);
}
