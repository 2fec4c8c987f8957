import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.js';

export type KeyType = 'ed25519' | 'rsa';

export interface NodeKey {
  path: string;
  publicKey: string;
  type: KeyType;
  fingerprint: string;
}

/** The keys directory: created 0700, and tightened to 0700 if someone loosened it. */
export function ensureKeysDir(dataDir: string): string {
  const dir = path.join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}

export function keyPathFor(dataDir: string, hostname: string, type: KeyType): string {
  return path.join(ensureKeysDir(dataDir), `${hostname.toLowerCase()}_${type}`);
}

/** A key pair made under a temporary name: `publish` renames it into place, `discard` deletes it. */
export interface StagedKey {
  key: NodeKey;
  publish(): void;
  discard(): void;
}

/**
 * Make a fresh key pair for one node under a temporary name. Nothing under the real name changes
 * until `publish`, so a crash never leaves half a key there, and a `node add` that loses a race
 * for the hostname never touches the winner's key.
 */
export async function stageNodeKey(dataDir: string, hostname: string, type: KeyType = 'ed25519'): Promise<StagedKey> {
  const target = keyPathFor(dataDir, hostname, type);
  const temp = `${target}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  rmSync(`${temp}.pub`, { force: true });
  const typeArgs = type === 'rsa' ? ['-t', 'rsa', '-b', '4096'] : ['-t', 'ed25519'];
  await execa('ssh-keygen', [...typeArgs, '-N', '', '-q', '-C', `mko:${hostname}`, '-f', temp]);
  chmodSync(temp, 0o600);
  const key = { ...(await describeKey(temp, type)), path: target };
  return {
    key,
    publish: () => {
      renameSync(`${temp}.pub`, `${target}.pub`);
      renameSync(temp, target);
    },
    discard: () => removeKeyFiles(temp),
  };
}

/** Generate a fresh key pair for one node and put it in place. */
export async function generateNodeKey(dataDir: string, hostname: string, type: KeyType = 'ed25519'): Promise<NodeKey> {
  const staged = await stageNodeKey(dataDir, hostname, type);
  staged.publish();
  return staged.key;
}

/** Fingerprint and public half of an existing private key (the user's own, or one mko made). */
export async function describeKey(privateKeyPath: string, type?: KeyType): Promise<NodeKey> {
  if (!existsSync(privateKeyPath)) {
    throw new UserError(`--ssh-key ${privateKeyPath} does not exist: give the path of a private key`);
  }
  const pubPath = `${privateKeyPath}.pub`;
  // -P '': an encrypted key fails at once instead of ssh-keygen waiting for a passphrase.
  const derived = await execa('ssh-keygen', ['-y', '-P', '', '-f', privateKeyPath], { reject: false });
  if (derived.exitCode !== 0) {
    throw new UserError(
      `--ssh-key ${privateKeyPath} is not a usable private key (encrypted or malformed): give an unencrypted private key`,
    );
  }
  const publicKey = existsSync(pubPath) ? readFileSync(pubPath, 'utf8').trim() : derived.stdout.trim();
  const listed = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', privateKeyPath]);
  const fingerprint = /SHA256:[A-Za-z0-9+/=]+/.exec(listed.stdout)?.[0];
  if (!fingerprint) throw new Error(`ssh-keygen printed no SHA256 fingerprint for ${privateKeyPath}`);
  const detected: KeyType = publicKey.startsWith('ssh-rsa') ? 'rsa' : 'ed25519';
  return { path: privateKeyPath, publicKey, type: type ?? detected, fingerprint };
}

/** Move a key pair aside (kept 0600, never deleted) so rotating never locks the user out. */
export function retireKey(dataDir: string, privateKeyPath: string): string | undefined {
  if (!existsSync(privateKeyPath)) return undefined;
  const keysDir = ensureKeysDir(dataDir);
  if (path.dirname(path.resolve(privateKeyPath)) !== keysDir) return undefined; // the user's own key: leave it
  const retiredDir = path.join(keysDir, 'retired');
  mkdirSync(retiredDir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = path.join(retiredDir, `${path.basename(privateKeyPath)}.${stamp}`);
  renameSync(privateKeyPath, target);
  if (existsSync(`${privateKeyPath}.pub`)) renameSync(`${privateKeyPath}.pub`, `${target}.pub`);
  return target;
}

export function removeKeyFiles(privateKeyPath: string): void {
  rmSync(privateKeyPath, { force: true });
  rmSync(`${privateKeyPath}.pub`, { force: true });
}
