// Forgetting old operations, on a real fleet database: what goes (finished, older, of the kinds
// asked), what stays (running ones, newer ones, the rows that pointed at them), and the CLI's
// answers to good and bad input, through the built mko.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { buildCli, mkoBin, snapshotFleet } from '../test-support/cli.js';
import { storeResults } from '../doctor/store.js';
import { parseAge, pruneOperations } from './prune.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const DAY = 86_400_000;

let dir: string;
let dbPath: string;
let db: Db;

/** An operation of `kind` that finished `daysAgo` days before NOW (null: still running). */
function operation(kind: string, daysAgo: number | null): number {
  const finished = daysAgo === null ? null : new Date(NOW.getTime() - daysAgo * DAY).toISOString();
  const info = db
    .prepare(`INSERT INTO operations (kind, target, status, started_at, finished_at, log) VALUES (?, 'lab', ?, ?, ?, 'the log')`)
    .run(kind, finished === null ? 'running' : 'succeeded', finished ?? NOW.toISOString(), finished);
  return Number(info.lastInsertRowid);
}

const ids = (): number[] => (db.prepare('SELECT id FROM operations ORDER BY id').all() as { id: number }[]).map((r) => r.id);

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-prune-'));
  dbPath = path.join(dir, 'mko.db');
});

beforeEach(() => {
  db?.close();
  rmSync(dbPath, { force: true });
  db = openDb(dbPath);
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pruneOperations', () => {
  it('forgets finished operations older than the age, of the kinds asked; keeps running and newer ones', () => {
    const oldHealth = operation('health', 10);
    const oldDoctor = operation('doctor', 10);
    const newHealth = operation('health', 2);
    const stillRunning = operation('health', null);
    db.prepare("UPDATE operations SET started_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(stillRunning);

    expect(pruneOperations(db, { olderThanMs: 7 * DAY, kinds: ['health'], dryRun: true, now: NOW })).toEqual({ before: '2026-11-30T12:00:00.000Z', operations: 1, dryRun: true });
    expect(ids()).toEqual([oldHealth, oldDoctor, newHealth, stillRunning]);

    expect(pruneOperations(db, { olderThanMs: 7 * DAY, kinds: ['health'], now: NOW }).operations).toBe(1);
    expect(ids()).toEqual([oldDoctor, newHealth, stillRunning]);
    expect(pruneOperations(db, { olderThanMs: 7 * DAY, now: NOW }).operations).toBe(1);
    expect(ids()).toEqual([newHealth, stillRunning]);
    expect(pruneOperations(db, { olderThanMs: 1 * DAY, now: NOW }).operations).toBe(1);
    expect(ids()).toEqual([stillRunning]);
  });

  it('takes check results and events along; health events and hardware reports stay, without the link', () => {
    const old = operation('health', 30);
    storeResults(db, old, [{ id: 'disk.space', scope: 'node', subject: 'pi1', severity: 'critical', status: 'pass', summary: 'ok', evidence: '', fix: null, cheap: true }]);
    db.prepare(`INSERT INTO operation_events (operation_id, seq, time, type) VALUES (?, 1, '2026-11-07T12:00:00.000Z', 'play_start')`).run(old);
    db.prepare(
      `INSERT INTO health_events (at, scope, subject, check_id, severity, from_status, to_status, summary, operation_id)
       VALUES ('2026-11-07T12:00:00.000Z', 'node', 'pi1', 'disk.space', 'critical', NULL, 'fail', 'full', ?)`,
    ).run(old);

    expect(pruneOperations(db, { olderThanMs: 7 * DAY, now: NOW }).operations).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM check_results').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM operation_events').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT check_id, to_status, operation_id FROM health_events').all()).toEqual([{ check_id: 'disk.space', to_status: 'fail', operation_id: null }]);
  });

  it('reads ages in days and hours, and refuses anything else naming the flag', () => {
    expect(parseAge('30d', '--older-than')).toBe(30 * DAY);
    expect(parseAge('1d12h', '--older-than')).toBe(1.5 * DAY);
    expect(parseAge('1h', '--keep')).toBe(3_600_000);
    for (const bad of ['', '0h', '30', '5m', '1w', '-1d', '1d 2h']) {
      expect(() => parseAge(bad, '--older-than'), bad).toThrow(/^invalid --older-than .*: use days and hours of at least 1h, such as 30d, 12h or 1d12h$/);
    }
  });
});

describe('mko operation prune', () => {
  const mko = (...args: string[]) => execa(mkoBin, ['operation', 'prune', ...args], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });

  it('says what it would forget, then forgets it', async () => {
    operation('health', 400);
    operation('doctor', 400);
    const kept = operation('health', 0);
    const dry = await mko('--older-than', '90d', '--kind', 'health', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^Would forget 1 operation\(s\) of kind health finished before \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    const done = await mko('--older-than', '90d', '--json');
    expect(done.exitCode, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ operations: 2, dryRun: false });
    expect(ids()).toEqual([kept]);
  });

  it('bad input: one line naming the flag, exit 1, the database untouched', async () => {
    operation('health', 400);
    db.close();
    const before = snapshotFleet(dbPath);
    for (const [args, message] of [
      [['--older-than', '3 months'], /^mko: invalid --older-than "3 months": use days and hours/],
      [[], /^mko: .*older-than/i],
    ] as const) {
      const r = await mko(...args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(snapshotFleet(dbPath)).toEqual(before);
    db = openDb(dbPath);
  });
});
