// Runs recorded by a long-lived mko web, stopped and re-run from outside it, with real processes:
// the built mko serving the API, a real ansible-playbook that hangs in ssh (its ProxyCommand is a
// long sleep), `mko operation cancel` from a second shell and retry through the API and the CLI.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { CANCEL_MEANING } from '../ops/index.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { killAll, pidsOf, waitFor } from '../test-support/hanging-run.js';

let dir: string;
let env: Record<string, string>;
let server: ResultPromise | undefined;
let url = '';
let token = '';
const started: number[] = [];
const seconds = 3_000_000 + Math.floor(Math.random() * 1_000_000);
const marker = `^sleep ${seconds}$`;

const mko = (...args: string[]) => execa(mkoBin, args, { env, reject: false, stdin: 'ignore' });

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

interface Row {
  status: string;
  exit_meaning: string | null;
  command: string | null;
  retry_of: number | null;
  pid: number;
}

function row(id: number): Row {
  const db = openDb(env['MKO_DB'] ?? '');
  try {
    return db.prepare('SELECT status, exit_meaning, command, retry_of, pid FROM operations WHERE id = ?').get(id) as Row;
  } finally {
    db.close();
  }
}

const finished = (id: number): Promise<Row> => waitFor(`operation ${id} to end`, () => (row(id).status === 'running' ? undefined : row(id)), 30_000);

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-service-runs-'));
  env = { MKO_DB: path.join(dir, 'mko.db') };
  expect((await mko('node', 'add', '--hostname', 'stuck1', '--ip', '127.0.0.6', '--user', 'nobody')).exitCode).toBe(0);
  token = (JSON.parse((await mko('web', 'token', 'create', '--name', 'ci', '--scope', 'operate', '--json')).stdout) as { token: string }).token;
  // Every ssh of the server's runs hangs in its ProxyCommand until stopped.
  server = execa(mkoBin, ['web', '--port', '0'], { env: { ...env, ANSIBLE_SSH_ARGS: `-o ProxyCommand="sleep ${seconds}"` }, reject: false, stdin: 'ignore' });
  if (server.pid) started.push(server.pid);
  url = await waitFor('mko web to listen', async () => {
    const status = JSON.parse((await mko('web', 'status', '--json')).stdout) as { running: boolean; url?: string };
    return status.running ? status.url : undefined;
  });
}, 180_000);

afterAll(async () => {
  await mko('web', 'stop', '--force');
  killAll([...started, ...(await pidsOf(marker))]);
  rmSync(dir, { recursive: true, force: true });
});

describe('runs of a long-lived mko web', () => {
  let first = 0;

  it('mko operation cancel from a shell stops the run, not the server; the record keeps the mko command that does the same', async () => {
    const accepted = await api('POST', '/nodes/stuck1/test-ssh');
    expect(accepted.status).toBe(202);
    first = accepted.json['operationId'] as number;
    await waitFor('the ssh ProxyCommand sleep', async () => ((await pidsOf(marker)).length > 0 ? true : undefined));
    expect(row(first)).toMatchObject({ status: 'running', pid: server?.pid, command: JSON.stringify(['node', 'test-ssh', 'stuck1']) });

    const cancelled = await mko('operation', 'cancel', String(first));
    expect(cancelled.stderr).toBe('');
    expect(cancelled.stdout).toBe(`Cancelled operation ${first} (ssh-test stuck1)`);
    expect(row(first)).toMatchObject({ status: 'cancelled', exit_meaning: CANCEL_MEANING });
    await waitFor('the hanging ssh to be stopped', async () => ((await pidsOf(marker)).length === 0 ? true : undefined), 15_000);
    // The server lives on and answers.
    expect(() => process.kill(server?.pid ?? 0, 0)).not.toThrow();
    expect((await api('GET', '/health')).status).toBe(200);
  });

  it('retries it through the API as a new mko process linked to it, and cancels that through the API', async () => {
    const retried = await api('POST', `/operations/${first}/retry`);
    expect(retried.status, JSON.stringify(retried.json)).toBe(202);
    const second = retried.json['operationId'] as number;
    expect(second).toBeGreaterThan(first);
    await waitFor('the retry to hang in ssh', async () => ((await pidsOf(marker)).length > 0 ? true : undefined));
    const again = row(second);
    expect(again).toMatchObject({ status: 'running', retry_of: first, command: JSON.stringify(['node', 'test-ssh', 'stuck1']) });
    // Its own process records it, not the server.
    expect(again.pid).not.toBe(server?.pid);

    const cancelled = await api('POST', `/operations/${second}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await finished(second)).toMatchObject({ status: 'cancelled', exit_meaning: CANCEL_MEANING });
    expect((await api('GET', '/health')).status).toBe(200);
  });

  it('an unknown operation is a 404 in one line', async () => {
    const missing = await api('POST', '/operations/999999/retry');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'no operation 999999: see mko operation list', field: null });
  });

  it('mko operation retry from a shell runs a web run again with the same command', async () => {
    const retry = execa(mkoBin, ['operation', 'retry', String(first)], { env: { ...env, ANSIBLE_SSH_ARGS: '-o ConnectTimeout=1' }, reject: false, stdin: 'ignore' });
    if (retry.pid) started.push(retry.pid);
    const result = await retry;
    // Nothing answers SSH at 127.0.0.6: the retried test-ssh runs, and fails as the first would have.
    expect(result.stdout).toMatch(new RegExp(`Retry of operation ${first}: operation \\d+`));
    const id = Number(/Retry of operation \d+: operation (\d+)/.exec(result.stdout)?.[1]);
    expect(row(id)).toMatchObject({ status: 'failed', retry_of: first, command: JSON.stringify(['node', 'test-ssh', 'stuck1']) });
  });
});
