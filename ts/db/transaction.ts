import type { Db } from './open.js';

/**
 * Run `fn` in a transaction that takes the write lock at BEGIN (BEGIN IMMEDIATE), so it waits out
 * the busy timeout like any single write. Every transaction that writes goes through here: a
 * deferred one that reads before it writes holds a read snapshot, and SQLite cannot let it wait
 * for the write lock (another writer may change what it read), so it fails at once with
 * SQLITE_BUSY however long the busy timeout is. Nested calls become savepoints of the outer one.
 */
export function writeTransaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
