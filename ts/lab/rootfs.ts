// The hosts' root filesystem: Debian bookworm minbase from debootstrap, built once and cached as
// a zstd tarball, and extracted once next to it as the read-only lower dir that every host of every
// lab (and of every checkout on this machine) shares under its own overlay.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { LabError } from './errors.js';

export const ROOTFS_SUITE = 'bookworm';
/** Everything the roles may need is installed here: the lab hosts have no apt network. */
export const ROOTFS_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'sudo', 'openssh-server', 'python3', 'python3-apt',
  'iproute2', 'iputils-ping', 'procps', 'nut-server', 'nut-client', 'ethtool', 'lsb-release',
  'pciutils', 'lvm2', 'mdadm',
  // mko doctor's certificate and FORWARD-policy checks; MicroK8s's own hooks call openssl.
  'openssl', 'iptables',
] as const;
const DEFAULT_CACHE_DIR = '/var/cache/mko';
const FALLBACK_MIRROR = 'http://deb.debian.org/debian';

/** First Debian mirror of this machine's apt sources (deb822 `URIs:` or one-line `deb`). */
export function parseMirror(debSources: string | null, sourcesList: string | null): string | null {
  for (const line of (debSources ?? '').split('\n')) {
    const m = /^URIs:\s*(\S+)/.exec(line.trim());
    if (m?.[1] && !m[1].includes('security')) return m[1];
  }
  for (const line of (sourcesList ?? '').split('\n')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line.trim());
    if (m?.[1] && !m[1].includes('security')) return m[1];
  }
  return null;
}

async function readMirror(): Promise<string> {
  const read = (p: string) => readFile(p, 'utf8').catch(() => null);
  const mirror = parseMirror(
    await read('/etc/apt/sources.list.d/debian.sources'),
    await read('/etc/apt/sources.list'),
  );
  return mirror ?? FALLBACK_MIRROR;
}

export function rootfsTarballPath(env: NodeJS.ProcessEnv = process.env): string {
  const key = createHash('sha256')
    .update(`${ROOTFS_SUITE} minbase ${ROOTFS_PACKAGES.join(',')}`)
    .digest('hex')
    .slice(0, 12);
  return join(env.MKO_LAB_CACHE ?? DEFAULT_CACHE_DIR, `lab-rootfs-${key}.tar.zst`);
}

/** What every host would otherwise share: host keys and machine id are made per host at boot. */
async function genericise(root: string): Promise<void> {
  const sshDir = join(root, 'etc/ssh');
  for (const f of await readdir(sshDir)) {
    if (f.startsWith('ssh_host_')) await rm(join(sshDir, f));
  }
  await writeFile(join(root, 'etc/machine-id'), '');
  await rm(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await symlink('/etc/machine-id', join(root, 'var/lib/dbus/machine-id'));
  await writeFile(join(root, 'etc/hostname'), 'localhost\n');
  await rm(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
}

/** The cached rootfs tarball, built first when missing (~1 min). */
export async function ensureRootfsTarball(onProgress: (m: string) => void): Promise<string> {
  const tarball = rootfsTarballPath();
  if (existsSync(tarball)) return tarball;
  for (const tool of ['debootstrap', 'zstd']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) {
      throw new LabError(`${tool} is missing: apt-get install debootstrap zstd systemd-container`);
    }
  }
  await mkdir(dirname(tarball), { recursive: true });
  // Build next to the cache so the final rename is atomic: a crash never leaves a half tarball.
  const work = await mkdtemp(join(dirname(tarball), '.build-'));
  try {
    const root = join(work, 'rootfs');
    const mirror = await readMirror();
    onProgress(`building the lab root filesystem from ${mirror} (once, about a minute)`);
    const built = await execa(
      'debootstrap',
      ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, ROOTFS_SUITE, root, mirror],
      { reject: false, all: true },
    );
    if (built.exitCode !== 0) {
      const tail = (built.all ?? '').split('\n').slice(-15).join('\n');
      throw new LabError(`debootstrap failed (exit ${built.exitCode}); is ${mirror} reachable?\n${tail}`);
    }
    await genericise(root);
    onProgress('caching the root filesystem');
    const partial = join(work, 'rootfs.tar.zst');
    await execa('tar', [
      '--use-compress-program=zstd -T0 -3', '--numeric-owner', '--xattrs', '--xattrs-include=*',
      '-C', root, '-cf', partial, '.',
    ]);
    await rename(partial, tarball);
    return tarball;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Where `tarball` is extracted: beside it, named after it and after the tarball file itself (size
 * and mtime), so a rebuilt tarball gets a new directory and never changes one that overlays use.
 */
export async function rootfsDirPath(tarball: string): Promise<string> {
  const { size, mtimeMs } = await stat(tarball);
  const version = createHash('sha256').update(`${size} ${Math.trunc(mtimeMs)}`).digest('hex').slice(0, 8);
  return `${tarball.replace(/\.tar\.zst$/, '')}.${version}`;
}

/** Directories that are the lower dir of a mounted overlay (from /proc/self/mountinfo). */
async function overlayLowerDirs(): Promise<Set<string>> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const lowers = new Set<string>();
  for (const m of info.matchAll(/[ ,]lowerdir=([^ ,]+)/g)) {
    for (const dir of (m[1] ?? '').split(':')) lowers.add(dir.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return lowers;
}

/**
 * The shared lower dir: the tarball extracted once (~2 s), then reused by every `lab up`. Made in a
 * temp dir and renamed into place, so it is complete or absent, and two `lab up`s that race both
 * end up with the one that won. Older extractions of the same tarball name that no overlay uses
 * any more are removed. Nothing writes to it: each host's changes go to its overlay's upper dir.
 */
export async function ensureRootfsDir(tarball: string, onProgress: (m: string) => void): Promise<string> {
  const dir = await rootfsDirPath(tarball);
  if (existsSync(dir)) return dir;
  onProgress('extracting the root filesystem (once per tarball)');
  const cache = dirname(tarball);
  const partial = await mkdtemp(join(cache, '.extract-'));
  try {
    await execa('tar', [
      '--use-compress-program=zstd -d -T0', '--numeric-owner', '--xattrs', '--xattrs-include=*',
      '-C', partial, '-xpf', tarball,
    ]);
    await rename(partial, dir).catch((error: NodeJS.ErrnoException) => {
      // Another `lab up` renamed its copy into place first: use that one.
      if (!(['ENOTEMPTY', 'EEXIST'].includes(error.code ?? '') && existsSync(dir))) throw error;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  const inUse = await overlayLowerDirs();
  const stem = `${basename(tarball.replace(/\.tar\.zst$/, ''))}.`;
  for (const entry of await readdir(cache)) {
    const old = join(cache, entry);
    if (entry.startsWith(stem) && old !== dir && !entry.endsWith('.tar.zst') && !inUse.has(old)) {
      await rm(old, { recursive: true, force: true });
    }
  }
  return dir;
}

/** A lab's login user name, checked before `lab up` makes anything. */
export function validateLoginUser(user: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user) || user === 'root') {
    throw new LabError(`invalid lab user "${user}": use a lower-case Unix user name other than root`);
  }
}

/** The login user of a fresh box: in group sudo, password sudo, no key. */
export async function addLoginUser(root: string, user: string, password: string): Promise<void> {
  validateLoginUser(user);
  await execa('useradd', ['--root', root, '--create-home', '--shell', '/bin/bash', '--groups', 'sudo', user]);
  await execa('chpasswd', ['--root', root], { input: `${user}:${password}\n` });
}
