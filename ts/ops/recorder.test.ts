// One recorder for both kinds of run: the same playbook run by plain ansible-playbook and by mko,
// over real SSH to a loopback sshd (one host that logs in and sudoes, one that is unreachable),
// leaves the same operation record: log, recap, failures, set_stats results, events, status,
// exit code and its meaning, and the command line. Only what says who ran it differs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { inventoryScript, playbooksDir, projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { createUser, freePort, pasteAsUser, removeUser, startSshd, type Sshd, type TestUser } from '../test-support/sshd.js';
import { listEvents, type OperationEvent } from './events.js';
import { getOperation, listOperations, type Operation } from './operations.js';

const isRoot = process.getuid?.() === 0;
const user: TestUser = { name: 'mkot-rec', password: 'pw-rec-1', sudoGroup: true };

/** An event as both recorders must agree on it: without its time. */
const shape = ({ time: _time, ...rest }: OperationEvent) => rest;

/**
 * Hosts' results within a task arrive in whichever order the hosts finish: the same record, with
 * each task's host results (and each task block of the log) in host order.
 */
function hostOrder(events: OperationEvent[]): ReturnType<typeof shape>[] {
  const out: ReturnType<typeof shape>[] = [];
  let block: ReturnType<typeof shape>[] = [];
  const flush = () => out.push(...block.sort((a, b) => (a.host ?? '').localeCompare(b.host ?? '')));
  for (const event of events.map(shape)) {
    if (event.type === 'host_result' || event.type === 'retry') block.push(event);
    else {
      flush();
      block = [];
      out.push(event);
    }
  }
  flush();
  return out.map((e, i) => ({ ...e, seq: i + 1 }));
}
const logInHostOrder = (log: string): string =>
  log
    .split(/\n(?=\n)/)
    .map((block) => block.split('\n').sort().join('\n'))
    .join('\n');

/** What must be the same; what tells the runs apart (kind, source, id, times, pid, target) is left out. */
function record(op: Operation, events: OperationEvent[]) {
  return {
    playbook: op.playbook,
    args: op.args,
    cwd: op.cwd,
    status: op.status,
    exitCode: op.exitCode,
    exitMeaning: op.exitMeaning,
    recap: op.recap,
    failures: op.failures,
    results: op.results,
    log: logInHostOrder(op.log),
    events: hostOrder(events),
  };
}

describe.skipIf(!isRoot)('a plain ansible-playbook run and an mko run of the same playbook', () => {
  let sshd: Sshd;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-recorder-'));
    env = { MKO_DB: path.join(dir, 'mko.db'), ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'cp') };
    sshd = await startSshd();
    await createUser(user);
    const added = await execa(mkoBin, ['node', 'add', '--hostname', 'rec-ok', '--ip', '127.0.0.1', '--port', String(sshd.port), '--user', user.name], { env });
    const start = added.stdout.indexOf('then paste:\n\n') + 'then paste:\n\n'.length;
    await pasteAsUser(user, added.stdout.slice(start, added.stdout.indexOf('\n\n', start)));
    await execa(mkoBin, ['node', 'add', '--hostname', 'rec-gone', '--ip', '127.0.0.2', '--port', String(await freePort()), '--user', user.name], { env });
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await removeUser(user.name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('leave the same record', async () => {
    const viaMko = await execa(mkoBin, ['node', 'test-ssh', 'rec-ok', 'rec-gone'], { env, reject: false, all: true });
    expect(viaMko.exitCode, viaMko.all).toBe(2);
    expect(viaMko.stdout).toMatch(/rec-ok: ok/);
    expect(viaMko.stdout).toMatch(/rec-gone: unreachable/);
    // The command line mko builds, typed by hand: the same inventory, playbook and limit.
    const plain = await execa('ansible-playbook', ['-i', inventoryScript, path.join(playbooksDir, 'test-ssh.yml'), '--limit', 'rec-ok,rec-gone'], {
      cwd: projectRoot,
      env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg'), ANSIBLE_CACHE_PLUGIN_CONNECTION: path.join(dir, 'ansible-facts') },
      reject: false,
      all: true,
    });
    expect(plain.exitCode, plain.all).toBe(2);

    const db = openDb(env['MKO_DB'] as string);
    try {
      const [byHand, byMko] = listOperations(db, { limit: 2 }).map((op) => getOperation(db, op.id));
      if (!byHand || !byMko) throw new Error('two operations expected');
      expect(byMko).toMatchObject({ source: 'mko', kind: 'ssh-test', target: 'rec-ok,rec-gone', command: ['node', 'test-ssh', 'rec-ok', 'rec-gone'] });
      expect(byHand).toMatchObject({ source: 'ansible', kind: 'playbook', target: 'rec-ok,rec-gone', command: null });

      const mine = record(byMko, listEvents(db, byMko.id));
      expect(record(byHand, listEvents(db, byHand.id))).toEqual(mine);
      // And the record is the one the runs had, not two empty ones.
      expect(mine).toMatchObject({
        status: 'failed',
        exitCode: 2,
        exitMeaning: 'one or more hosts failed',
        args: ['ansible-playbook', '-i', inventoryScript, path.join(playbooksDir, 'test-ssh.yml'), '--limit', 'rec-ok,rec-gone'],
        results: {
          'rec-ok': { mko_ssh_test: 'ok', mko_ssh_said: '' },
          'rec-gone': { mko_ssh_test: 'unreachable', mko_ssh_said: expect.stringMatching(/^ssh: connect to host 127\.0\.0\.2 port \d+: Connection refused$/) as unknown },
        },
        failures: { 'rec-gone': { task: 'Fail a host whose login or sudo does not work', status: 'failed', message: 'SSH test of rec-gone: unreachable', ignored: false } },
      });
      expect(mine.recap['rec-ok']).toMatchObject({ ok: 4, failed: 0, skipped: 2 });
      expect(mine.recap['rec-gone']).toMatchObject({ failed: 1, ignored: 1, unreachable: 0 });
      expect(mine.events.filter((e) => e.type === 'task_start').map((e) => [e.taskIndex, e.taskCount, e.task])).toEqual([
        [1, 6, 'Log in over SSH'],
        [2, 6, 'Log in again when the first try got no answer in time'],
        [3, 6, 'Run a command through passwordless sudo'],
        [4, 6, 'Tell which step failed'],
        [5, 6, 'Report the verdict'],
        [6, 6, 'Fail a host whose login or sudo does not work'],
      ]);
      // A refused port is no busy node: no second login.
      expect(mine.events.filter((e) => e.type === 'host_result' && e.host === 'rec-gone').map((e) => e.status)).toEqual(['ignored', 'skipped', 'skipped', 'ok', 'ok', 'failed']);
      expect(mine.log).toContain('fatal: [rec-gone]: UNREACHABLE!');
    } finally {
      db.close();
    }
  }, 120_000);

  it('mko operation retry runs a plain ansible-playbook run again: its command line, in its folder, linked to it', async () => {
    const db = openDb(env['MKO_DB'] as string);
    try {
      const byHand = listOperations(db, { limit: 5 }).find((op) => op.source === 'ansible');
      if (!byHand) throw new Error('the plain run of the test before is needed');
      const retried = await execa(mkoBin, ['operation', 'retry', String(byHand.id)], { env, reject: false, all: true });
      // rec-gone is still unreachable: the run fails again, as the first did.
      expect(retried.exitCode, retried.all).toBe(2);
      const again = listOperations(db, { limit: 1 })[0];
      expect(retried.stdout.trim().split('\n').at(-1)).toBe(`Retry of operation ${byHand.id}: operation ${again?.id}: failed (one or more hosts failed)`);
      expect(getOperation(db, again?.id ?? 0)).toMatchObject({ retryOf: byHand.id, args: byHand.args, cwd: byHand.cwd, status: 'failed', results: { 'rec-ok': { mko_ssh_test: 'ok' }, 'rec-gone': { mko_ssh_test: 'unreachable' } } });
    } finally {
      db.close();
    }
  }, 120_000);
});
