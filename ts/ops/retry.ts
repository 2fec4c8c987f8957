// `mko operation retry`: what re-running an operation means. An mko run is re-run by its mko
// command line (secrets are read from the store again, as the first time); a plain
// ansible-playbook run by its stored command line, in its working directory, unless that line
// held secrets (stored as <redacted>).
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getOperation, type Operation } from './operations.js';
import { REDACTED } from './redact.js';

export type RetryPlan =
  | { kind: 'mko'; operation: Operation; command: string[] }
  | { kind: 'ansible'; operation: Operation; argv: string[]; cwd: string; playbook: string };

/** How to re-run operation id, or a UserError saying in one line why it cannot be. */
export function planRetry(db: Db, id: number): RetryPlan {
  const operation = getOperation(db, id);
  const refuse = (why: string): UserError => new UserError(`operation ${id} (${operation.kind} ${operation.target}) ${why}`);
  if (operation.status === 'running') throw refuse(`is still running: nothing to retry (stop it with mko operation cancel ${id})`);
  if (operation.status === 'succeeded') throw refuse('succeeded: nothing to retry');
  if (operation.command) return { kind: 'mko', operation, command: operation.command };
  if (operation.source === 'mko') throw refuse('was not started by an mko command that can run again (the UPS watcher, or a command given a secret on its command line): run that command again yourself');
  if (operation.args.some((arg) => arg.includes(REDACTED))) throw refuse(`held secrets on its command line (stored as ${REDACTED}): run it again yourself`);
  const [program, ...argv] = operation.args;
  if (program !== 'ansible-playbook' || !operation.cwd || !operation.playbook) throw refuse('has no command line and working directory recorded to run again');
  return { kind: 'ansible', operation, argv, cwd: operation.cwd, playbook: operation.playbook };
}

/** The newest operation that retries id and was started after operation `after` (the retry just run). */
export function latestRetry(db: Db, id: number, after: number): Operation | undefined {
  const row = db.prepare('SELECT id FROM operations WHERE retry_of = ? AND id > ? ORDER BY id DESC LIMIT 1').pluck().get(id, after) as number | undefined;
  return row === undefined ? undefined : getOperation(db, row);
}

export const lastOperationId = (db: Db): number => (db.prepare('SELECT coalesce(max(id), 0) FROM operations').pluck().get() as number);
