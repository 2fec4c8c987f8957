// `mko web serve|status|stop` as a user runs them: real processes, a real port, a real token.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkoBin } from '../test-support/cli.js';
import { pollUntil } from '../test-support/lab.js';
import { hashSecret } from './tokens.js';

let dir: string;
let env: Record<string, string>;
const mko = (...args: string[]) => execa(mkoBin, args, { env, reject: false, stdin: 'ignore' });
/** `mko web serve` on any free port; resolves with its process and URL once `web status` says it runs. */
async function serveWeb(extraEnv: Record<string, string> = {}): Promise<{ server: ResultPromise; url: string }> {
  const server: ResultPromise = execa(mkoBin, ['web', 'serve', '--port', '0'], { env: { ...env, ...extraEnv }, reject: false, stdin: 'ignore' });
  const url = await pollUntil('mko web status to say running', 15_000, async () => {
    const status = JSON.parse((await mko('web', 'status', '--json')).stdout) as { running: boolean; url?: string };
    return status.running ? status.url : undefined;
  }, 100);
  return { server, url };
}

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

  it('stop --force kills a server that hangs on SIGTERM, and removes its PID file', async () => {
    // A preload whose SIGTERM handler, first in line, never returns: the server's event loop hangs.
    const hang = path.join(dir, 'hang-on-sigterm.cjs');
    writeFileSync(hang, "process.on('SIGTERM', () => { for (;;); });\n");
    const { server } = await serveWeb({ NODE_OPTIONS: `--require=${hang}` });
    try {
      const pidFile = `${env['MKO_DB']}.web.pid`;
      expect(existsSync(pidFile)).toBe(true);
      const plain = await mko('web', 'stop');
      expect(plain.exitCode).toBe(1);
      expect(plain.stderr).toBe(`mko: mko web (pid ${server.pid}) did not stop within 10 s: add --force to kill it`);
      expect((await mko('web', 'status')).stdout).toMatch(/^mko web is running: /);
      const forced = await mko('web', 'stop', '--force');
      expect(forced.exitCode).toBe(0);
      expect(forced.stdout).toMatch(new RegExp(`^Stopped mko web \\(pid ${server.pid}, http://127\\.0\\.0\\.1:\\d+/\\)$`));
      expect((await server).signal).toBe('SIGKILL');
      expect(existsSync(pidFile)).toBe(false);
      expect((await mko('web', 'status')).stdout).toBe('mko web is not running (start it with mko web serve)');
    } finally {
      server.kill('SIGKILL');
    }
  }, 120_000);

  it('token create shows the token once, the database keeps only its hash, list never shows it, revoke makes it 401', async () => {
    const created = await mko('web', 'token', 'create', '--name', 'phone', '--scope', 'read');
    expect(created.exitCode).toBe(0);
    const [heading, secret = '', ...rest] = created.stdout.split('\n');
    expect(heading).toBe('Token phone (scope read); shown this once, keep it safe:');
    expect(secret).toMatch(/^mko_[A-Za-z0-9_-]{43}$/);
    expect(rest).toEqual([]);
    expect((await mko('web', 'token', 'create', '--name', 'phone', '--scope', 'read')).stderr).toBe('mko: a token named phone already exists: pick another --name, or mko web token revoke phone');

    // The database's files hold the hash (so the search below can find what is there), never the token.
    const files = [env['MKO_DB'], `${env['MKO_DB']}-wal`].filter((f): f is string => existsSync(f ?? ''));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(bytes.includes(hashSecret(secret))).toBe(true);
    expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes(secret.slice(8))).toBe(false);

    const list = await mko('web', 'token', 'list');
    expect(list.stdout).toMatch(new RegExp(`^\\d+\\s+phone\\s+read\\s+${secret.slice(0, 8)}…`, 'm'));
    expect(list.stdout).not.toContain(secret);
    const listed = JSON.parse((await mko('web', 'token', 'list', '--json')).stdout) as Record<string, unknown>[];
    expect(listed.find((t) => t['name'] === 'phone')).toMatchObject({ scope: 'read', prefix: secret.slice(0, 8), revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(secret.slice(8));

    const { server, url } = await serveWeb();
    try {
      const health = () => fetch(`${url}api/v1/health`, { headers: { authorization: `Bearer ${secret}` } });
      expect((await health()).status).toBe(200);
      const revoked = await mko('web', 'token', 'revoke', 'phone');
      expect(revoked.exitCode).toBe(0);
      expect(revoked.stdout).toBe('Revoked token phone');
      const refused = await health();
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: 'invalid or revoked token: make one with mko web token create', field: null });
      expect((await mko('web', 'token', 'revoke', 'phone')).stderr).toMatch(/^mko: token phone was already revoked at \d{4}-/);
      expect((await mko('web', 'stop')).exitCode).toBe(0);
      expect((await server).exitCode).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  }, 120_000);
});
