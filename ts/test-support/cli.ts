// For tests that run the built mko: build dist/ when a source is newer, and snapshot what a
// rejected command must leave alone (the database and the secrets file).
import { existsSync, readFileSync } from 'node:fs';
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
