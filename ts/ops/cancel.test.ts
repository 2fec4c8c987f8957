// `mko operation cancel` from another process, with real processes: the built mko running a real
// ansible-playbook that hangs in ssh, cancelled by a second built mko.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { killAll, liveMembers, pidsOf, startHangingRun, waitFor } from '../test-support/hanging-run.js';
import { CANCEL_MEANING } from './cancel.js';
import { startOperation } from './operations.js';
import { processStart } from './process-identity.js';

let dir: string;
let dbPath: string;
const started: number[] = [];

const cancel = (id: number | string, ...rest: string[]) =>
  execa(mkoBin, ['operation', 'cancel', String(id), ...rest], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });

interface Row {
  id: number;
  source: string;
  kind: string;
  target: string;
  status: string;
  exit_meaning: string | null;
  child_pgid: number | null;
}

/** Operation id, or the last one. */
function row(id?: number): Row {
  const db = openDb(dbPath);
  try {
    return (id === undefined
      ? db.prepare('SELECT * FROM operations ORDER BY id DESC LIMIT 1').get()
      : db.prepare('SELECT * FROM operations WHERE id = ?').get(id)) as Row;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-cancel-'));
  dbPath = path.join(dir, 'mko.db');
}, 120_000);

afterEach(() => killAll(started.splice(0)));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('mko operation cancel', () => {
  it('stops a running mko run from another process: cancelled, mko exited, its group gone; a second cancel says it is finished', async () => {
    const run = await startHangingRun(dbPath, 'cancel', '127.0.0.4', started);
    try {
      const op = row();
      expect(op.status).toBe('running');
      const result = await cancel(op.id);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe(`Cancelled operation ${op.id} (${op.kind} ${op.target})`);
      expect(row(op.id)).toMatchObject({ status: 'cancelled', exit_meaning: CANCEL_MEANING });
      const mko = await run.mko;
      expect(mko.exitCode, mko.all).toBe(143);
      expect(await pidsOf(run.marker)).toEqual([]);
      expect(op.child_pgid).not.toBeNull();
      await waitFor('the group to be empty', async () => ((await liveMembers(op.child_pgid ?? 0)).length > 0 ? undefined : true), 5000);

      const again = await cancel(op.id);
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toBe(`mko: operation ${op.id} already finished (cancelled): nothing to cancel`);
      expect(again.stdout).toBe('');

      const json = await cancel(op.id, '--json');
      expect(json.exitCode).toBe(1);
    } finally {
      for (const pid of await pidsOf(run.marker)) process.kill(pid, 'SIGKILL');
    }
  }, 90_000);

  it('stops a plain ansible-playbook recorded by the history callback (its own Ctrl-C): cancelled', async () => {
    const seconds = 3_100_000 + Math.floor(Math.random() * 100_000);
    const playbook = path.join(dir, 'slow.yml');
    writeFileSync(playbook, `---\n- name: Slow\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Wait\n      ansible.builtin.command: sleep ${seconds}\n`);
    openDb(dbPath).close();
    const before = row()?.id ?? 0;
    const ansible = execa('ansible-playbook', ['-i', 'localhost,', '-c', 'local', playbook], {
      cwd: dir,
      reject: false,
      all: true,
      // Its own process group, as a shell runs a job.
      detached: true,
      env: { ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg'), ANSIBLE_CACHE_PLUGIN_CONNECTION: path.join(dir, 'facts'), ANSIBLE_NOCOLOR: '1', MKO_DB: dbPath, MKO_OPERATION_ID: undefined },
    });
    if (ansible.pid) started.push(ansible.pid);
    try {
      await waitFor('the task to run', async () => ((await pidsOf(`^sleep ${seconds}$`)).length > 0 ? true : undefined));
      const op = row();
      expect(op.id).toBeGreaterThan(before);
      expect(op).toMatchObject({ source: 'ansible', status: 'running' });
      const result = await cancel(op.id, '--json');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ id: op.id, source: 'ansible', status: 'cancelled', exitMeaning: CANCEL_MEANING });
      const done = await ansible;
      expect(done.exitCode, done.all).not.toBe(0);
      await waitFor('its task to end', async () => ((await pidsOf(`^sleep ${seconds}$`)).length === 0 ? true : undefined), 5000);
      expect(row(op.id)).toMatchObject({ status: 'cancelled', exit_meaning: CANCEL_MEANING });
    } finally {
      for (const pid of await pidsOf(`^sleep ${seconds}$`)) process.kill(pid, 'SIGKILL');
    }
  }, 90_000);

  it('an unknown id is one line, exit 1', async () => {
    const result = await cancel(999);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('mko: no operation 999: see mko operation list');
  });

  it('never signals a process that only got the recorded PID: the run is marked interrupted instead', async () => {
    const other = execa('sleep', ['3003'], { reject: false });
    const pid = other.pid ?? 0;
    started.push(pid);
    await waitFor('sleep to start', () => processStart(pid) ?? undefined);
    const db = openDb(dbPath);
    let id: number;
    try {
      id = startOperation(db, { kind: 'test', target: 'reused' });
      db.prepare('UPDATE operations SET pid = ?, pid_start = ? WHERE id = ?').run(pid, `${processStart(pid)?.split(':')[0]}:1`, id);
    } finally {
      db.close();
    }
    const result = await cancel(id);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`mko: operation ${id} already finished (interrupted): nothing to cancel`);
    expect(processStart(pid)).not.toBeNull();
    expect(row(id).status).toBe('interrupted');
    other.kill('SIGKILL');
    await other;
  });
});
