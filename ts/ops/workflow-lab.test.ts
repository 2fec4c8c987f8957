// Operations as workflows on a one-host lab, with the built CLI and real ansible-playbook over
// SSH: a second shell follows and cancels a long run while mko runs it, and an operation that
// failed because its host was off succeeds when retried after the host is back, linked to it.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { labStatus, powerOn, sshArgs, type LabInfo } from '../lab/index.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';
import { CANCEL_MEANING } from './cancel.js';
import { listEvents } from './events.js';
import { getOperation, listOperations, type Operation } from './operations.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('wf');
const host = `${LAB}-n1`;

describe.skipIf(!isRoot)('follow, cancel and retry on a lab (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let stateDir = '';
  let lab: LabInfo;
  const mkoRun = (args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, all: true, stdin: 'ignore', timeout: 300_000 });
  const onHost = async (command: string) => execa('ssh', [...sshArgs(stateDir, lab.hosts[0]?.address ?? ''), command], { reject: false });
  const withDb = <T>(fn: (db: ReturnType<typeof openDb>) => T): T => {
    const db = openDb(dbPath);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const latest = (): Operation | undefined => withDb((db) => listOperations(db, { limit: 1 })[0]);
  const running = async (): Promise<boolean> => ((await labStatus({ name: LAB, stateDir }))?.hosts ?? []).find((h) => h.hostname === host)?.running ?? false;

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-workflow-'));
    dbPath = path.join(dir, 'mko.db');
    stateDir = path.join(dir, 'lab', LAB);
    const up = await mkoRun(['lab', 'up', '--name', LAB, '--nodes', '1']);
    expect(up.exitCode, up.all).toBe(0);
    lab = (await labStatus({ name: LAB, stateDir })) as LabInfo;
  }, 600_000);

  afterAll(async () => {
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('a second shell follows a long run and cancels it: mko stops, the run is cancelled, its events and log kept', async () => {
    // The login step takes a minute on this host: an `id` that sleeps first, found before the real one.
    expect((await onHost("printf '#!/bin/sh\\nsleep 60\\nexec /usr/bin/id \"$@\"\\n' > /usr/local/bin/id && chmod 755 /usr/local/bin/id")).exitCode).toBe(0);
    try {
      const before = latest()?.id ?? 0;
      const run = mkoRun(['node', 'test-ssh', host]);
      const op = await pollUntil('the run to reach its first task', 60_000, async () => {
        const now = latest();
        if (!now || now.id === before) return undefined;
        return withDb((db) => listEvents(db, now.id).some((e) => e.type === 'task_start')) ? now : undefined;
      }, 100);
      expect(op.status).toBe('running');
      const follower = mkoRun(['operation', 'follow', String(op.id)]);

      const cancelled = await mkoRun(['operation', 'cancel', String(op.id)]);
      expect(cancelled.exitCode, cancelled.all).toBe(0);
      expect(cancelled.stdout).toBe(`Cancelled operation ${op.id} (ssh-test ${host})`);
      const mkoDone = await run;
      expect(mkoDone.exitCode, mkoDone.all).toBe(143);
      // mko showed the run as a progress line (stderr is no terminal here: one line per step).
      expect(mkoDone.stderr).toContain(`operation ${op.id} · play Test SSH login and passwordless sudo`);

      const followed = await follower;
      expect(followed.exitCode, followed.all).toBe(2);
      // It may see the end before `operation cancel` says who asked (mko first records the SIGTERM).
      expect(followed.stdout).toMatch(new RegExp(`^Operation ${op.id} \\(ssh-test ${host}\\): cancelled \\(`));

      const record = withDb((db) => ({ op: getOperation(db, op.id), events: listEvents(db, op.id) }));
      expect(record.op).toMatchObject({ status: 'cancelled', exitMeaning: CANCEL_MEANING });
      expect(record.op.log).toContain('TASK [Log in over SSH]');
      expect(record.events.some((e) => e.type === 'recap')).toBe(false);
      expect(record.events.slice(0, 2).map((e) => [e.type, e.task, e.taskIndex, e.taskCount])).toEqual([
        ['play_start', null, null, 6],
        ['task_start', 'Log in over SSH', 1, 6],
      ]);
    } finally {
      await onHost('rm -f /usr/local/bin/id');
    }
  }, 300_000);

  it('a run that failed because its host was off succeeds when retried after the host is back, linked to it', async () => {
    await onHost('systemctl poweroff');
    await pollUntil(`${host} to be off`, 60_000, async () => !(await running()), 500);
    const failed = await mkoRun(['node', 'test-ssh', host]);
    expect(failed.exitCode, failed.all).toBe(2);
    expect(failed.stdout).toContain(`${host}: unreachable`);
    const original = latest() as Operation;
    expect(original).toMatchObject({ status: 'failed', command: ['node', 'test-ssh', host], retryOf: null });
    expect(withDb((db) => getOperation(db, original.id).failures[host])).toMatchObject({ status: 'failed', message: `SSH test of ${host}: unreachable` });

    await powerOn({ name: LAB, stateDir }, host);
    const retried = await mkoRun(['operation', 'retry', String(original.id)]);
    expect(retried.exitCode, retried.all).toBe(0);
    const again = latest() as Operation;
    expect(again.id).toBeGreaterThan(original.id);
    expect(retried.stdout).toContain(`${host}: ok`);
    expect(retried.stdout.trim().split('\n').at(-1)).toBe(`Retry of operation ${original.id}: operation ${again.id}: succeeded (ok)`);
    expect(again).toMatchObject({ kind: 'ssh-test', target: host, status: 'succeeded', retryOf: original.id, command: ['node', 'test-ssh', host] });
    expect(again.args).toEqual(original.args);

    const twice = await mkoRun(['operation', 'retry', String(again.id)]);
    expect(twice.exitCode).toBe(1);
    expect(twice.stderr).toBe(`mko: operation ${again.id} (ssh-test ${host}) succeeded: nothing to retry`);
    expect(latest()?.id).toBe(again.id);
  }, 300_000);
});
