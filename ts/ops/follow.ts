// Following an operation while it runs, by polling the database: what the CLI's progress line,
// `mko operation follow` and the API's event stream read. Any process can follow any run; the
// history callback writes log and events at most 0.2 s after they happen.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/index.js';
import { listEvents, type OperationEvent } from './events.js';
import { getOperation, type Operation } from './operations.js';

/** Where a reader is: the last event it has and how much of the log (in SQLite characters). */
export interface FollowCursor {
  seq: number;
  logLength: number;
}

export type FollowItem =
  | { type: 'event'; event: OperationEvent; cursor: FollowCursor }
  | { type: 'log'; text: string; cursor: FollowCursor }
  | { type: 'end'; operation: Operation; cursor: FollowCursor };

export interface FollowOptions {
  from?: FollowCursor;
  /** Between polls; default 150 ms. */
  intervalMs?: number;
  /** Stops following (the iterator ends without an 'end' item). */
  signal?: AbortSignal;
}

export const START: FollowCursor = { seq: 0, logLength: 0 };

/**
 * Operation id's new events and log text since a cursor, as they are written, ending with its
 * final record once it is no longer running.
 */
export async function* followOperation(db: Db, id: number, options: FollowOptions = {}): AsyncGenerator<FollowItem> {
  let cursor = options.from ?? START;
  const interval = options.intervalMs ?? 150;
  const readLog = db.prepare('SELECT length(log) AS length, substr(log, @from + 1) AS text FROM operations WHERE id = @id');
  const readStatus = db.prepare('SELECT status FROM operations WHERE id = ?').pluck();
  getOperation(db, id); // a missing operation is the caller's error, at once
  while (!options.signal?.aborted) {
    // The status first: once it says finished, what is read after it is the whole record.
    const finished = readStatus.get(id) !== 'running';
    for (const event of listEvents(db, id, cursor.seq)) {
      cursor = { ...cursor, seq: event.seq };
      yield { type: 'event', event, cursor };
    }
    const log = readLog.get({ id, from: cursor.logLength }) as { length: number; text: string } | undefined;
    if (log && log.length > cursor.logLength) {
      cursor = { ...cursor, logLength: log.length };
      yield { type: 'log', text: log.text, cursor };
    }
    if (finished) {
      yield { type: 'end', operation: getOperation(db, id), cursor };
      return;
    }
    try {
      await sleep(interval, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return; // aborted
    }
  }
}
