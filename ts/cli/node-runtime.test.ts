// bin/mko-node picks the Node.js that runs mko: the bootstrap's LTS under .runtime/node, else a
// system node of 22 or later; an older one is refused with a line that says how to fix it.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';

const mkoNode = path.join(projectRoot, 'bin', 'mko-node');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-node-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A checkout with only bin/mko-node and no .runtime, and a PATH whose `node` claims `version`. */
function bareCheckout(version: string): { bin: string; env: Record<string, string> } {
  const root = mkdtempSync(path.join(dir, 'root-'));
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(mkoNode, path.join(root, 'bin', 'mko-node'));
  const fakeBin = path.join(root, 'fake-bin');
  mkdirSync(fakeBin);
  const fake = path.join(fakeBin, 'node');
  writeFileSync(fake, `#!/bin/sh\ncase "$1" in -p) echo ${version.split('.')[0]} ;; --version) echo v${version} ;; *) echo ran "$@" ;; esac\n`);
  chmodSync(fake, 0o755);
  return { bin: path.join(root, 'bin', 'mko-node'), env: { PATH: `${fakeBin}:/usr/bin:/bin` } };
}

describe('bin/mko-node', () => {
  it('runs mko, its inventory script and its tests on Node.js 22 or later', async () => {
    const r = await execa(mkoNode, ['-p', 'process.versions.node']);
    expect(Number(r.stdout.split('.')[0])).toBeGreaterThanOrEqual(22);
    // The tests themselves run on the node the bootstrap chose.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    const inventory = await execa(path.join(projectRoot, 'inventories', 'mko'), ['--list'], { env: { MKO_DB: path.join(dir, 'none.db') } });
    expect(JSON.parse(inventory.stdout)).toHaveProperty('_meta');
  });

  it('refuses a system node older than 22 with one line naming the fix', async () => {
    const { bin, env } = bareCheckout('20.20.2');
    const r = await execa(bin, ['script.js'], { env, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Node\.js 22 or later is needed .*v20\.20\.2.*scripts\/bootstrap\.sh/);
  });

  it('uses a system node of 22 or later when the bootstrap installed none', async () => {
    const { bin, env } = bareCheckout('24.1.0');
    const r = await execa(bin, ['script.js', 'a'], { env, extendEnv: false, reject: false });
    expect(r.stdout).toBe('ran script.js a');
  });
});
