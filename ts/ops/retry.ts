// `mko operation retry`: what re-running an operation means. An mko run is re-run by its mko
// command line (secrets are read from the store again, as the first time); a plain
// ansible-playbook run by its stored command line, in its working directory, unless that line
// held secrets (stored as <redacted>).
import path from 'node:path';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { projectRoot } from '../paths.js';
import { currentInvocation, RETRY_OF_ENV, withInvocation } from './invocation.js';
import { getOperation, type Operation } from './operations.js';
import { REDACTED } from './redact.js';
import { runPlaybook } from './runner.js';

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

/** The built mko entry point: a retry of an mko command runs it again in a new process. */
const mkoMain = path.join(projectRoot, 'dist', 'cli', 'main.js');

export interface RetryRun {
  /** The operation the retry recorded (for an mko command: the first one it recorded). */
  operation: Operation;
  /** The new mko process's exit code (a plain ansible-playbook retry runs in this process: null). */
  exitCode: number | null;
}

export interface RetryOptions {
  dbPath: string;
  /** Show the retried mko command's output here (the CLI: inherit); default nothing. */
  stdio?: 'inherit' | 'ignore';
  /** More arguments for the retried mko command (--verbose). */
  extraArgs?: string[];
  signal?: AbortSignal;
  onOutput?: (chunk: string) => void;
  /** Called with the new operation's id as soon as it is recorded (the API answers 202 with it). */
  onStart?: (operationId: number) => void;
}

/**
 * Run operation id again, linked to it: a plain ansible-playbook run in this process, through the
 * runner; an mko command as a new mko process told which operation it retries (secrets come from
 * the store again, as the first time). Resolves when the retry has ended.
 */
export async function runRetry(db: Db, id: number, options: RetryOptions): Promise<RetryRun> {
  const plan = planRetry(db, id);
  const before = lastOperationId(db);
  if (plan.kind === 'ansible') {
    // This retry may itself be retried: its record names the operation it retries.
    const result = await withInvocation({ command: null, retryOf: currentInvocation().retryOf ?? id }, () =>
      runPlaybook(db, {
        kind: plan.operation.kind,
        target: plan.operation.target,
        playbook: path.resolve(projectRoot, plan.playbook),
        argv: plan.argv,
        cwd: plan.cwd,
        dbPath: options.dbPath,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      }),
    );
    return { operation: getOperation(db, result.operationId), exitCode: null };
  }
  const { execa } = await import('execa');
  const again = execa(process.execPath, [mkoMain, '--db', options.dbPath, ...plan.command, ...(options.extraArgs ?? []).filter((a) => !plan.command.includes(a))], {
    env: { [RETRY_OF_ENV]: String(id) },
    stdio: options.stdio ?? 'ignore',
    reject: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (options.onStart) {
    const report = options.onStart;
    // Learn the new operation's id while the command runs on.
    void (async () => {
      let ended = false;
      void again.finally(() => (ended = true));
      for (;;) {
        const made = latestRetry(db, id, before);
        if (made) return report(made.id);
        if (ended) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
  }
  const result = await again;
  const made = latestRetry(db, id, before);
  if (!made) {
    throw new UserError(`Retry of operation ${id}: mko ${plan.command.join(' ')} ended (exit ${result.exitCode ?? result.signal ?? '?'}) without starting an operation`);
  }
  return { operation: made, exitCode: result.exitCode ?? null };
}
