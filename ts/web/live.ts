// Live streams (Server-Sent Events): an operation's log as it is written, and one feed of fleet
// changes (UPS readings and events, operations starting and ending) shared by every client.
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { writeStamp, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import type { RunRegistry } from './runs.js';

/**
 * How often a stream looks whether anything was written (see writeStamp; it reads the operation
 * only then): a line written reaches the browser within about this.
 */
export const LIVE_POLL_MS = 50;
const FEED_POLL_MS = 250;
const KEEPALIVE_MS = 15_000;

interface OperationTail {
  status: string;
  exit_code: number | null;
  exit_meaning: string | null;
  more: string;
  len: number;
}

/**
 * An operation's log from `Last-Event-ID` (a character offset) on, as `log` events whose id is the
 * offset after them, then one `end` event when the operation has finished (for a run of this
 * server: when the action around the playbook has finished too). Reconnecting resumes.
 */
export function operationStream(c: Context, db: Db, id: number, runs?: RunRegistry): Response {
  if (!db.prepare('SELECT 1 FROM operations WHERE id = ?').get(id)) throw new UserError(`no operation ${id}: see mko operation list`);
  const resume = Number(c.req.header('last-event-id') ?? c.req.query('from') ?? 0);
  const read = db.prepare('SELECT status, exit_code, exit_meaning, substr(log, @from + 1) AS more, length(log) AS len FROM operations WHERE id = @id');
  return streamSSE(c, async (stream) => {
    let offset = Number.isSafeInteger(resume) && resume > 0 ? resume : 0;
    let quiet = 0;
    let seen = '';
    while (!stream.aborted) {
      const stamp = writeStamp(db);
      if (stamp !== seen) {
        seen = stamp;
        const row = read.get({ id, from: offset }) as OperationTail | undefined;
        if (!row) return;
        if (row.len > offset) {
          offset = row.len;
          await stream.writeSSE({ event: 'log', id: String(offset), data: JSON.stringify({ text: row.more }) });
          quiet = 0;
        }
        if (row.status !== 'running') {
          // The action goes on after its playbook (it records what follows): end when it has, with what it wrote.
          if (runs?.runs(id)) {
            await runs.settled(id);
            seen = '';
            continue;
          }
          await stream.writeSSE({ event: 'end', id: String(offset), data: JSON.stringify({ status: row.status, exitCode: row.exit_code, exitMeaning: row.exit_meaning }) });
          return;
        }
      }
      quiet += LIVE_POLL_MS;
      if (quiet >= KEEPALIVE_MS) {
        await stream.write(': keepalive\n\n');
        quiet = 0;
      }
      await stream.sleep(LIVE_POLL_MS);
    }
  });
}

export interface FeedEvent {
  event: 'ups' | 'ups-event' | 'operation' | 'change';
  data: Record<string, unknown>;
}

interface UpsRow {
  name: string;
  status: string | null;
  charge: number | null;
  runtime: number | null;
  error: string | null;
  polled_at: string;
}

/**
 * One poller for every client of /api/v1/events: it runs while someone listens and says what
 * changed (a UPS's status, charge or error; a new UPS event; an operation's start or end).
 */
export class ChangeFeed {
  private readonly listeners = new Set<(events: FeedEvent[]) => void>();
  private timer: NodeJS.Timeout | undefined;
  private ups = new Map<string, string>();
  private lastEventId = 0;
  private operations = new Map<number, string>();
  private primed = false;

  constructor(private readonly db: Db) {}

  subscribe(listener: (events: FeedEvent[]) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.poll();
      this.timer = setInterval(() => this.poll(), FEED_POLL_MS);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.primed = false;
      }
    };
  }

  private poll(): void {
    const events: FeedEvent[] = [];
    const upses = this.db.prepare('SELECT u.name, s.status, s.charge, s.runtime, s.error, s.polled_at FROM ups_state s JOIN upses u ON u.id = s.ups_id').all() as UpsRow[];
    for (const u of upses) {
      const key = JSON.stringify([u.status, u.charge, u.error]);
      if (this.ups.get(u.name) !== key) {
        this.ups.set(u.name, key);
        events.push({ event: 'ups', data: { ups: u.name, status: u.status, charge: u.charge, runtime: u.runtime, error: u.error, at: u.polled_at } });
      }
    }
    const upsEvents = this.db
      .prepare('SELECT e.id, u.name AS ups, e.kind, e.at FROM ups_events e JOIN upses u ON u.id = e.ups_id WHERE e.id > ? ORDER BY e.id')
      .all(this.lastEventId) as { id: number; ups: string; kind: string; at: string }[];
    for (const e of upsEvents) {
      this.lastEventId = e.id;
      events.push({ event: 'ups-event', data: e });
    }
    const recent = this.db
      .prepare("SELECT id, kind, target, status FROM operations WHERE status = 'running' OR id > (SELECT coalesce(max(id), 0) - 20 FROM operations)")
      .all() as { id: number; kind: string; target: string; status: string }[];
    for (const op of recent) {
      if (this.operations.get(op.id) !== op.status) {
        this.operations.set(op.id, op.status);
        events.push({ event: 'operation', data: op });
      }
    }
    if (!this.primed) {
      // The first look is the baseline, not news.
      this.primed = true;
      return;
    }
    if (events.length === 0) return;
    events.push({ event: 'change', data: {} });
    for (const listener of this.listeners) listener(events);
  }
}

/** /api/v1/events: the change feed as Server-Sent Events. */
export function feedStream(c: Context, feed: ChangeFeed): Response {
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    let queue = Promise.resolve();
    const unsubscribe = feed.subscribe((events) => {
      queue = queue.then(async () => {
        for (const e of events) await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
      });
    });
    stream.onAbort(unsubscribe);
    await stream.writeSSE({ event: 'ready', data: '{}' });
    for (let quiet = 0; !stream.aborted; quiet += 1000) {
      await stream.sleep(1000);
      if (quiet >= KEEPALIVE_MS && !stream.aborted) {
        await stream.write(': keepalive\n\n');
        quiet = 0;
      }
    }
    unsubscribe();
  });
}
