// operation_events: what the mko.fleet.history callback saw of a run, step by step (written by
// the callback only; read here).
import type { Db } from '../db/index.js';

export type EventType = 'play_start' | 'task_start' | 'handler_start' | 'host_result' | 'retry' | 'recap';

export interface OperationEvent {
  seq: number;
  time: string;
  type: EventType;
  play: string | null;
  task: string | null;
  taskIndex: number | null;
  taskCount: number | null;
  host: string | null;
  status: string | null;
  message: string | null;
  attempt: number | null;
}

interface EventRow {
  seq: number;
  time: string;
  type: EventType;
  play: string | null;
  task: string | null;
  task_index: number | null;
  task_count: number | null;
  host: string | null;
  status: string | null;
  message: string | null;
  attempt: number | null;
}

/** Operation id's events after seq `after`, in order. */
export function listEvents(db: Db, id: number, after = 0): OperationEvent[] {
  const rows = db
    .prepare('SELECT * FROM operation_events WHERE operation_id = @id AND seq > @after ORDER BY seq')
    .all({ id, after }) as EventRow[];
  return rows.map((row) => ({
    seq: row.seq,
    time: row.time,
    type: row.type,
    play: row.play,
    task: row.task,
    taskIndex: row.task_index,
    taskCount: row.task_count,
    host: row.host,
    status: row.status,
    message: row.message,
    attempt: row.attempt,
  }));
}
