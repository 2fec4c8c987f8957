import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { migrate, pendingMigrations, refuseNewerDatabase } from './migrate.js';

export type Db = Database.Database;

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
  db.pragma('busy_timeout = 5000');
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
