import { describe, expect, it } from 'vitest';
import { parseMirror, rootfsTarballPath } from './rootfs.js';

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
