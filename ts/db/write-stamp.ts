import type { Statement } from 'better-sqlite3';
import type { Db } from './open.js';

const stamps = new WeakMap<Db, { other: Statement; own: Statement }>();

/**
 * A value that changes whenever anything was written to the database: by this connection
 * (total_changes()) or by another process (data_version). Two trivial reads, so a poller or a
 * cache can skip its real query while nothing changed.
 */
export function writeStamp(db: Db): string {
  let s = stamps.get(db);
  if (!s) {
    s = { other: db.prepare('PRAGMA data_version').pluck(), own: db.prepare('SELECT total_changes()').pluck() };
    stamps.set(db, s);
  }
  return `${String(s.other.get())}:${String(s.own.get())}`;
}
