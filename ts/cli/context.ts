import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { openDb, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { markInterrupted, sweepRunDir } from '../ops/index.js';
import { dataDirFor, resolveDbPath } from '../paths.js';
import { terminalText } from './output.js';

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
    sweepRunDir(dataDirFor(dbPath));
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

let stop: AbortController | undefined;
let stoppedBy: NodeJS.Signals | undefined;

/**
 * Ctrl-C (SIGINT) and SIGTERM (systemd stop, kill) cancel the running playbook: the runner stops
 * the child and marks the operation, the abort reason naming the signal. A second one quits at once.
 */
export function interruptSignal(): AbortSignal {
  if (!stop) {
    const controller = new AbortController();
    stop = controller;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stoppedBy) process.exit(signalExitCode(signal));
      stoppedBy = signal;
      process.stderr.write(signal === 'SIGINT' ? '\nmko: cancelling (Ctrl-C again to quit at once)\n' : `\nmko: ${signal}: cancelling, then stopping\n`);
      controller.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return stop.signal;
}

const signalExitCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

/** The exit code of a process ended by the signal interruptSignal saw (130, 143), if it saw one. */
export function stopSignalExitCode(): number | undefined {
  return stoppedBy ? signalExitCode(stoppedBy) : undefined;
}

/** Stream Ansible output to the terminal, unless JSON was asked for. */
export function streamTo(json: boolean | undefined): ((chunk: string) => void) | undefined {
  // Ansible's output carries what nodes answered: shown with its control characters escaped.
  return json ? undefined : (chunk) => process.stdout.write(terminalText(chunk));
}

/** What a playbook-running domain function needs from a CLI command: stream, Ctrl-C, check mode. */
export function playbookContext(ctx: Context, check?: boolean) {
  return {
    dbPath: ctx.dbPath,
    dataDir: ctx.dataDir,
    signal: interruptSignal(),
    onOutput: (chunk: string) => {
      process.stdout.write(terminalText(chunk));
    },
    ...(check ? { check: true } : {}),
  };
}

/** One closing line for a playbook run; a run that did not succeed makes the exit code 2. */
export function reportRun(what: string, result: { status: string; exitMeaning: string; operationId: number }): void {
  process.stdout.write(`\n${what}: ${result.status} (${result.exitMeaning}), operation ${result.operationId}\n`);
  if (result.status !== 'succeeded') process.exitCode = 2;
}
