// Crashes and signals, with real processes: the built mko running a real ansible-playbook that
// hangs in ssh (its ProxyCommand is a long sleep, so the group holds ansible-playbook, a worker,
// ssh and the sleep), stopped with SIGTERM or killed with SIGKILL; recorder and child processes
// told apart from later ones with the same PID; the run folder swept of what dead runs left.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { killAll, liveMembers, pidsOf, startHangingRun, waitFor } from '../test-support/hanging-run.js';
import { getOperation, markInterrupted, startOperation } from './operations.js';
import { processStart } from './process-identity.js';
import { makeRunDir, runDirFor, sweepRunDir } from './run-dir.js';

let dir: string;
let dbPath: string;
const started: number[] = [];
/** Process groups a test started, killed after it whatever happened. */
const groups: number[] = [];

/** Every file under root (recursively) whose text holds needle. */
function filesHolding(root: string, needle: string, namePrefix = ''): string[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.startsWith(namePrefix))
    .flatMap((entry) => {
      const file = path.join(root, entry);
      try {
        if (statSync(file).isDirectory()) return filesHolding(file, needle);
        return readFileSync(file, 'utf8').includes(needle) ? [file] : [];
      } catch {
        return [];
      }
    });
}

/** Where the secret could be left: the run folder, and mko's old place in the shared /tmp. */
const secretFiles = (secret: string): string[] => [...filesHolding(runDirFor(dir), secret), ...filesHolding(os.tmpdir(), secret, 'mko-run-')];

function lastOperation(): { id: number; status: string; exitMeaning: string | null; childPgid: number | null } {
  const db = openDb(dbPath);
  try {
    const row = db.prepare('SELECT id, status, exit_meaning FROM operations ORDER BY id DESC LIMIT 1').get() as { id: number; status: string; exit_meaning: string | null };
    const columns = (db.prepare('PRAGMA table_info(operations)').all() as { name: string }[]).map((c) => c.name);
    const child = columns.includes('child_pgid') ? (db.prepare('SELECT child_pgid FROM operations WHERE id = ?').get(row.id) as { child_pgid: number | null }).child_pgid : null;
    return { id: row.id, status: row.status, exitMeaning: row.exit_meaning, childPgid: child };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-crash-'));
  dbPath = path.join(dir, 'mko.db');
}, 120_000);

// Whatever a failed test left running (only processes this file started).
afterEach(() => killAll([...started.splice(0), ...groups.splice(0).map((pgid) => -pgid)]));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('mko stopped while ansible-playbook runs', () => {
  it('SIGTERM: cancels like Ctrl-C, stops the whole group, removes the secret file, exits 143', async () => {
    const run = await startHangingRun(dbPath, 'term', '127.0.0.2', started);
    expect(secretFiles(run.secret).length).toBeGreaterThan(0);
    try {
      run.mko.kill('SIGTERM');
      const result = await run.mko;
      expect(result.exitCode, result.all).toBe(143);
      expect(result.all).toContain('SIGTERM');
      const op = lastOperation();
      expect(op).toMatchObject({ status: 'cancelled', exitMeaning: 'cancelled: mko was stopped (SIGTERM)' });
      expect(await pidsOf(run.marker)).toEqual([]);
      expect(op.childPgid).not.toBeNull();
      expect(await liveMembers(op.childPgid ?? 0)).toEqual([]);
      expect(secretFiles(run.secret)).toEqual([]);
      expect(readdirSync(runDirFor(dir))).toEqual([]);
    } finally {
      for (const pid of await pidsOf(run.marker)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  it('SIGKILL: the group is gone within seconds; the next start marks the run interrupted and leaves no secret', async () => {
    const run = await startHangingRun(dbPath, 'kill', '127.0.0.3', started);
    expect(secretFiles(run.secret).length).toBeGreaterThan(0);
    try {
      run.mko.kill('SIGKILL');
      await run.mko;
      await waitFor('the orphaned group to end', async () => ((await pidsOf(run.marker)).length === 0 ? true : undefined), 5000);
      const { childPgid } = lastOperation();
      expect(childPgid).not.toBeNull();
      await waitFor('the group to be empty', async () => ((await liveMembers(childPgid ?? 0)).length > 0 ? undefined : true), 5000);
      expect(lastOperation().status).toBe('running');

      // The next mko, whatever its command.
      await execa(mkoBin, ['operation', 'list'], { env: { MKO_DB: dbPath } });
      expect(lastOperation()).toMatchObject({ status: 'interrupted' });
      expect(secretFiles(run.secret)).toEqual([]);
      expect(readdirSync(runDirFor(dir))).toEqual([]);
    } finally {
      for (const pid of await pidsOf(run.marker)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);
});

describe('which process an operation belongs to', () => {
  let db: Db;
  beforeAll(() => {
    db = openDb(path.join(dir, 'identity.db'));
  });
  afterAll(() => db.close());

  async function deadPid(): Promise<number> {
    const done = execa('true');
    await done;
    return done.pid ?? 999_999;
  }

  it('a PID now held by another process (other start time) counts as dead', async () => {
    const other = execa('sleep', ['30'], { reject: false });
    const pid = other.pid ?? 0;
    started.push(pid);
    await waitFor('sleep to start', () => processStart(pid) ?? undefined);
    const reused = startOperation(db, { kind: 'test', target: 'reused' });
    const same = startOperation(db, { kind: 'test', target: 'same' });
    db.prepare('UPDATE operations SET pid = ?, pid_start = ? WHERE id = ?').run(pid, `${processStart(pid)?.split(':')[0]}:1`, reused);
    db.prepare('UPDATE operations SET pid = ?, pid_start = ? WHERE id = ?').run(pid, processStart(pid), same);
    markInterrupted(db);
    expect(getOperation(db, reused).status).toBe('interrupted');
    expect(getOperation(db, same).status).toBe('running');
    // A start from another boot: the PID was reused after a reboot.
    db.prepare('UPDATE operations SET pid_start = ? WHERE id = ?').run(`00000000-0000-0000-0000-000000000000:${processStart(pid)?.split(':')[1]}`, same);
    markInterrupted(db);
    expect(getOperation(db, same).status).toBe('interrupted');
    other.kill('SIGKILL');
    await other;
  });

  it('the next start kills the process group a dead recorder left running, if its leader is still the one recorded', async () => {
    // A group like the runner's: a leader with a child of its own.
    const leader = execa('sh', ['-c', 'sleep 3001 & sleep 3002; wait'], { detached: true, reject: false });
    const pgid = leader.pid ?? 0;
    groups.push(pgid);
    await waitFor('the group to start', async () => ((await pidsOf('^sleep 300[12]$')).length === 2 ? true : undefined));
    const orphaned = startOperation(db, { kind: 'test', target: 'orphaned' });
    db.prepare('UPDATE operations SET pid = ?, child_pgid = ?, child_start = ? WHERE id = ?').run(await deadPid(), pgid, processStart(pgid), orphaned);
    // The same group recorded with another start: a later process got the PID; leave it alone.
    const stale = startOperation(db, { kind: 'test', target: 'stale' });
    db.prepare('UPDATE operations SET pid = ?, child_pgid = ?, child_start = ? WHERE id = ?').run(await deadPid(), pgid, 'another-boot:1', stale);
    db.prepare("UPDATE operations SET status = 'succeeded' WHERE id = ?").run(orphaned);
    markInterrupted(db);
    expect((await liveMembers(pgid)).length).toBe(3);
    expect(getOperation(db, stale).status).toBe('interrupted');

    db.prepare("UPDATE operations SET status = 'running' WHERE id = ?").run(orphaned);
    markInterrupted(db);
    await leader;
    await waitFor('the group to end', async () => ((await liveMembers(pgid)).length > 0 ? undefined : true), 3000);
    expect(getOperation(db, orphaned)).toMatchObject({ status: 'interrupted', exitMeaning: expect.stringContaining('was stopped') });
  });

  it('run folders are private, under the data dir, and swept once their process is gone', async () => {
    const dataDir = path.join(dir, 'sweep');
    mkdirSync(dataDir);
    const mine = makeRunDir(dataDir, 'run');
    expect(path.dirname(mine)).toBe(runDirFor(dataDir));
    expect(statSync(runDirFor(dataDir)).mode & 0o777).toBe(0o700);
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    const dead = path.join(runDirFor(dataDir), `${await deadPid()}-0123456789ab-run-AAAAAA`);
    const reused = path.join(runDirFor(dataDir), `${process.pid}-0123456789ab-run-BBBBBB`);
    const foreign = path.join(runDirFor(dataDir), 'not-mko');
    for (const entry of [dead, reused]) {
      mkdirSync(entry);
      writeFileSync(path.join(entry, 'extra-vars.json'), '{"password": "x"}');
    }
    mkdirSync(foreign);
    expect(sweepRunDir(dataDir)).toBe(2);
    expect(readdirSync(runDirFor(dataDir)).sort()).toEqual([path.basename(mine), 'not-mko'].sort());
  });
});
