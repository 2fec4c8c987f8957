// Secrets mko must keep to act later (Wake-on-LAN SecureOn passwords, Proxmox API token secrets,
// NUT passwords).
//
// They live in one JSON file, <data dir>/secrets/secrets.json, mode 0600 in a 0700 directory,
// never in the fleet database: the database is read by the inventory script (and so by anything
// Ansible runs), by the history callback, copied to .bak files by migrations and dumped by tests.
// Rows point at a secret through an opaque random handle, so a reused node id can never inherit
// another node's secret. A file that others can read is refused rather than used.
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

export type SecretKind = 'wol-secureon' | 'proxmox-token' | 'nut-password';

interface SecretEntry {
  kind: SecretKind;
  value: string;
  createdAt: string;
}

interface SecretFile {
  version: 1;
  secrets: Record<string, SecretEntry>;
}

const LOCK_WAIT_MS = 5000;

export const secretsDir = (dataDir: string): string => path.join(dataDir, 'secrets');
export const secretsFile = (dataDir: string): string => path.join(secretsDir(dataDir), 'secrets.json');

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

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Read-modify-write under a lock file, replaced atomically, so two mko commands never lose a secret. */
function update<T>(dataDir: string, change: (file: SecretFile) => T): T {
  const dir = secretsDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const lock = path.join(dir, 'secrets.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) throw new UserError(`${lock} is held by another mko: try again, or remove it if no mko is running`);
      sleepSync(50);
    }
  }
  try {
    const data = load(dataDir);
    const result = change(data);
    const temp = path.join(dir, `.secrets.json.${process.pid}.tmp`);
    writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'w' });
    chmodSync(temp, 0o600);
    renameSync(temp, secretsFile(dataDir));
    return result;
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

/** Store a secret; returns the handle to keep in the database. */
export function putSecret(dataDir: string, kind: SecretKind, value: string): string {
  const handle = `${kind}:${randomUUID()}`;
  update(dataDir, (file) => {
    file.secrets[handle] = { kind, value, createdAt: new Date().toISOString() };
  });
  return handle;
}

/** The secret behind a handle; a missing one is a UserError that says how to set it again. */
export function getSecret(dataDir: string, handle: string, whatFor: string): string {
  const entry = load(dataDir).secrets[handle];
  if (!entry) throw new UserError(`the secret for ${whatFor} is missing from ${secretsFile(dataDir)}: set it again`);
  return entry.value;
}

export function deleteSecret(dataDir: string, handle: string | null): void {
  if (!handle || !existsSync(secretsFile(dataDir))) return;
  update(dataDir, (file) => {
    delete file.secrets[handle];
  });
}

/**
 * Drop the secrets of one kind that no row points at any more (e.g. the SecureOn password of a
 * node that was removed: its node_wol row went with it). Returns how many were dropped.
 */
export function pruneSecrets(dataDir: string, kind: SecretKind, inUse: ReadonlySet<string>): number {
  if (!existsSync(secretsFile(dataDir))) return 0;
  const stale = Object.entries(load(dataDir).secrets).filter(([handle, entry]) => entry.kind === kind && !inUse.has(handle));
  if (stale.length === 0) return 0;
  return update(dataDir, (file) => {
    for (const [handle] of stale) delete file.secrets[handle];
    return stale.length;
  });
}
