// Secrets mko must keep to act later (Wake-on-LAN SecureOn passwords, Proxmox API token secrets,
// NUT passwords).
//
// They live in one JSON file, <data dir>/secrets/secrets.json, mode 0600 in a 0700 directory,
// never in the fleet database: the database is read by the inventory script (and so by anything
// Ansible runs), by the history callback, copied to .bak files by migrations and dumped by tests.
// Rows point at a secret through an opaque random handle, so a reused node id can never inherit
// another node's secret. A file that others can read is refused rather than used.
//
// Writers hold secrets.lock: an SQLite lock on a file of its own (never the fleet database), so
// the kernel releases it when its process dies, however it dies: a lock left by a killed mko is
// simply free. Whoever stores a secret keeps the lock until the row that points at it is
// committed; a prune under the same lock therefore never takes a secret whose row is on its way.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';

export type SecretKind = 'wol-secureon' | 'proxmox-token' | 'nut-password' | 'health-webhook';

interface SecretEntry {
  kind: SecretKind;
  value: string;
  createdAt: string;
}

interface SecretFile {
  version: 1;
  secrets: Record<string, SecretEntry>;
}

/** As long as the fleet database's busy timeout: secrets are written in the same commands. */
const LOCK_WAIT_MS = 30_000;
const TEMP_FILE = /^\.secrets\.json\..+\.tmp$/;

export const secretsDir = (dataDir: string): string => path.join(dataDir, 'secrets');
export const secretsFile = (dataDir: string): string => path.join(secretsDir(dataDir), 'secrets.json');
export const secretsLock = (dataDir: string): string => path.join(secretsDir(dataDir), 'secrets.lock');

function refuseIfExposed(file: string): void {
  const { mode, uid } = statSync(file);
  const ownUid = process.getuid?.();
  if ((mode & 0o077) !== 0) {
    throw new UserError(`${file} is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${file} and check who has seen it`);
  }
  if (ownUid !== undefined && uid !== ownUid) throw new UserError(`${file} belongs to uid ${uid}, not to this user: refusing to use it`);
}

function load(dataDir: string): SecretFile {
  const file = secretsFile(dataDir);
  if (!existsSync(file)) return { version: 1, secrets: {} };
  refuseIfExposed(file);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as SecretFile;
  if (parsed.version !== 1 || typeof parsed.secrets !== 'object') throw new UserError(`${file} is not an mko secrets file (version 1)`);
  return parsed;
}

/** Replace the file atomically and durably: a reader sees the old file or the new one, and a crash loses neither. */
function save(dataDir: string, data: SecretFile): void {
  const dir = secretsDir(dataDir);
  const temp = path.join(dir, `.secrets.json.${process.pid}.tmp`);
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(data, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, secretsFile(dataDir));
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Take secrets.lock (waiting for another mko that holds it); returns its release. */
function lock(dataDir: string): () => void {
  const dir = secretsDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = secretsLock(dataDir);
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const holder = new Database(file);
  try {
    holder.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    // Nothing is ever written to it: no journal file either.
    holder.pragma('journal_mode = MEMORY');
    holder.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    holder.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new UserError(`${file} was held by another mko for ${LOCK_WAIT_MS / 1000} s: try again when it has finished`);
    }
    throw error;
  }
  // Temporary files are only written under the lock: one found now was left by a killed writer.
  for (const name of readdirSync(dir)) if (TEMP_FILE.test(name)) rmSync(path.join(dir, name), { force: true });
  return () => {
    holder.exec('ROLLBACK');
    holder.close();
  };
}

export interface SecretsWriter {
  /** Store a secret, on disk before this returns; returns the handle to keep in the database. */
  put(kind: SecretKind, value: string): string;
  /** Forget secrets (saved when the lock is released). */
  delete(...handles: (string | null | undefined)[]): void;
  /**
   * Drop the secrets of one kind that no row points at (e.g. left by a command killed between
   * storing a secret and committing its row). `inUse` must be read under this lock, after this
   * command's own rows are committed. Returns how many were dropped.
   */
  prune(kind: SecretKind, inUse: ReadonlySet<string>): number;
}

const held = new Map<string, SecretsWriter>();

/**
 * Change the secrets under secrets.lock. Store a secret and commit the row that points at it
 * inside the same call. Nested calls for the same data dir share the lock.
 */
export function withSecrets<T>(dataDir: string, change: (secrets: SecretsWriter) => T): T {
  const key = path.resolve(dataDir);
  const already = held.get(key);
  if (already) return change(already);
  const release = lock(dataDir);
  try {
    const data = load(dataDir);
    // Deletions are saved once, at the end; a stored secret at once, before its row is committed.
    let unsaved = false;
    const writer: SecretsWriter = {
      put(kind, value) {
        // The global Web Crypto (node:crypto's randomUUID): loaded at the first secret stored, where an
        // import of node:crypto cost every command a tenth of its start-up.
        const handle = `${kind}:${globalThis.crypto.randomUUID()}`;
        data.secrets[handle] = { kind, value, createdAt: new Date().toISOString() };
        save(dataDir, data);
        unsaved = false;
        return handle;
      },
      delete(...handles) {
        for (const handle of handles) {
          if (typeof handle !== 'string' || !(handle in data.secrets)) continue;
          delete data.secrets[handle];
          unsaved = true;
        }
      },
      prune(kind, inUse) {
        const stale = Object.entries(data.secrets).filter(([handle, entry]) => entry.kind === kind && !inUse.has(handle));
        writer.delete(...stale.map(([handle]) => handle));
        return stale.length;
      },
    };
    held.set(key, writer);
    try {
      return change(writer);
    } finally {
      held.delete(key);
      // Also when `change` failed: it may have taken back a secret whose row never got in.
      if (unsaved) save(dataDir, data);
    }
  } finally {
    release();
  }
}

/** The secret behind a handle; a missing one is a UserError that says how to set it again. */
export function getSecret(dataDir: string, handle: string, whatFor: string): string {
  const entry = load(dataDir).secrets[handle];
  if (!entry) throw new UserError(`the secret for ${whatFor} is missing from ${secretsFile(dataDir)}: set it again`);
  return entry.value;
}

/** Forget the secrets of rows already deleted (and committed). */
export function deleteSecrets(dataDir: string, handles: readonly (string | null | undefined)[]): void {
  if (!handles.some((h) => typeof h === 'string') || !existsSync(secretsFile(dataDir))) return;
  withSecrets(dataDir, (secrets) => secrets.delete(...handles));
}
