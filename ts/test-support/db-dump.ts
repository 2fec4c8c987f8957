import type Database from 'better-sqlite3';

/**
 * Every user table's rows (ordered by rowid) plus PRAGMA user_version, as one JSON string.
 * Two equal dumps mean a rejected input left the database exactly as it was.
 */
export function dumpDb(db: Database.Database): string {
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((t) => t.name);
  const rows = Object.fromEntries(
    tables.map((name) => [name, db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}" ORDER BY rowid`).all()]),
  );
  return JSON.stringify({ userVersion: db.pragma('user_version', { simple: true }) as number, tables: rows });
}
