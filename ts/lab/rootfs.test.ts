import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRootfsDir, parseMirror, rootfsDirPath, rootfsTarballPath } from './rootfs.js';

describe('parseMirror', () => {
  it('takes the first non-security URI of a deb822 sources file', () => {
    const deb822 = [
      'Types: deb',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm bookworm-updates',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
    ].join('\n');
    expect(parseMirror(deb822, null)).toBe('http://mirror.example/debian');
  });

  it('falls back to sources.list lines, options included', () => {
    const list = '# comment\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n';
    expect(parseMirror('', list)).toBe('http://ftp.example/debian');
    expect(parseMirror(null, null)).toBeNull();
  });
});

describe('rootfsTarballPath', () => {
  it('lives in /var/cache/mko unless MKO_LAB_CACHE says otherwise, keyed by the package list', () => {
    expect(rootfsTarballPath({})).toMatch(/^\/var\/cache\/mko\/lab-rootfs-[0-9a-f]{12}\.tar\.zst$/);
    expect(rootfsTarballPath({ MKO_LAB_CACHE: '/tmp/c' })).toMatch(/^\/tmp\/c\/lab-rootfs-/);
  });
});

describe('ensureRootfsDir', () => {
  let cache = '';
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  /** A tiny stand-in for the rootfs tarball, made the way ensureRootfsTarball makes it. */
  async function tarball(content: string, mtime: Date): Promise<string> {
    const root = mkdtempSync(join(cache, 'src-'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'os-release'), content);
    const file = join(cache, 'lab-rootfs-000000000000.tar.zst');
    await execa('tar', ['--use-compress-program=zstd -3', '--numeric-owner', '-C', root, '-cf', file, '.']);
    utimesSync(file, mtime, mtime);
    rmSync(root, { recursive: true });
    return file;
  }

  it('extracts once beside the tarball, complete or absent, also when two lab ups race', async () => {
    cache = mkdtempSync(join(tmpdir(), 'mko-rootfs-cache-'));
    const file = await tarball('one\n', new Date('2026-01-01T00:00:00Z'));
    const [a, b] = await Promise.all([ensureRootfsDir(file, () => {}), ensureRootfsDir(file, () => {})]);
    expect(a).toBe(b);
    expect(a).toBe(await rootfsDirPath(file));
    expect(readFileSync(join(a, 'etc', 'os-release'), 'utf8')).toBe('one\n');
    expect(readdirSync(cache).filter((e) => e.startsWith('.extract-'))).toEqual([]);
    const said: string[] = [];
    expect(await ensureRootfsDir(file, (m) => said.push(m))).toBe(a);
    expect(said).toEqual([]); // the second lab up extracts nothing
  });

  it('gives a rebuilt tarball a new directory and removes the old one no overlay uses', async () => {
    const old = await rootfsDirPath(join(cache, 'lab-rootfs-000000000000.tar.zst'));
    const file = await tarball('two\n', new Date('2026-02-01T00:00:00Z'));
    const dir = await ensureRootfsDir(file, () => {});
    expect(dir).not.toBe(old);
    expect(readFileSync(join(dir, 'etc', 'os-release'), 'utf8')).toBe('two\n');
    expect(existsSync(old)).toBe(false);
    expect(existsSync(file)).toBe(true);
  });
});
