// A real OpenSSH server on loopback for tests, with real local users. Nothing leaves 127.0.0.1.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { waitForPort as waitForAddressPort } from '../lab/ssh.js';
import { pasteProgram } from '../ssh/paste.js';

export interface TestUser {
  name: string;
  password: string;
  sudoGroup: boolean;
}

/** Loopback addresses the test sshd answers on (all of 127.0.0.0/8 is local on Linux). */
export const LOOPBACK_NODES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;

export interface Sshd {
  port: number;
  dir: string;
  hostKeyPub: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Wait for a loopback test server to listen (the lab's port wait, on 127.0.0.1). */
export function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  return waitForAddressPort('127.0.0.1', port, timeoutMs);
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-sshd-'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'host_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      // Each test node gets its own loopback address, as real nodes have their own IPs.
      ...LOOPBACK_NODES.map((address) => `ListenAddress ${address}`),
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'AuthorizedKeysFile .ssh/authorized_keys',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes yes',
      'PermitRootLogin prohibit-password',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const child: ResultPromise = execa('/usr/sbin/sshd', ['-D', '-e', '-f', config], { reject: false, stdio: 'ignore' });
  await waitForPort(port);
  const hostKeyPub = (await execa('cat', [`${hostKey}.pub`])).stdout.trim();
  return {
    port,
    dir,
    hostKeyPub,
    async stop() {
      child.kill('SIGTERM');
      await child;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Create a local login user with a password (what a fresh Pi or Ubuntu box has). */
export async function createUser(user: TestUser): Promise<void> {
  await removeUser(user.name);
  await execa('useradd', ['--create-home', '--shell', '/bin/bash', ...(user.sudoGroup ? ['--groups', 'sudo'] : []), user.name]);
  await execa('chpasswd', [], { input: `${user.name}:${user.password}\n` });
}

export async function removeUser(name: string): Promise<void> {
  // Only this test's SSH sessions (kept open by ControlPersist) run as these throwaway users.
  await execa('pkill', ['-KILL', '-u', name], { reject: false });
  await execa('userdel', ['--force', '--remove', name], { reject: false });
  rmSync(`/etc/sudoers.d/90-mko-${name}`, { force: true });
}

/** Run pasted instructions as `user` in a login shell, the way an operator pastes them. */
export async function pasteAsUser(user: TestUser, script: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa('runuser', ['--login', user.name, '--command', 'bash -s'], {
    input: pasteProgram(script, user.password),
    reject: false,
    all: true,
  });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}
