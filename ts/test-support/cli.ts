// For tests that run the built mko: build dist/ when a source is newer, and snapshot what a
// rejected command must leave alone (the database, the secrets file, the data directory).
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { projectRoot } from '../paths.js';
import { dumpDb } from './db-dump.js';

export const mkoBin = path.join(projectRoot, 'bin', 'mko');

/** Build dist/ when any TypeScript source is newer than it. */
export async function buildCli(): Promise<void> {
  const main = path.join(projectRoot, 'dist', 'cli', 'main.js');
  const newer = existsSync(main)
    ? (await execa('find', ['ts', '-name', '*.ts', '-newer', main, '-print', '-quit'], { cwd: projectRoot })).stdout.trim()
    : 'missing';
  if (newer) await execa('npm', ['run', '--silent', 'build'], { cwd: projectRoot });
}

/** The database's rows and the secrets file's text (null when there is none). */
export function snapshotState(dbPath: string, secretsPath: string): { db: string; secrets: string | null } {
  const raw = new Database(dbPath, { readonly: true });
  try {
    return { db: dumpDb(raw), secrets: existsSync(secretsPath) ? readFileSync(secretsPath, 'utf8') : null };
  } finally {
    raw.close();
  }
}

/**
 * Everything a rejected command must leave alone under a data directory: the database's rows,
 * and every other file and folder (keys, secrets, kubeconfigs, stray temporary files) with its
 * mode and a hash of its bytes. The database's own files are left out: WAL checkpoints rewrite
 * them without changing a row.
 */
export function snapshotFleet(dbPath: string): { db: string; files: Record<string, string> } {
  const dataDir = path.dirname(dbPath);
  const own = new Set([dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`]);
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (own.has(file)) continue;
      const stat = lstatSync(file);
      const mode = (stat.mode & 0o7777).toString(8);
      const relative = path.relative(dataDir, file);
      if (stat.isDirectory()) {
        files[`${relative}/`] = mode;
        walk(file);
      } else {
        files[relative] = `${mode} ${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
      }
    }
  };
  walk(dataDir);
  const raw = new Database(dbPath, { readonly: true });
  try {
    return { db: dumpDb(raw), files };
  } finally {
    raw.close();
  }
}
