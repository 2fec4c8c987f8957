// The secrets file and its lock, with real processes holding and losing the lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { buildCli } from '../test-support/cli.js';
import { getSecret, secretsFile, secretsLock, withSecrets } from './index.js';

let dir: string;
let holder: ChildProcess | undefined;

beforeAll(buildCli, 120_000);
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mko-secrets-'));
});
afterEach(() => {
  if (holder?.exitCode === null) holder.kill('SIGKILL');
  holder = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Another process that takes the lock, stores `value`, says "locked" and holds on for `holdMs`. */
function holdLock(value: string, holdMs: number): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const store = path.join(projectRoot, 'dist', 'secrets', 'index.js');
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { withSecrets } from ${JSON.stringify(store)};
       withSecrets(${JSON.stringify(dir)}, (secrets) => {
         secrets.put('wol-secureon', ${JSON.stringify(value)});
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  holder = child;
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve({ child, exited });
    });
    void exited.then((code) => reject(new Error(`the lock holder exited ${code} before it held the lock`)));
  });
}

const values = () => Object.values((JSON.parse(readFileSync(secretsFile(dir), 'utf8')) as { secrets: Record<string, { value: string }> }).secrets);

describe('secrets.lock', () => {
  it('a writer waits for the one holding the lock, and both secrets are kept', async () => {
    const held = await holdLock('aa:aa:aa:aa', 1500);
    const started = Date.now();
    const handle = withSecrets(dir, (secrets) => secrets.put('wol-secureon', 'bb:bb:bb:bb'));
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(await held.exited).toBe(0);
    expect(getSecret(dir, handle, 'test')).toBe('bb:bb:bb:bb');
    expect(values()).toHaveLength(2);
  });

  it('a lock whose holder was killed (kill -9) is free at once, and what it had stored is kept', async () => {
    const held = await holdLock('aa:aa:aa:aa', 60_000);
    held.child.kill('SIGKILL');
    await held.exited;
    expect(existsSync(secretsLock(dir))).toBe(true);
    const started = Date.now();
    const handle = withSecrets(dir, (secrets) => secrets.put('wol-secureon', 'bb:bb:bb:bb'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(getSecret(dir, handle, 'test')).toBe('bb:bb:bb:bb');
    expect(values()).toHaveLength(2);
  });
});

describe('the secrets file', () => {
  it('is 0600 in a 0700 directory, with no temporary file left, and a killed writer’s temporary file is swept', () => {
    withSecrets(dir, (secrets) => secrets.put('nut-password', 'first'));
    const secretsDir = path.dirname(secretsFile(dir));
    // What a writer killed between writing and renaming leaves: a secret in a stray file.
    writeFileSync(path.join(secretsDir, '.secrets.json.99999.tmp'), '{"secret": "stray"}', { mode: 0o600 });
    withSecrets(dir, (secrets) => secrets.put('nut-password', 'second'));
    expect(statSync(secretsFile(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    expect(statSync(secretsLock(dir)).mode & 0o777).toBe(0o600);
    expect(readdirSync(secretsDir).sort()).toEqual(['secrets.json', 'secrets.lock']);
  });

  it('a change that fails takes back nothing it did not mean to, and keeps what it deleted deleted', () => {
    const kept = withSecrets(dir, (secrets) => secrets.put('nut-password', 'kept'));
    expect(() =>
      withSecrets(dir, (secrets) => {
        const taken = secrets.put('nut-password', 'taken back');
        secrets.delete(taken);
        throw new Error('the row did not get in');
      }),
    ).toThrow('the row did not get in');
    expect(values()).toEqual([expect.objectContaining({ value: 'kept' })]);
    expect(getSecret(dir, kept, 'test')).toBe('kept');
  });
});
