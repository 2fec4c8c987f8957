import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { migrationsDir, projectRoot } from '../paths.js';
import { dumpDb } from '../test-support/db-dump.js';
import { codeVersion, migrate, openDb, schemaVersion, SECRET_COLUMNS, type Db } from './index.js';

const migrationFiles = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mko-db-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A database from before mko: user_version 0 and one table mko knows nothing about. */
function makeOldDb(file: string): void {
  const raw = new Database(file);
  raw.exec("CREATE TABLE notes (body TEXT NOT NULL); INSERT INTO notes (body) VALUES ('keep me')");
  raw.close();
}

function tableNames(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
}

describe('migrations', () => {
  it('apply on :memory: and stamp user_version with the number of migration files', () => {
    expect(migrationFiles.length).toBeGreaterThan(0);
    const db = openDb(':memory:');
    expect(schemaVersion(db)).toBe(migrationFiles.length);
    expect(codeVersion()).toBe(migrationFiles.length);
    expect(tableNames(db)).toEqual(expect.arrayContaining(['clusters', 'nodes', 'operations']));
    // Every table is STRICT, as the house style asks.
    for (const name of tableNames(db)) {
      const sql = (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
      expect(sql, name).toMatch(/\)\s*STRICT\s*$/);
    }
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('dry run reports pending migrations and applies nothing', () => {
    const db = openDb(':memory:', { migrate: false });
    const before = dumpDb(db);
    expect(schemaVersion(db)).toBe(0);
    const result = migrate(db, { dryRun: true });
    expect(result.from).toBe(0);
    expect(result.to).toBe(0);
    expect(result.applied.map((m) => m.version)).toEqual(migrationFiles.map((_, i) => i + 1));
    expect(schemaVersion(db)).toBe(0);
    expect(tableNames(db)).toEqual([]);
    expect(dumpDb(db)).toBe(before);
    // The real run then applies exactly what the dry run announced.
    const real = migrate(db);
    expect(real.applied.map((m) => m.version)).toEqual(result.applied.map((m) => m.version));
    expect(schemaVersion(db)).toBe(migrationFiles.length);
    db.close();
  });

  it('lists every column that holds a secret handle in SECRET_COLUMNS (what removing a row must take along)', () => {
    const db = openDb(':memory:');
    const columns = tableNames(db).flatMap((table) =>
      (db.pragma(`table_info(${table})`) as { name: string }[]).filter((c) => c.name.endsWith('_secret')).map((c) => `${table}.${c.name}`),
    );
    expect(columns.sort()).toEqual([...SECRET_COLUMNS].sort());
    db.close();
  });

  it('a second migrate is a no-op', () => {
    const db = openDb(':memory:');
    const before = dumpDb(db);
    const again = migrate(db);
    expect(again.applied).toEqual([]);
    expect(again.from).toBe(again.to);
    expect(dumpDb(db)).toBe(before);
    db.close();
  });
});

describe('openDb on a file', () => {
  it('uses WAL, enforces foreign keys and sets a busy timeout', () => {
    const file = path.join(dir, 'sub', 'mko.db');
    const db = openDb(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true }) as number).toBeGreaterThan(0);
    // Foreign keys are really enforced, not just reported.
    expect(() =>
      db.prepare("INSERT INTO nodes (hostname, address, ssh_user, cluster_id) VALUES ('n1', '10.0.0.1', 'u', 999)").run(),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('refuses a database newer than the code and leaves it untouched', () => {
    const file = path.join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${codeVersion() + 1}`);
    raw.close();
    const bytes = readFileSync(file);
    let error: unknown;
    try {
      openDb(file).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/newer/);
    expect((error as UserError).message).not.toContain('\n');
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('migrate with a backup path leaves a byte-identical copy of the old file', () => {
    const file = path.join(dir, 'old.db');
    makeOldDb(file);
    const original = readFileSync(file);
    const db = new Database(file);
    const result = migrate(db, { backup: file });
    expect(result.from).toBe(0);
    expect(result.to).toBe(migrationFiles.length);
    expect(result.backupPath).toBeDefined();
    const backup = result.backupPath ?? '';
    expect(path.dirname(backup)).toBe(dir);
    expect(readFileSync(backup).equals(original)).toBe(true);
    // The live file moved on; the old table survived the migration.
    expect(schemaVersion(db)).toBe(migrationFiles.length);
    expect(db.prepare('SELECT body FROM notes').all()).toEqual([{ body: 'keep me' }]);
    db.close();
  });

  it('openDb backs up a pre-existing database byte for byte before migrating it', () => {
    const file = path.join(dir, 'old.db');
    makeOldDb(file);
    const original = readFileSync(file);
    const db = openDb(file);
    expect(schemaVersion(db)).toBe(migrationFiles.length);
    db.close();
    const backups = readdirSync(dir).filter((f) => f.startsWith('old.db.v0-') && f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(path.join(dir, backups[0] ?? '')).equals(original)).toBe(true);
  });

  it('a brand-new database gets no backup', () => {
    const file = path.join(dir, 'fresh.db');
    openDb(file).close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak'))).toEqual([]);
  });

  it('two connections write one after the other without SQLITE_BUSY', async () => {
    const file = path.join(dir, 'busy.db');
    openDb(file).close();
    const holdMs = 400;

    // Another process takes the write lock, says so, holds it, then commits.
    const holdLock = (): Promise<{ released: Promise<number | null> }> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import Database from 'better-sqlite3';
             const db = new Database(${JSON.stringify(file)});
             db.exec('BEGIN IMMEDIATE');
             db.prepare("INSERT INTO clusters (name) VALUES ('from-child-' || abs(random()))").run();
             process.stdout.write('locked\\n');
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
             db.exec('COMMIT');
             db.close();`,
          ],
          { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const released = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
        child.on('error', reject);
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('locked')) resolve({ released });
        });
      });

    // Control: without a busy timeout the same situation fails, so the test below can fail too.
    const control = await holdLock();
    const impatient = new Database(file);
    impatient.pragma('busy_timeout = 0');
    expect(() => impatient.prepare("INSERT INTO clusters (name) VALUES ('impatient')").run()).toThrow(/locked|busy/i);
    impatient.close();
    expect(await control.released).toBe(0);

    const db = openDb(file);
    const before = (db.prepare('SELECT count(*) AS n FROM clusters').get() as { n: number }).n;
    const holder = await holdLock();
    const started = Date.now();
    db.prepare("INSERT INTO clusters (name) VALUES ('patient')").run();
    const waited = Date.now() - started;
    expect(await holder.released).toBe(0);
    expect(waited).toBeGreaterThan(holdMs / 4);
    expect((db.prepare('SELECT count(*) AS n FROM clusters').get() as { n: number }).n).toBe(before + 2);
    db.close();
    expect(existsSync(file)).toBe(true);
  });
});
