import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { openDb, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { markInterrupted } from '../ops/index.js';
import { dataDirFor, resolveDbPath } from '../paths.js';

export interface GlobalArgs {
  db?: string;
}

export interface Context {
  db: Db;
  dbPath: string;
  dataDir: string;
}

/**
 * The database file a command works on. Only commands that start a fleet (`creates`) may make a
 * new one: anything else given a mistyped --db would leave an empty fleet and its folders behind.
 */
export function existingDbPath(argv: GlobalArgs, creates = false): string {
  const dbPath = resolveDbPath(argv.db);
  if (!creates && dbPath !== ':memory:' && !existsSync(dbPath)) {
    const source = argv.db !== undefined ? '--db' : process.env['MKO_DB'] !== undefined ? 'MKO_DB' : 'the default database';
    throw new UserError(`the database file ${quote(dbPath)} (${source}) does not exist: check --db and MKO_DB, or start a fleet there with mko cluster add or mko node add`);
  }
  return dbPath;
}

/** Open the fleet database for one command, tidy operations a crash left running, close after. */
export async function withContext<T>(argv: GlobalArgs, fn: (ctx: Context) => Promise<T> | T, options: { creates?: boolean } = {}): Promise<T> {
  const dbPath = existingDbPath(argv, options.creates);
  const db = openDb(dbPath);
  try {
    markInterrupted(db);
    return await fn({ db, dbPath, dataDir: dataDirFor(dbPath) });
  } finally {
    db.close();
  }
}

/** Ask before something destructive; without a terminal, insist on the flag instead of guessing. */
export async function confirm(question: string, flag: string): Promise<void> {
  if (!process.stdin.isTTY) throw new UserError(`${question.replace(/\?$/, '')}: not confirmed; pass ${flag} to do it without asking`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UserError('cancelled: nothing was changed');
  } finally {
    rl.close();
  }
}

/** Ctrl-C cancels the running playbook: the runner stops the child and marks the operation. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nmko: cancelling (Ctrl-C again to quit at once)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller.signal;
}

/** Stream Ansible output to the terminal, unless JSON was asked for. */
export function streamTo(json: boolean | undefined): ((chunk: string) => void) | undefined {
  return json ? undefined : (chunk) => process.stdout.write(chunk);
}

/** What a playbook-running domain function needs from a CLI command: stream, Ctrl-C, check mode. */
export function playbookContext(ctx: Context, check?: boolean) {
  return {
    dbPath: ctx.dbPath,
    dataDir: ctx.dataDir,
    signal: interruptSignal(),
    onOutput: (chunk: string) => {
      process.stdout.write(chunk);
    },
    ...(check ? { check: true } : {}),
  };
}

/** One closing line for a playbook run; a run that did not succeed makes the exit code 2. */
export function reportRun(what: string, result: { status: string; exitMeaning: string; operationId: number }): void {
  process.stdout.write(`\n${what}: ${result.status} (${result.exitMeaning}), operation ${result.operationId}\n`);
  if (result.status !== 'succeeded') process.exitCode = 2;
}
