import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { describeKey, ensureKeysDir, generateNodeKey, retireKey } from './keys.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'mko-keys-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const mode = (file: string): number => statSync(file).mode & 0o777;

/** `ssh-keygen -lf` output: "<bits> SHA256:<hash> <comment> (<TYPE>)". */
async function listKey(file: string): Promise<{ bits: number; fingerprint: string; comment: string; type: string }> {
  const { stdout } = await execa('ssh-keygen', ['-lf', file]);
  const match = /^(\d+) (SHA256:\S+) (.*) \((\w+)\)$/.exec(stdout.trim());
  if (!match) throw new Error(`unexpected ssh-keygen -lf output: ${stdout}`);
  return { bits: Number(match[1]), fingerprint: match[2] ?? '', comment: match[3] ?? '', type: match[4] ?? '' };
}

async function expectUserError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message).toMatch(pattern);
  expect((error as UserError).message).not.toContain('\n');
}

describe('generateNodeKey', () => {
  it('makes a real ed25519 pair: private 0600 in a 0700 dir, ssh-keygen fingerprint, mko:<host> comment', async () => {
    const key = await generateNodeKey(dataDir, 'Pi1');
    const keysDir = path.join(dataDir, 'keys');
    expect(key.path).toBe(path.join(keysDir, 'pi1_ed25519'));
    expect(key.type).toBe('ed25519');
    expect(mode(keysDir)).toBe(0o700);
    expect(mode(key.path)).toBe(0o600);
    expect(readFileSync(key.path, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
    // No temporary files are left behind.
    expect(readdirSync(keysDir).sort()).toEqual(['pi1_ed25519', 'pi1_ed25519.pub']);

    const listed = await listKey(key.path);
    expect(key.fingerprint).toBe(listed.fingerprint);
    expect(listed.type).toBe('ED25519');
    expect(listed.comment).toBe('mko:Pi1');
    const pub = readFileSync(`${key.path}.pub`, 'utf8').trim();
    expect(key.publicKey).toBe(pub);
    expect(pub).toMatch(/^ssh-ed25519 \S+ mko:Pi1$/);
    // The public half really belongs to the private key.
    const derived = await execa('ssh-keygen', ['-y', '-f', key.path]);
    expect(derived.stdout.split(' ').slice(0, 2)).toEqual(pub.split(' ').slice(0, 2));
  });

  it('rsa keys are 4096 bits', async () => {
    const key = await generateNodeKey(dataDir, 'big', 'rsa');
    expect(key.type).toBe('rsa');
    expect(key.path.endsWith('big_rsa')).toBe(true);
    expect(key.publicKey.startsWith('ssh-rsa ')).toBe(true);
    const listed = await listKey(key.path);
    expect(listed.type).toBe('RSA');
    expect(listed.bits).toBe(4096);
    expect(mode(key.path)).toBe(0o600);
  });

  it('two nodes get different keys', async () => {
    const a = await generateNodeKey(dataDir, 'a');
    const b = await generateNodeKey(dataDir, 'b');
    expect(a.path).not.toBe(b.path);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.publicKey.split(' ')[1]).not.toBe(b.publicKey.split(' ')[1]);
    expect(readFileSync(a.path, 'utf8')).not.toBe(readFileSync(b.path, 'utf8'));
  });

  it('tightens a loosened keys directory back to 0700', async () => {
    const keysDir = ensureKeysDir(dataDir);
    chmodSync(keysDir, 0o755);
    expect(mode(keysDir)).toBe(0o755);
    await generateNodeKey(dataDir, 'pi2');
    expect(mode(keysDir)).toBe(0o700);
    chmodSync(keysDir, 0o777);
    expect(ensureKeysDir(dataDir)).toBe(keysDir);
    expect(mode(keysDir)).toBe(0o700);
  });
});

describe('retireKey', () => {
  it('moves a pair into keys/retired and keeps the private key 0600', async () => {
    const key = await generateNodeKey(dataDir, 'pi1');
    const privateBefore = readFileSync(key.path, 'utf8');
    const retired = retireKey(dataDir, key.path);
    expect(retired).toBeDefined();
    const target = retired ?? '';
    expect(path.dirname(target)).toBe(path.join(dataDir, 'keys', 'retired'));
    expect(path.basename(target).startsWith('pi1_ed25519.')).toBe(true);
    expect(existsSync(key.path)).toBe(false);
    expect(existsSync(`${key.path}.pub`)).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe(privateBefore);
    expect(readFileSync(`${target}.pub`, 'utf8').trim()).toBe(key.publicKey);
    expect(mode(target)).toBe(0o600);
    expect(mode(path.dirname(target))).toBe(0o700);
    // A new key can take the old name afterwards.
    const fresh = await generateNodeKey(dataDir, 'pi1');
    expect(fresh.path).toBe(key.path);
    expect(fresh.fingerprint).not.toBe(key.fingerprint);
  });

  it("leaves the user's own key where it is and ignores a missing one", async () => {
    const own = path.join(dataDir, 'id_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', own]);
    expect(retireKey(dataDir, own)).toBeUndefined();
    expect(existsSync(own)).toBe(true);
    expect(retireKey(dataDir, path.join(dataDir, 'keys', 'nothing_ed25519'))).toBeUndefined();
  });
});

describe('describeKey', () => {
  it("describes the user's existing key, deriving the public half when no .pub is next to it", async () => {
    const own = path.join(dataDir, 'mine');
    await execa('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'me@desk', '-f', own]);
    rmSync(`${own}.pub`);
    const key = await describeKey(own);
    expect(key.type).toBe('rsa');
    expect(key.publicKey.startsWith('ssh-rsa ')).toBe(true);
    expect(key.fingerprint).toBe((await listKey(own)).fingerprint);
  });

  it('refuses a passphrase-protected key with a UserError, without waiting for a passphrase', async () => {
    const locked = path.join(dataDir, 'locked');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', locked]);
    await expectUserError(describeKey(locked), /^--ssh-key .*locked.*encrypted/);
  }, 15_000);

  it('refuses a missing or malformed key with a UserError', async () => {
    await expectUserError(describeKey(path.join(dataDir, 'absent')), /^--ssh-key .*absent.* does not exist/);
    const junk = path.join(dataDir, 'junk');
    writeFileSync(junk, 'not a key\n', { mode: 0o600 });
    await expectUserError(describeKey(junk), /^--ssh-key .*junk.*not a usable private key/);
  });
});
