// End to end: plain `ansible-playbook` with the project's ansible.cfg records its runs in the
// fleet database through the mko.fleet.history callback, and never stores a secret.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { projectRoot } from '../paths.js';
import type { OperationRow } from './operations.js';


const SECRET = 'hunter2';
const ISO_UTC_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const playbooks = {
  'succeed.yml': `---
- name: Check the control machine
  hosts: all
  gather_facts: false
  tasks:
    - name: Report the fleet
      ansible.builtin.debug:
        msg: all good
    - name: Pretend to change something
      ansible.builtin.command: "true"
      changed_when: true
`,
  'secret.yml': `---
- name: Configure NUT
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the NUT password
      ansible.builtin.copy:
        content: "{{ nut_password }}"
        dest: "{{ out_dir }}/upsd.users"
        mode: "0600"
      no_log: true
    - name: Echo the NUT password
      ansible.builtin.command: "echo {{ nut_password }}"
      changed_when: false
      no_log: true
    - name: Fail while holding the NUT password
      ansible.builtin.fail:
        msg: "bad password {{ nut_password }}"
      no_log: true
      ignore_errors: true
`,
  'fail.yml': `---
- name: Break on purpose
  hosts: all
  gather_facts: false
  tasks:
    - name: Succeed first
      ansible.builtin.debug:
        msg: fine
    - name: Fail deliberately
      ansible.builtin.fail:
        msg: deliberate failure
`,
};

describe('mko.fleet.history callback with a real ansible-playbook', () => {
  let dir: string;
  let dbFile: string;
  let inventory: string;

  const run = (playbook: string, args: string[] = [], env: Record<string, string | undefined> = {}) =>
    execa('ansible-playbook', ['-i', inventory, path.join(dir, playbook), ...args], {
      cwd: dir,
      reject: false,
      all: true,
      env: {
        ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg'),
        // Keep the project's fact cache (data/ansible-facts) out of tests.
        ANSIBLE_CACHE_PLUGIN_CONNECTION: path.join(dir, 'facts'),
        ANSIBLE_NOCOLOR: '1',
        MKO_DB: dbFile,
        MKO_OPERATION_ID: undefined,
        ...env,
      },
    });

  const operations = (): OperationRow[] => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return db.prepare('SELECT * FROM operations ORDER BY id').all() as OperationRow[];
    } finally {
      db.close();
    }
  };
  const lastOperation = (): OperationRow => {
    const row = operations().at(-1);
    if (!row) throw new Error('no operations recorded');
    return row;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-history-'));
    dbFile = path.join(dir, 'mko.db');
    openDb(dbFile).close();
    inventory = path.join(dir, 'hosts.ini');
    writeFileSync(inventory, 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    for (const [name, text] of Object.entries(playbooks)) writeFileSync(path.join(dir, name), text);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a succeeding run with its recap and log', async () => {
    const result = await run('succeed.yml');
    expect(result.exitCode, result.all).toBe(0);

    const rows = operations();
    expect(rows).toHaveLength(1);
    const op = rows[0] as OperationRow;
    expect(op).toMatchObject({
      kind: 'playbook',
      source: 'ansible',
      status: 'succeeded',
      exit_code: 0,
      exit_meaning: 'ok',
      target: 'all',
      playbook: path.join(dir, 'succeed.yml'),
    });
    expect(op.pid).toBeGreaterThan(0);
    // The recorder is stored with its start, as mko stores its own: a reused PID is not it.
    expect(op.pid_start).toMatch(new RegExp(`^${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:\\d+$`));
    expect(op.started_at).toMatch(ISO_UTC_MS);
    expect(op.finished_at).toMatch(ISO_UTC_MS);
    expect(JSON.parse(op.recap)).toEqual({
      localhost: { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 },
    });
    expect(JSON.parse(op.args)).toContain(path.join(dir, 'succeed.yml'));
    expect(op.log).toContain('PLAY [Check the control machine]');
    expect(op.log).toContain('TASK [Report the fleet]');
    expect(op.log).toContain('TASK [Pretend to change something]');
    expect(op.log).toContain('changed: [localhost]');
    expect(op.log).toMatch(/PLAY RECAP \*+\nlocalhost\s+: ok=2 changed=1 unreachable=0 failed=0/);
    // A debug task's msg is what it is there to say: the log (what the CLI shows) keeps it.
    expect(op.log).toContain('ok: [localhost] => all good');
  });

  it('never stores a secret handled by no_log tasks or passed with -e', async () => {
    const result = await run('secret.yml', ['-e', `nut_password=${SECRET}`, '--extra-vars', `out_dir=${dir}`]);
    expect(result.exitCode, result.all).toBe(0);

    const op = lastOperation();
    expect(op.status).toBe('succeeded');
    const args = JSON.parse(op.args) as string[];
    expect(args).toContain('nut_password=<redacted>');
    expect(args).toContain(`out_dir=${dir}`);
    expect(op.log).toContain('TASK [Write the NUT password]');
    expect(op.log).toContain('changed: [localhost] (output hidden by no_log)');
    expect(op.log).toContain('fatal: [localhost]: FAILED! (output hidden by no_log)');
    expect(op.log).not.toContain(SECRET);
    expect(op.args).not.toContain(SECRET);

    // Not in any page of the database, its WAL or anywhere else the database keeps bytes.
    for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(SECRET), file).toBe(false);
    }
  });

  it('records a failing run as failed with exit code 2', async () => {
    const result = await run('fail.yml', ['--limit', 'localhost']);
    expect(result.exitCode).toBe(2);

    const op = lastOperation();
    expect(op).toMatchObject({
      source: 'ansible',
      status: 'failed',
      exit_code: 2,
      exit_meaning: 'one or more hosts failed',
      target: 'localhost',
    });
    expect(JSON.parse(op.recap)).toEqual({
      localhost: { ok: 1, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 },
    });
    expect(op.log).toContain('fatal: [localhost]: FAILED! => deliberate failure');
  });

  it('records nothing, with one warning, for an MKO_OPERATION_ID that is no running operation', async () => {
    const before = operations().length;
    const result = await run('succeed.yml', [], { MKO_OPERATION_ID: '4242' });
    expect(result.exitCode, result.all).toBe(0);
    expect(operations()).toHaveLength(before);
    expect(result.all?.match(/mko history: run not recorded: operation 4242 is not a running\s+operation/g)).toHaveLength(1);
  });

  it('warns once and never creates a missing database', async () => {
    const missing = path.join(dir, 'nowhere', 'mko.db');
    const result = await run('succeed.yml', [], { MKO_DB: missing });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all?.match(/mko history: run not recorded/g)).toHaveLength(1);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(path.dirname(missing))).toBe(false);
  });
});
