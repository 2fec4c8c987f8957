import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../errors.js';
import { migrationsDir } from '../paths.js';
import { writeTransaction } from './transaction.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Every migration shipped with this code, in order. Numbers must run 1, 2, 3 … without gaps. */
export function loadMigrations(dir: string = migrationsDir): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, match: FILE_PATTERN.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2] ?? file,
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) throw new Error(`migration numbering has a gap before ${m.version}_${m.name}`);
  });
  return migrations;
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function codeVersion(): number {
  return loadMigrations().length;
}

export function refuseNewerDatabase(db: Database.Database): void {
  const current = schemaVersion(db);
  const known = codeVersion();
  if (current > known) {
    throw new UserError(
      `database schema version ${current} is newer than this mko (knows up to ${known}): upgrade mko, or point --db at another database`,
    );
  }
}

export function pendingMigrations(db: Database.Database): Migration[] {
  const current = schemaVersion(db);
  return loadMigrations().filter((m) => m.version > current);
}

export interface MigrateOptions {
  /** Database file to copy before the first migration is applied. */
  backup?: string | undefined;
  dryRun?: boolean;
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: Migration[];
  backupPath?: string;
}

/**
 * Apply pending migrations, each stamping user_version, all in one immediate transaction. Two mko
 * processes that open a new (or older) database at once then migrate it once: the second one
 * waits for the write lock, reads the version again and finds nothing left to do; nobody sees a
 * half-migrated schema, and a failed migration leaves the database as it was.
 */
export function migrate(db: Database.Database, options: MigrateOptions = {}): MigrateResult {
  refuseNewerDatabase(db);
  const from = schemaVersion(db);
  if (options.dryRun) return { from, to: from, applied: pendingMigrations(db) };
  if (pendingMigrations(db).length === 0) return { from, to: from, applied: [] };
  if (options.backup) db.pragma('wal_checkpoint(TRUNCATE)');
  return writeTransaction(db, () => {
    refuseNewerDatabase(db);
    const start = schemaVersion(db);
    const pending = pendingMigrations(db);
    if (pending.length === 0) return { from: start, to: start, applied: [] };
    let backupPath: string | undefined;
    if (options.backup) {
      // Under the write lock: no other mko changes the file while it is copied.
      backupPath = `${options.backup}.v${start}-${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
      copyFileSync(options.backup, backupPath);
    }
    for (const migration of pending) {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    return { from: start, to: schemaVersion(db), applied: pending, ...(backupPath ? { backupPath } : {}) };
  });
}
