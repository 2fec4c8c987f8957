import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { openDb, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { CANCEL_REQUEST, markInterrupted, observeRuns, RETRY_OF_ENV, setInvocation, sweepRunDir, type CheckMode, type RunContext } from '../ops/index.js';
import { dataDirFor, resolveDbPath } from '../paths.js';
import { terminalText } from './output.js';
import { showOperation, stderrProgress } from './progress.js';

export interface GlobalArgs {
  db?: string;
  /** Show the full log of each playbook run instead of the progress line. */
  verbose?: boolean;
  /** The command's words and positionals, as yargs parsed them. */
  _?: (string | number)[];
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

// Commands whose runs cannot be re-run by running the command again: the watcher runs rules'
// actions for as long as it lives; mko web runs API actions, each recorded with its own command.
const NOT_RETRYABLE = new Set(['ups monitor start', 'web']);
// Options that may carry a secret on the command line (proxmox add --token-secret, health notify add --webhook, ups add
// --password); `-` reads it from stdin, which a retry cannot give again either.
const SECRET_OPTION = /^--?[a-z-]*(secret|password|token|webhook)[a-z-]*(=|$)/i;

/**
 * The command line `mko operation retry` can run again: this process's arguments without --db
 * (a retry names the database itself), or null when it cannot be re-run as it was.
 */
function retryableCommand(argv: GlobalArgs): string[] | null {
  const words = (argv._ ?? []).map(String);
  if ([...NOT_RETRYABLE].some((c) => words.join(' ').startsWith(c))) return null;
  const args = process.argv.slice(2);
  const command: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (SECRET_OPTION.test(arg) && !arg.startsWith('--token-id')) return null;
    if (arg === '--db') i++;
    else if (!arg.startsWith('--db=')) command.push(arg);
  }
  return command;
}

let verbose = false;

/** Open the fleet database for one command, tidy operations a crash left running, close after. */
export async function withContext<T>(argv: GlobalArgs, fn: (ctx: Context) => Promise<T> | T, options: { creates?: boolean } = {}): Promise<T> {
  const dbPath = existingDbPath(argv, options.creates);
  verbose = argv.verbose === true;
  const retryOf = Number(process.env[RETRY_OF_ENV]);
  setInvocation({ command: retryableCommand(argv), retryOf: Number.isInteger(retryOf) && retryOf > 0 ? retryOf : null });
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
    // mko operation cancel from another shell: this whole command stops (exit 143, as SIGTERM),
    // not only the run it asked about, so that no later step of the command starts.
    process.on('SIGUSR2', () => {
      if (stoppedBy) return;
      stoppedBy = 'SIGTERM';
      process.stderr.write('\nmko: cancelled by mko operation cancel, stopping\n');
      controller.abort(CANCEL_REQUEST);
    });
  }
  return stop.signal;
}

const signalExitCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

/** The exit code of a process ended by the signal interruptSignal saw (130, 143), if it saw one. */
export function stopSignalExitCode(): number | undefined {
  return stoppedBy ? signalExitCode(stoppedBy) : undefined;
}

let showingRuns = false;

/** From now on, show each playbook run this process starts: its progress line (or, --verbose, its log). */
function showRuns(): void {
  if (showingRuns || verbose) return;
  showingRuns = true;
  observeRuns(async (db, id) => {
    await showOperation(db, id, { verbose: false, progress: stderrProgress(), log: () => undefined });
  });
}

/** The log of each run as it is stored, for --verbose. */
const printLog = (chunk: string): void => {
  // The log carries what nodes answered: shown with its control characters escaped.
  process.stdout.write(terminalText(chunk));
};

/**
 * Show this command's playbook runs, unless JSON was asked for: a progress line on stderr, or
 * with --verbose the full log on stdout (through the onOutput returned).
 */
export function streamTo(json: boolean | undefined): ((chunk: string) => void) | undefined {
  if (json) return undefined;
  showRuns();
  return verbose ? printLog : undefined;
}

/** What a playbook-running domain function needs from a CLI command: progress, Ctrl-C, check mode. */
export function playbookContext(ctx: Context, check?: boolean, options: { json?: boolean } = {}): RunContext & CheckMode {
  const onOutput = streamTo(options.json);
  return {
    dbPath: ctx.dbPath,
    dataDir: ctx.dataDir,
    signal: interruptSignal(),
    ...(onOutput ? { onOutput } : {}),
    ...(check ? { check: true } : {}),
  };
}

/** One closing line for a playbook run; a run that did not succeed makes the exit code 2. */
export function reportRun(what: string, result: { status: string; exitMeaning: string; operationId: number }): void {
  process.stdout.write(`\n${what}: ${result.status} (${result.exitMeaning}), operation ${result.operationId}\n`);
  if (result.status !== 'succeeded') process.exitCode = 2;
}
