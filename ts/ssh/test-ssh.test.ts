// End to end: the built mko CLI onboards nodes that are real local users behind a real sshd on
// loopback, and `mko node test-ssh` tells each way it can fail apart.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { connect, createServer, type Socket } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { createUser, freePort, pasteAsUser, removeUser, startSshd, type Sshd, type TestUser } from '../test-support/sshd.js';

const mko = path.join(projectRoot, 'bin', 'mko');
const isRoot = process.getuid?.() === 0;

const withSudo: TestUser = { name: 'mkot-sudo', password: 'pw-sudo-1', sudoGroup: true };
const noSudo: TestUser = { name: 'mkot-nosudo', password: 'pw-nosudo-1', sudoGroup: false };
const fresh: TestUser = { name: 'mkot-fresh', password: 'pw-fresh-1', sudoGroup: true };

describe.skipIf(!isRoot)('mko node test-ssh against a real sshd', () => {
  let sshd: Sshd;
  let dir: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, all: true });
  const setupScript = (instructions: string): string => {
    // The block between "then paste:" and the first blank line is what the operator copies.
    const start = instructions.indexOf('then paste:\n\n') + 'then paste:\n\n'.length;
    return instructions.slice(start, instructions.indexOf('\n\n', start));
  };
  const nodeRow = (hostname: string) => {
    const db = new Database(env['MKO_DB'] as string, { readonly: true });
    try {
      return db.prepare('SELECT ssh_key_status AS status, ssh_test_result AS result FROM nodes WHERE hostname = ?').get(hostname) as { status: string; result: string };
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-e2e-'));
    env = { MKO_DB: path.join(dir, 'mko.db'), ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'cp') };
    sshd = await startSshd();
    for (const user of [withSudo, noSudo, fresh]) await createUser(user);
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const user of [withSudo, noSudo, fresh]) await removeUser(user.name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies a node after its pasted instructions authorize the key and grant sudo', async () => {
    const added = await run('node', 'add', '--hostname', 'n-sudo', '--ip', '127.0.0.1', '--port', String(sshd.port), '--user', withSudo.name);
    expect(added.exitCode).toBe(0);
    const pasted = await pasteAsUser(withSudo, setupScript(added.stdout));
    expect(pasted.output).toContain(`mko: ${withSudo.name} has passwordless sudo`);
    expect(readFileSync(`/etc/sudoers.d/90-mko-${withSudo.name}`, 'utf8')).toContain('NOPASSWD: ALL');

    const tested = await run('node', 'test-ssh', 'n-sudo');
    expect(tested.exitCode, tested.all).toBe(0);
    expect(tested.stdout).toMatch(/n-sudo: ok: .* passwordless sudo/);
    expect(nodeRow('n-sudo').status).toBe('verified');

    const ops = JSON.parse((await run('operation', 'list', '--json')).stdout) as { kind: string; status: string; recap: Record<string, { ok: number; changed: number }> }[];
    expect(ops[0]).toMatchObject({ kind: 'ssh-test', status: 'succeeded' });
    expect(ops[0]?.recap['n-sudo']).toMatchObject({ changed: 0, failed: 0 });
  });

  it('pasting the instructions twice changes nothing', async () => {
    const text = (await run('node', 'instructions', 'n-sudo')).stdout;
    const before = readFileSync(`/home/${withSudo.name}/.ssh/authorized_keys`, 'utf8');
    await pasteAsUser(withSudo, setupScript(text));
    expect(readFileSync(`/home/${withSudo.name}/.ssh/authorized_keys`, 'utf8')).toBe(before);
  });

  it('says sudo needs a password when login works but sudo is not granted', async () => {
    const added = await run('node', 'add', '--hostname', 'n-nosudo', '--ip', '127.0.0.2', '--port', String(sshd.port), '--user', noSudo.name);
    await pasteAsUser(noSudo, setupScript(added.stdout)); // the key lines work, sudo refuses this user
    const tested = await run('node', 'test-ssh', 'n-nosudo');
    expect(tested.exitCode, tested.all).toBe(2);
    expect(tested.stdout).toContain('sudo needs a password');
    expect(nodeRow('n-nosudo').status).toBe('deployed');
  });

  it('says auth refused when the key was never installed', async () => {
    await run('node', 'add', '--hostname', 'n-fresh', '--ip', '127.0.0.3', '--port', String(sshd.port), '--user', fresh.name);
    const tested = await run('node', 'test-ssh', 'n-fresh');
    expect(tested.exitCode, tested.all).toBe(2);
    expect(tested.stdout).toContain('auth refused');
    expect(nodeRow('n-fresh')).toMatchObject({ status: 'failed' });
  });

  it('says unreachable when nothing listens', async () => {
    const port = await freePort();
    await run('node', 'add', '--hostname', 'n-gone', '--ip', '127.0.0.1', '--port', String(port), '--user', fresh.name);
    const tested = await run('node', 'test-ssh', 'n-gone');
    expect(tested.exitCode, tested.all).toBe(2);
    expect(tested.stdout).toContain(`n-gone: unreachable: no SSH login at ${fresh.name}@127.0.0.1:${port} (ssh said: ssh: connect to host 127.0.0.1 port ${port}: Connection refused)`);
    expect(nodeRow('n-gone').result).toMatch(/^unreachable/);
  });

  it('logs in on a second try when the first connection got no answer in time (a busy node)', async () => {
    // A port on the node's address that swallows its first connection (no SSH banner, as from a
    // node too busy to answer) and hands every later one to the real sshd.
    let connections = 0;
    const open: Socket[] = [];
    const proxy = createServer((client) => {
      connections += 1;
      open.push(client);
      if (connections === 1) return;
      const upstream = connect(sshd.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.4', resolve));
    try {
      const added = await run('node', 'add', '--hostname', 'n-busy', '--ip', '127.0.0.4', '--port', String(port), '--user', withSudo.name);
      await pasteAsUser(withSudo, setupScript(added.stdout));
      // Ansible's connect time-out, shortened so the swallowed connection gives up in 3 s, not 10.
      const tested = await execa(mko, ['node', 'test-ssh', 'n-busy'], { env: { ...env, ANSIBLE_TIMEOUT: '3' }, reject: false, all: true });
      expect(tested.exitCode, tested.all).toBe(0);
      expect(tested.stdout).toContain('n-busy: ok: n-busy accepts the key and has passwordless sudo');
      expect(connections).toBeGreaterThanOrEqual(2);
      const operation = /\(operation (\d+)\)/.exec(tested.stdout)?.[1] ?? 'none';
      const log = (await run('operation', 'show', operation, '--log')).stdout;
      expect(log).toMatch(/TASK \[Log in again when the first try got no answer in time\][^\n]*\n+ok: \[n-busy\]/);
    } finally {
      // Ansible's ControlPersist master would hold its connection (and close()) for a minute.
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  }, 120_000);

  it('says host key changed when the node presents a different host key', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    expect(readFileSync(knownHosts, 'utf8')).toContain(sshd.hostKeyPub.split(' ')[1]);
    const impostor = path.join(dir, 'impostor');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', impostor]);
    const [type, body] = readFileSync(`${impostor}.pub`, 'utf8').split(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${body}\n`);
    const tested = await execa(mko, ['node', 'test-ssh', 'n-sudo'], {
      env: { ...env, ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'cp2') },
      reject: false,
    });
    expect(tested.exitCode, tested.all).toBe(2);
    expect(tested.stdout).toContain('host key changed');
    expect(nodeRow('n-sudo').status).toBe('failed');
  });
});
