// SSH to lab hosts as root with the lab admin key, host keys pinned in <stateDir>/known_hosts.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { LabError } from './errors.js';

export const sshDir = (stateDir: string): string => join(stateDir, 'ssh');
export const adminKeyPath = (stateDir: string): string => join(sshDir(stateDir), 'admin_ed25519');
export const knownHostsPath = (stateDir: string): string => join(stateDir, 'known_hosts');

/** The lab admin key pair (0600 in a 0700 dir), made once per lab; returns the public key. */
export async function ensureAdminKey(stateDir: string): Promise<string> {
  const dir = sshDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const key = adminKeyPath(stateDir);
  if (!existsSync(key)) {
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mko-lab-admin', '-f', key]);
  }
  await chmod(key, 0o600);
  return readFile(`${key}.pub`, 'utf8');
}

/** `ssh` arguments (without the command) to reach `address` as root. */
export function sshArgs(stateDir: string, address: string): string[] {
  return [
    '-F', 'none',
    '-i', adminKeyPath(stateDir),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${knownHostsPath(stateDir)}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    `root@${address}`,
  ];
}

function portOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1000 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export async function waitForPort(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(address, port))) {
    if (Date.now() > deadline) throw new LabError(`${address}:${port} did not answer within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** known_hosts lines (`address,hostname type key`) for the hosts' ed25519 keys, via ssh-keyscan. */
export async function scanHostKeys(hosts: ReadonlyArray<{ address: string; hostname: string }>): Promise<string> {
  const lines = await Promise.all(
    hosts.map(async (h) => {
      const { stdout } = await execa('ssh-keyscan', ['-T', '5', '-t', 'ed25519', h.address]);
      const key = stdout.split('\n').find((l) => l.startsWith(`${h.address} `));
      if (!key) throw new Error(`ssh-keyscan returned no ed25519 key for ${h.address}`);
      return key.replace(`${h.address} `, `${h.address},${h.hostname} `);
    }),
  );
  return `${lines.join('\n')}\n`;
}

export async function writeKnownHosts(stateDir: string, content: string): Promise<void> {
  await writeFile(knownHostsPath(stateDir), content, { mode: 0o600 });
}

/** Waits for `systemctl is-system-running --wait` to settle at running or degraded. */
export async function waitForSystem(stateDir: string, address: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await execa('ssh', [...sshArgs(stateDir, address), 'systemctl is-system-running --wait'], {
      reject: false,
      timeout: timeoutMs,
    });
    const status = r.stdout.trim();
    if (status === 'running' || status === 'degraded') return status;
    if (Date.now() > deadline) {
      throw new LabError(`${address} did not finish booting (state "${status}"): ${r.stderr.trim()}`);
    }
    await sleep(500);
  }
}

/** Closes ssh ControlMaster sockets left in the lab's ssh dir and removes them. */
export async function closeControlMasters(stateDir: string): Promise<void> {
  const dir = sshDir(stateDir);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.filter((x) => x.isSocket())) {
    const socket = join(dir, e.name);
    await execa('ssh', ['-F', 'none', '-o', `ControlPath=${socket}`, '-O', 'exit', 'lab'], { reject: false });
    await rm(socket, { force: true });
  }
}
