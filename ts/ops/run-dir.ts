// <data dir>/run: private scratch for the files a running operation hands Ansible (extra vars with
// passwords, report folders), next to the database rather than in a shared /tmp. Each entry is
// named after the process that made it, so the next mko can remove what a killed one left.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isAlive } from './operations.js';
import { ownStart, processStart } from './process-identity.js';

export const runDirFor = (dataDir: string): string => path.join(dataDir, 'run');

// node:crypto is a tenth of a start-up to load, and every command sweeps, mostly an empty folder:
// it is required at the first tag made or compared.
const require = createRequire(import.meta.url);
const sha256 = (text: string): string => (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(text).digest('hex');

/** A short tag of a process start, fit for a file name (the start itself holds the 36-character boot id). */
const startTag = (start: string | null): string => (start === null ? 'x' : sha256(start).slice(0, 12));

const ENTRY = /^(\d+)-([0-9a-f]{12}|x)-/;

/** A new 0700 folder under <data dir>/run (itself 0700), owned by this process. */
export function makeRunDir(dataDir: string, purpose: string): string {
  const root = runDirFor(dataDir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  return mkdtempSync(path.join(root, `${process.pid}-${startTag(ownStart)}-${purpose}-`));
}

/** Remove the entries of <data dir>/run whose process is gone; returns how many. */
export function sweepRunDir(dataDir: string): number {
  let entries: string[];
  try {
    entries = readdirSync(runDirFor(dataDir));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    const match = ENTRY.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    const tag = match[2];
    if (isAlive(pid)) {
      // Unknown start (no /proc to read): the PID alone decides.
      const current = tag === 'x' ? null : processStart(pid);
      if (current === null || startTag(current) === tag) continue;
    }
    rmSync(path.join(runDirFor(dataDir), entry), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

/**
 * A JSON object a playbook left in a run folder (a per-host or per-run report), read defensively:
 * null when the file is missing, is not JSON, or holds something else than an object.
 */
export function readReportFile(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
