// The progress line, drawn from the events the history callback stored for a real ansible-playbook
// run (local connection, two hosts, one failing): without a terminal a line per task, on a
// terminal one line rewritten in place.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { listEvents, runPlaybook, type OperationEvent } from '../ops/index.js';
import { ProgressView } from './progress.js';

let dir: string;
let db: Db;
let operationId: number;
let events: OperationEvent[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-progress-'));
  const dbPath = path.join(dir, 'mko.db');
  db = openDb(dbPath);
  const playbook = path.join(dir, 'two-hosts.yml');
  writeFileSync(
    playbook,
    `- name: Two hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Both answer
      ansible.builtin.command: 'true'
      changed_when: false
    - name: Only alpha passes
      ansible.builtin.fail:
        msg: "bravo <b>\\x1b[31m stops"
      when: inventory_hostname == 'bravo'
    - name: Alpha goes on
      ansible.builtin.command: 'true'
      changed_when: false
`,
  );
  const result = await runPlaybook(db, {
    kind: 'test',
    target: 'two',
    playbook,
    dbPath,
    extraArgs: ['-i', 'alpha,bravo,', '-c', 'local', '-e', 'ansible_python_interpreter=/usr/bin/python3'],
  });
  expect(result.status).toBe('failed');
  operationId = result.operationId;
  events = listEvents(db, operationId);
}, 120_000);

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function draw(tty: boolean): string {
  let text = '';
  const view = new ProgressView(operationId, { write: (t) => (text += t), tty, columns: 200 });
  for (const event of events) view.event(event);
  view.end();
  return text;
}

describe('the progress line', () => {
  it('without a terminal: a line per task with its position and how the hosts fared, a line per failure, control characters escaped', () => {
    const op = `operation ${operationId} · play Two hosts`;
    expect(draw(false).split('\n')).toEqual([
      `${op} · task 1 of 3: Both answer · hosts 2 done, 0 failed`,
      'bravo failed in Only alpha passes: bravo <b>\\x1b[31m stops',
      `${op} · task 2 of 3: Only alpha passes · hosts 2 done, 1 failed`,
      `${op} · task 3 of 3: Alpha goes on · hosts 1 done, 1 failed`,
      '',
    ]);
  });

  it('on a terminal: one line rewritten in place, cut to the width, cleared at the end', () => {
    const text = draw(true);
    const frames = text.split('\r\u001b[K').filter(Boolean);
    expect(frames).toContain(`operation ${operationId} · play Two hosts · task 2 of 3: Only alpha passes · hosts 1 done, 0 failed`);
    expect(frames).toContain('bravo failed in Only alpha passes: bravo <b>\\x1b[31m stops\n');
    // No newline but the failure's: the line is rewritten, and taken away at the end.
    expect(text.split('\n')).toHaveLength(2);
    expect(text.endsWith('\r\u001b[K')).toBe(true);

    let narrow = '';
    const view = new ProgressView(operationId, { write: (t) => (narrow += t), tty: true, columns: 40 });
    for (const event of events.slice(0, 3)) view.event(event);
    const last = narrow.split('\r\u001b[K').filter(Boolean).at(-1) ?? '';
    expect(last).toHaveLength(39);
    expect(last.endsWith('…')).toBe(true);
  });
});
