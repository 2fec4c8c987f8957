// A secret given as `-` arrives on a pipe, maybe later than mko starts reading it: the built mko,
// as a real process, waits for it instead of failing (a loaded machine made that race real).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretsFile } from '../secrets/index.js';
import { buildCli, mkoBin } from '../test-support/cli.js';

let dir: string;
const mko = (...args: string[]) => execa(mkoBin, ['--db', path.join(dir, 'mko.db'), ...args], { reject: false });

beforeAll(buildCli, 120_000);
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mko-secret-arg-'));
  expect((await mko('node', 'add', '--hostname', 'n1', '--ip', '10.9.0.1', '--user', 'mko')).exitCode).toBe(0);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('--secureon - on a pipe', () => {
  it('waits for a secret written after mko started, in pieces', async () => {
    const child = mko('wol', 'configure', 'n1', '--secureon', '-');
    // mko is up and reading before anything is written (it takes far longer than this to start).
    await sleep(1500);
    child.stdin?.write('0a:0b:');
    await sleep(200);
    child.stdin?.end('0c:0d:0e:0f\n');
    const done = await child;
    expect(done.exitCode, done.stderr).toBe(0);
    const secrets = Object.values((JSON.parse(readFileSync(secretsFile(dir), 'utf8')) as { secrets: Record<string, { value: string }> }).secrets);
    expect(secrets.map((s) => s.value)).toEqual(['0a:0b:0c:0d:0e:0f']);
  }, 30_000);

  it('says so in one line when the pipe closes with nothing on it, and stores nothing', async () => {
    const child = mko('wol', 'configure', 'n1', '--secureon', '-');
    await sleep(1000);
    child.stdin?.end();
    const done = await child;
    expect(done.exitCode).toBe(1);
    expect(done.stderr).toBe('mko: --secureon -: nothing on standard input');
    expect(existsSync(secretsFile(dir))).toBe(false);
  }, 30_000);
});
