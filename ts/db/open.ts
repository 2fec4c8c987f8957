import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { migrate, pendingMigrations, refuseNewerDatabase } from './migrate.js';

export type Db = Database.Database;

/**
 * How long a command waits for another one's write lock before it gives up with "the database is
 * busy". Write transactions take milliseconds, but 20 or 30 mko commands at once on a small,
 * loaded controller queue behind each other (SQLite retries a waiter every 100 ms, not in order),
 * so the bound is generous; the Ansible history callback uses the same.
 */
export const BUSY_TIMEOUT_MS = 30_000;

export interface OpenOptions {
  /** Apply pending migrations (the default). With false, a database behind the code is refused. */
  migrate?: boolean;
  readonly?: boolean;
}

/**
 * The one way to open the fleet database: WAL, foreign keys, a busy timeout so two mko commands
 * (or mko and the Ansible callback) can work at once, and migrations applied on first use.
 */
export function openDb(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:' && !options.readonly) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  refuseNewerDatabase(db);
  if (options.migrate !== false && !options.readonly && pendingMigrations(db).length > 0) {
    migrate(db, { backup: file !== ':memory:' && hasUserTables(db) ? file : undefined });
  }
  // After the backup: switching to WAL rewrites the file header, so the copy would not be the old file.
  if (!options.readonly) db.pragma('journal_mode = WAL');
  return db;
}

function hasUserTables(db: Db): boolean {
  const row = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
  return row.n > 0;
}
