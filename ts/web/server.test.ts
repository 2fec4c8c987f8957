// `mko web serve|status|stop` as a user runs them: real processes, a real port, a real token.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkoBin } from '../test-support/cli.js';
import { pollUntil } from '../test-support/lab.js';

let dir: string;
let env: Record<string, string>;
const mko = (...args: string[]) => execa(mkoBin, args, { env, reject: false, stdin: 'ignore' });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-web-server-'));
  env = { MKO_DB: path.join(dir, 'mko.db') };
  expect((await mko('cluster', 'add', 'home')).exitCode).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mko web', () => {
  it('refuses to listen beyond loopback while no token exists, and changes nothing', async () => {
    const refused = await mko('web', 'serve', '--host', '0.0.0.0', '--port', '0');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe('mko: mko web on 0.0.0.0 would be reachable from other machines and no token exists: make one first with mko web token create --name <name> --scope admin');
    expect((await mko('web', 'status')).stdout).toBe('mko web is not running (start it with mko web serve)');
  });

  it('serves the API on loopback, says where in status, answers a token, and stops', async () => {
    const created = await mko('web', 'token', 'create', '--name', 'ci', '--scope', 'read', '--json');
    const { token } = JSON.parse(created.stdout) as { token: string };
    const server: ResultPromise = execa(mkoBin, ['web', 'serve', '--port', '0'], { env, reject: false, stdin: 'ignore' });
    try {
      const url = await pollUntil('mko web status to say running', 15_000, async () => {
        const status = JSON.parse((await mko('web', 'status', '--json')).stdout) as { running: boolean; url?: string };
        return status.running ? status.url : undefined;
      }, 100);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(`${url}api/v1/health`)).status).toBe(401);
      const health = await fetch(`${url}api/v1/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, watcher: { running: false } });
      const second = await mko('web', 'serve', '--port', '0');
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(/^mko: mko web already runs on .* \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/\): mko web stop$/);
      const stopped = await mko('web', 'stop');
      expect(stopped.stdout).toMatch(/^Stopped mko web \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/\)$/);
      const end = await server;
      expect(end.exitCode).toBe(0);
      expect(end.stdout).toMatch(/serving http:\/\/127\.0\.0\.1:\d+\/ .*\n.*stopping\n.*stopped$/);
    } finally {
      server.kill('SIGKILL');
    }
    expect((await mko('web', 'stop')).stdout).toBe('mko web is not running');
  });

  it('runs the UPS watcher in the same process with --with-watcher, and stops both', async () => {
    const { token } = JSON.parse((await mko('web', 'token', 'create', '--name', 'ci2', '--scope', 'read', '--json')).stdout) as { token: string };
    const server: ResultPromise = execa(mkoBin, ['web', 'serve', '--port', '0', '--with-watcher'], { env, reject: false, stdin: 'ignore' });
    try {
      const url = await pollUntil('mko web to listen', 15_000, async () => {
        const status = JSON.parse((await mko('web', 'status', '--json')).stdout) as { running: boolean; url?: string };
        return status.running ? status.url : undefined;
      }, 100);
      const health = await pollUntil('the watcher to run', 15_000, async () => {
        const body = (await (await fetch(`${url}api/v1/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { watcher: { running: boolean; pid?: number } };
        return body.watcher.running ? body : undefined;
      }, 100);
      expect(health.watcher.pid).toBe(server.pid);
      expect((await mko('ups', 'monitor', 'status')).stdout).toMatch(/running/);
      expect((await mko('web', 'stop')).exitCode).toBe(0);
      const end = await server;
      expect(end.exitCode).toBe(0);
      expect(end.stdout).toMatch(/watcher: stopping/);
      expect((await mko('ups', 'monitor', 'status', '--json')).stdout).toMatch(/"running": ?false/);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
