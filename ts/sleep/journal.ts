// A node's own sleeps and wakes, from its journal (/var/lib/mko/autosleep/journal.jsonl). A sleep
// decided by the node's timer cannot reach the controller's database while it happens (the node
// is going down): mko records each such entry as an operation the next time a run reads the
// journal (mko sleep status, enable, now, a wake). Entries of mko's own runs are operations already.
import type { Db } from '../db/index.js';
import { writeTransaction } from '../db/transaction.js';
import type { FleetNode } from '../fleet/index.js';

/** One line of the node's journal, as the evaluator writes it. */
export interface JournalEntry {
  id: string;
  at: string;
  node: string;
  /** timer: the node's own decision; boot: the node found itself woken; mko: mko sleep now / a wake. */
  trigger: 'timer' | 'boot' | 'mko';
  action: string;
  outcome: 'slept' | 'cancelled' | 'failed' | 'woke';
  reason: string;
  cordoned: boolean;
  drained: boolean;
  uncordoned?: boolean;
}

const STATUS: Record<string, 'succeeded' | 'cancelled' | 'failed'> = { slept: 'succeeded', woke: 'succeeded', cancelled: 'cancelled', failed: 'failed' };

const isEntry = (e: unknown): e is JournalEntry =>
  typeof e === 'object' && e !== null && typeof (e as JournalEntry).id === 'string' && typeof (e as JournalEntry).at === 'string' && typeof (e as JournalEntry).outcome === 'string';

function describeEntry(node: FleetNode, e: JournalEntry): string {
  const who = e.trigger === 'timer' ? 'by its own auto-sleep timer' : e.trigger === 'boot' ? 'noticed by the node after it came back' : 'by mko';
  const what = e.outcome === 'woke' ? 'woke' : e.outcome === 'slept' ? `went to sleep (${e.action})` : `${e.outcome} going to sleep (${e.action})`;
  const extra = e.outcome === 'woke' ? (e.uncordoned ? '; uncordoned' : '') : `; cordoned: ${e.cordoned ? 'yes' : 'no'}, drained: ${e.drained ? 'yes' : 'no'}`;
  return `${e.at} ${node.hostname} ${what} ${who}: ${e.reason}${extra}\n`;
}

/**
 * Record the entries mko has not seen yet, in one transaction: the node's own (timer, boot) as
 * operations of kind auto-sleep / auto-wake dated when they happened, mko's as seen (linked to
 * `ownOperation` when given). Returns the ids of the operations made.
 */
export function recordJournal(db: Db, node: FleetNode, entries: unknown, ownOperation: number | null = null): number[] {
  const list = Array.isArray(entries) ? entries.filter(isEntry) : [];
  const seen = db.prepare('SELECT 1 FROM sleep_journal WHERE node_id = ? AND entry_id = ?');
  const insertOp = db.prepare(
    `INSERT INTO operations (kind, target, args, source, status, exit_meaning, started_at, finished_at, log)
     VALUES (@kind, @target, '[]', 'mko', @status, @meaning, @at, @at, @log)`,
  );
  const insertSeen = db.prepare('INSERT INTO sleep_journal (node_id, entry_id, at, outcome, operation_id) VALUES (?, ?, ?, ?, ?)');
  return writeTransaction(db, () => {
    const made: number[] = [];
    for (const e of list) {
      if (seen.get(node.id, e.id)) continue;
      let operationId: number | null = ownOperation;
      if (e.trigger !== 'mko') {
        const at = new Date(Date.parse(e.at)).toISOString();
        operationId = Number(
          insertOp.run({
            kind: e.outcome === 'woke' ? 'auto-wake' : 'auto-sleep',
            target: node.hostname,
            status: STATUS[e.outcome] ?? 'failed',
            meaning: `${e.outcome}: ${e.reason}`.slice(0, 500),
            at,
            log: describeEntry(node, e),
          }).lastInsertRowid,
        );
        made.push(operationId);
      }
      insertSeen.run(node.id, e.id, e.at, e.outcome, operationId);
    }
    return made;
  });
}

/** The last sleep mko knows of for a node (from its journal as last read). */
export function lastSleep(db: Db, nodeId: number): { at: string; operationId: number | null } | null {
  const row = db
    .prepare(`SELECT at, operation_id AS operationId FROM sleep_journal WHERE node_id = ? AND outcome = 'slept' ORDER BY at DESC LIMIT 1`)
    .get(nodeId) as { at: string; operationId: number | null } | undefined;
  return row ?? null;
}

/** The latest entry mko has seen of a node's journal (any outcome), with the operation it became. */
export function lastJournalEntry(db: Db, nodeId: number): { at: string; outcome: string; operationId: number | null } | null {
  const row = db
    .prepare('SELECT at, outcome, operation_id AS operationId FROM sleep_journal WHERE node_id = ? ORDER BY at DESC LIMIT 1')
    .get(nodeId) as { at: string; outcome: string; operationId: number | null } | undefined;
  return row ?? null;
}
