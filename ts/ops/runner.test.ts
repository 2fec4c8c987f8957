// The runner drives the real ansible-playbook (local connection, no SSH needed) and records
// everything in a real SQLite file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { listEvents } from './events.js';
import { getOperation, markInterrupted, startOperation } from './operations.js';
import { runPlaybook, type PlaybookRun } from './runner.js';

let dir: string;
let dbPath: string;
let db: Db;

function playbook(name: string, tasks: string): string {
  const file = path.join(dir, `${name}.yml`);
  writeFileSync(file, `- name: ${name}\n  hosts: localhost\n  gather_facts: false\n  tasks:\n${tasks}`);
  return file;
}

const local = (file: string, extra: Partial<PlaybookRun> = {}): PlaybookRun => ({
  kind: 'test',
  target: 'localhost',
  playbook: file,
  dbPath,
  extraArgs: ['-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=/usr/bin/python3'],
  limit: 'localhost',
  ...extra,
});

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-runner-'));
  dbPath = path.join(dir, 'mko.db');
  db = openDb(dbPath);
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runPlaybook', () => {
  it('records a successful run with its recap, log, events and redacted arguments', async () => {
    const file = playbook(
      'ok',
      `    - name: Say hello
      ansible.builtin.fail:
        msg: "hello {{ nut_password }}"
      ignore_errors: true
    - name: Touch a file
      ansible.builtin.file:
        path: ${dir}/touched
        state: touch
`,
    );
    const chunks: string[] = [];
    const result = await runPlaybook(db, local(file, { extraVars: { nut_password: 's3cret-ups-pw' }, secrets: ['s3cret-ups-pw'], onOutput: (c) => chunks.push(c) }));
    expect(result.status).toBe('succeeded');
    expect(result.exitCode).toBe(0);
    expect(result.recap['localhost']).toEqual({ ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 1 });
    expect(chunks.join('')).toContain('TASK [Say hello]');
    expect(result.failures['localhost']).toEqual({ task: 'Say hello', status: 'failed', message: 'hello <redacted>', ignored: true });

    const op = getOperation(db, result.operationId);
    expect(op).toMatchObject({ kind: 'test', status: 'succeeded', exitCode: 0, exitMeaning: 'ok', source: 'mko' });
    expect(op.log).toContain('TASK [Touch a file]');
    expect(op.log).toContain('hello <redacted>');
    expect(op.args[0]).toBe('ansible-playbook');
    expect(op.args.join(' ')).toContain('@$TMP/extra-vars.json');
    db.pragma('wal_checkpoint(TRUNCATE)');
    // Read by another process: closing a file this process opened would drop its SQLite locks
    // (POSIX locks are per process), and the callback's connection would then delete the WAL.
    expect((await execa('grep', ['-c', 's3cret-ups-pw', dbPath], { reject: false })).stdout).toBe('0');
    // The callback plugin sees MKO_OPERATION_ID and fills mko's row instead of making its own.
    expect((db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n).toBe(1);
    expect(listEvents(db, result.operationId).map((e) => [e.type, e.task, e.taskIndex, e.taskCount, e.host, e.status])).toEqual([
      ['play_start', null, null, 2, null, null],
      ['task_start', 'Say hello', 1, 2, null, null],
      ['host_result', 'Say hello', 1, 2, 'localhost', 'ignored'],
      ['task_start', 'Touch a file', 2, 2, null, null],
      ['host_result', 'Touch a file', 2, 2, 'localhost', 'changed'],
      ['recap', null, null, null, null, 'succeeded'],
    ]);
  });

  it("caches facts next to the run's database, so fleets with the same host names never share them", async () => {
    const file = path.join(dir, 'facts.yml');
    writeFileSync(file, '- name: facts\n  hosts: localhost\n  gather_facts: true\n  gather_subset: [min]\n  tasks: []\n');
    const result = await runPlaybook(db, local(file));
    expect(result.status).toBe('succeeded');
    const cached = JSON.parse(readFileSync(path.join(dir, 'ansible-facts', 'localhost'), 'utf8')) as Record<string, unknown>;
    expect(cached['ansible_hostname']).toBe(os.hostname().split('.')[0]);
  });

  it('records a failed host with exit code 2 and its meaning', async () => {
    const file = playbook('fails', `    - name: Fail on purpose\n      ansible.builtin.command: /bin/false\n      changed_when: false\n`);
    const result = await runPlaybook(db, local(file));
    expect(result.output).toContain('TASK [Fail on purpose]');
    expect(result).toMatchObject({ status: 'failed', exitCode: 2, exitMeaning: 'one or more hosts failed' });
    expect(getOperation(db, result.operationId).recap['localhost']?.failed).toBe(1);
    expect(result.failures['localhost']).toMatchObject({ task: 'Fail on purpose', status: 'failed', ignored: false });
  });

  it('records retries of an until loop as events with the attempt', async () => {
    const file = playbook(
      'retries',
      `    - name: Wait for a file that comes late
      ansible.builtin.command: test -e ${dir}/late
      register: probe
      until: probe.rc == 0
      retries: 3
      delay: 1
      changed_when: false
      failed_when: false
`,
    );
    const result = await runPlaybook(db, local(file));
    expect(result.status).toBe('succeeded');
    const retries = listEvents(db, result.operationId).filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.task, e.host, e.attempt])).toEqual([
      ['Wait for a file that comes late', 'localhost', 1],
      ['Wait for a file that comes late', 'localhost', 2],
      ['Wait for a file that comes late', 'localhost', 3],
    ]);
    expect(result.output).toContain('FAILED - RETRYING: [localhost]: Wait for a file that comes late (2 retries left).');
  });

  it('records the attempts a module retried inside itself (mko.fleet.wake calling a Proxmox API that refuses) as retry events', async () => {
    // A port nothing listens on: every connection is refused, and retried with backoff (1 s, 2 s).
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const file = playbook(
      'api-retries',
      `    - name: Start the VM
      mko.fleet.wake:
        method: proxmox
        proxmox_host: pve9
        api_url: https://127.0.0.1:${port}
        api_token_id: root@pam!mko
        api_token_secret: never-shown-9
        api_retries: 2
        proxmox_node: pve9
        vmid: 101
`,
    );
    const result = await runPlaybook(db, local(file, { secrets: ['never-shown-9'] }));
    expect(result.status).toBe('failed');
    const retries = listEvents(db, result.operationId).filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.task, e.host, e.attempt, e.message])).toEqual([1, 2].map((attempt) => [
      'Start the VM',
      'localhost',
      attempt,
      `attempt ${attempt} of 3 failed: Proxmox pve9: GET /nodes/pve9/qemu/101/status/current: ECONNREFUSED; trying again in ${attempt} s`,
    ]));
    expect(result.failures['localhost']?.message).toBe(`cannot reach Proxmox pve9 at https://127.0.0.1:${port}: ECONNREFUSED`);
    expect(JSON.stringify(listEvents(db, result.operationId))).not.toContain('never-shown-9');
  });

  it('says what ansible-playbook said when the playbook does not parse', async () => {
    const file = path.join(dir, 'broken.yml');
    writeFileSync(file, '- name: broken\n  hosts: localhost\n  tasks:\n    - name: No module\n      no_such_module_here: {}\n');
    const result = await runPlaybook(db, local(file));
    expect(result).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(result.exitMeaning).toMatch(/^one or more hosts unreachable \(or the playbook could not be parsed\): ERROR! couldn't resolve module\/action 'no_such_module_here'/);
    expect(result.output).toContain("ERROR! couldn't resolve module/action 'no_such_module_here'");
  });

  it('blanks secrets out of what ansible-playbook said when the callback recorded nothing', async () => {
    // A playbook that does not exist: ansible-playbook stops before any callback, its ERROR line
    // names the file, and so the secrets, the longer one holding the shorter.
    const secret = 'ups-pw-longer-one';
    const result = await runPlaybook(db, local(path.join(dir, `${secret}.yml`), { secrets: ['ups-pw', secret] }));
    expect(result).toMatchObject({ status: 'failed' });
    const op = getOperation(db, result.operationId);
    expect(op.log).toMatch(/ERROR|error/);
    expect(op.log).toContain('<redacted>');
    for (const text of [op.log, op.exitMeaning, result.output]) {
      expect(text).not.toContain('ups-pw');
      expect(text).not.toContain('-longer-one');
    }
  });

  it('cancels on abort: stops the child, marks the operation cancelled, keeps the partial log', async () => {
    // A length no other process sleeps (another checkout's suite may run this test too).
    const seconds = 300_000 + Math.floor(Math.random() * 100_000);
    const file = playbook('slow', `    - name: Sleep a long time\n      ansible.builtin.command: sleep ${seconds}\n      changed_when: false\n`);
    const controller = new AbortController();
    let seenTask = false;
    const started = Date.now();
    const pending = runPlaybook(
      db,
      local(file, {
        signal: controller.signal,
        onOutput: (chunk) => {
          if (!seenTask && chunk.includes('TASK [Sleep a long time]')) {
            seenTask = true;
            // Let the log flush once so the partial log is in the database before we cancel.
            setTimeout(() => controller.abort(), 1500);
          }
        },
      }),
    );
    const result = await pending;
    expect(seenTask).toBe(true);
    expect(result.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(20_000);
    const op = getOperation(db, result.operationId);
    expect(op.status).toBe('cancelled');
    expect(op.log).toContain('TASK [Sleep a long time]');
    const leftover = await execa('pgrep', ['-f', `^sleep ${seconds}$`], { reject: false });
    expect(leftover.stdout.trim()).toBe('');
  });

  it('marks operations whose process died as interrupted, and leaves live ones alone', async () => {
    const dead = execa('true');
    await dead;
    const deadOp = startOperation(db, { kind: 'test', target: 'x' });
    db.prepare('UPDATE operations SET pid = ? WHERE id = ?').run(dead.pid ?? 999999, deadOp);
    const liveOp = startOperation(db, { kind: 'test', target: 'y' });
    expect(markInterrupted(db)).toBeGreaterThanOrEqual(1);
    expect(getOperation(db, deadOp).status).toBe('interrupted');
    expect(getOperation(db, liveOp).status).toBe('running');
    db.prepare("UPDATE operations SET status = 'succeeded' WHERE id = ?").run(liveOp);
  });
});
