// Forgetting old operations: an always-on controller records one every few minutes (the health
// timer's checks), each with its log, events and check results, and an SD card does not grow.
// Only finished operations go; what points at them (hardware reports, health events, power runs)
// keeps its own rows and loses the link (ON DELETE SET NULL), their events and check results go
// with them (ON DELETE CASCADE).
import { writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';

const PART = /(\d{1,4})(d|h)/g;
const WHOLE = /^(\d{1,4}(d|h))+$/;
const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000 };

/** An age as people write it, in days and hours (30d, 12h, 1d12h), of at least an hour; or a UserError naming `flag`. */
export function parseAge(text: string, flag: string): number {
  const fix = 'use days and hours of at least 1h, such as 30d, 12h or 1d12h';
  if (!WHOLE.test(text)) throw new UserError(`invalid ${flag} ${quote(text)}: ${fix}`);
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 'd'] ?? 0);
  if (ms < UNIT_MS.h!) throw new UserError(`invalid ${flag} ${quote(text)}: ${fix}`);
  return ms;
}

export interface PruneOptions {
  /** Operations that finished this many milliseconds ago or earlier go. */
  olderThanMs: number;
  /** Only these kinds (all kinds when empty or absent). */
  kinds?: readonly string[];
  /** Count, change nothing. */
  dryRun?: boolean;
  now?: Date;
}

export interface PruneResult {
  /** Finished before this instant (ISO 8601). */
  before: string;
  operations: number;
  dryRun: boolean;
}

/** Delete (or, dry, count) the finished operations older than the age, in one transaction. */
export function pruneOperations(db: Db, options: PruneOptions): PruneResult {
  const before = new Date((options.now ?? new Date()).getTime() - options.olderThanMs).toISOString();
  const kinds = options.kinds && options.kinds.length > 0 ? JSON.stringify(options.kinds) : null;
  const where = `status <> 'running' AND finished_at IS NOT NULL AND finished_at < @before
    AND (@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds)))`;
  const params = { before, kinds };
  const dryRun = options.dryRun === true;
  const operations = dryRun
    ? (db.prepare(`SELECT count(*) AS n FROM operations WHERE ${where}`).get(params) as { n: number }).n
    : writeTransaction(db, () => db.prepare(`DELETE FROM operations WHERE ${where}`).run(params).changes);
  return { before, operations, dryRun };
}
