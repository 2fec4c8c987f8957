import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { dataDirFor, inventoryScript, playbooksDir, projectRoot } from '../paths.js';
import { writeExtraVarsFile } from './extra-vars.js';
import { followOperation } from './follow.js';
import { appendLog, finishOperation, getOperation, isAlive, recordChild, startOperation, type HostFailure, type HostRecap, type OperationStatus } from './operations.js';
import { exitMeaning } from './exit-meaning.js';
import { groupHasLiveMember } from './process-identity.js';
import { CANCEL_MEANING, CANCEL_REQUEST, cancelRequested } from './cancel.js';
import { blankSecrets } from './redact.js';
import { makeRunDir } from './run-dir.js';

export interface PlaybookRun {
  /** What the operation is, e.g. "ssh-test", "hosts", "hardware". */
  kind: string;
  /** The node or cluster it targets, as the user named it. */
  target: string;
  /** Playbook file name under playbooks/, or an absolute path. */
  playbook: string;
  limit?: string;
  check?: boolean;
  diff?: boolean;
  /** Passed through a 0600 file in <data dir>/run, never on the command line; data, never templated. */
  extraVars?: Record<string, unknown>;
  /** Values the history callback blanks out of everything it stores (handed over in a 0600 file). */
  secrets?: string[];
  extraArgs?: string[];
  /**
   * ansible-playbook's arguments as given, instead of the ones built from playbook, limit,
   * check, diff, extraVars and extraArgs (a retry of a plain ansible-playbook run).
   */
  argv?: string[];
  /** Where ansible-playbook runs (relative paths in argv resolve against it); default the project. */
  cwd?: string;
  /** The database file the inventory script and callback should read. */
  dbPath: string;
  env?: Record<string, string>;
  /** Receives the operation's log (the callback's rendering, secrets blanked) as it is stored. */
  onOutput?: (chunk: string) => void;
  /** Cancels the run; a reason of 'SIGTERM' (or another signal's name) says mko was stopped by it. */
  signal?: AbortSignal;
}

export interface PlaybookResult {
  operationId: number;
  status: Exclude<OperationStatus, 'running'>;
  exitCode: number | null;
  exitMeaning: string;
  recap: Record<string, HostRecap>;
  failures: Record<string, HostFailure>;
  results: Record<string, Record<string, unknown>>;
  /** The operation's log as stored. */
  output: string;
}

/** Called with each operation this process starts a run for; the run's result waits for what it returns. */
export type RunObserver = (db: Db, operationId: number) => Promise<void> | void;
const observers = new Set<RunObserver>();

/** Watch every run this process starts (the CLI's progress line); returns the way to stop. */
export function observeRuns(observer: RunObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** How much of ansible-playbook's own output is kept: only for errors before the callback starts. */
const TAIL_CHARS = 8192;
const CANCEL_GRACE_MS = 5000;
/** Leads ansible-playbook's process group and stops the group should mko die without doing so. */
const runGuard = path.join(projectRoot, 'bin', 'mko-run-guard.mjs');

/** Run folders of the runs in progress: process.exit (a second Ctrl-C) skips their finally. */
const liveRunDirs = new Set<string>();
process.on('exit', () => liveRunDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const GROUP_END_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function cancelMeaning(reason: unknown): string {
  if (reason === CANCEL_REQUEST) return CANCEL_MEANING;
  if (typeof reason !== 'string' || reason === 'SIGINT') return 'cancelled by the user (Ctrl-C)';
  // Another signal stopped mko; any other reason is said as given (mko web: "cancelled through the API").
  return reason.startsWith('SIG') ? `cancelled: mko was stopped (${reason})` : reason;
}

/** The runs this process records, by operation id: what a cancel request (SIGUSR2) may stop. */
const activeRuns = new Map<number, { db: Db; cancel: (reason: unknown) => void }>();

/**
 * `mko operation cancel` of one of this process's runs: stop the runs asked for, and only those.
 * A long-lived process (mko web, the UPS watcher) goes on; a one-shot command also stops as a
 * whole (its own handler, ts/cli/context.ts), mko web stops the whole action (ts/web/runs.ts).
 */
function serveCancelRequests(): void {
  for (const [id, run] of activeRuns) if (cancelRequested(run.db, id)) run.cancel(CANCEL_REQUEST);
}
// Any process that can record a run answers a cancel request, and SIGUSR2's default (to die) never
// applies to it.
process.on('SIGUSR2', serveCancelRequests);

/**
 * What ansible-playbook said before the history callback could record anything (a playbook that
 * does not parse, a missing file): its ERROR lines, else its last line, with mko's secrets blanked.
 */
function earlyError(tail: string, secrets: readonly string[]): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^(\[ERROR\]|ERROR!)/.test(l));
  // Blanked before it is cut: a secret across the cut would otherwise leave its head.
  return blankSecrets(errors.length > 0 ? errors.join(' ') : lines.at(-1) ?? '', secrets).slice(0, 500);
}

/**
 * The one way mko runs Ansible: record the operation first, let the mko.fleet.history callback
 * record the run into it (log, events, recap, failures), record how it ended when the callback
 * could not (cancelled, crashed, never started), and return the record.
 */
export async function runPlaybook(db: Db, run: PlaybookRun): Promise<PlaybookResult> {
  const playbook = path.isAbsolute(run.playbook) ? run.playbook : path.join(playbooksDir, run.playbook);
  const tempDir = makeRunDir(dataDirFor(run.dbPath), 'run');
  liveRunDirs.add(tempDir);
  let args: string[];
  if (run.argv) {
    args = run.argv;
  } else {
    args = ['-i', inventoryScript, playbook];
    if (run.limit) args.push('--limit', run.limit);
    if (run.check) args.push('--check');
    if (run.diff) args.push('--diff');
    if (run.extraVars && Object.keys(run.extraVars).length > 0) {
      const varsFile = path.join(tempDir, 'extra-vars.json');
      writeExtraVarsFile(varsFile, run.extraVars);
      args.push('-e', `@${varsFile}`);
    }
    args.push(...(run.extraArgs ?? []));
  }
  const secrets = run.secrets ?? [];
  const secretsFile = path.join(tempDir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 });

  // The callback fills in the command line, as it does for a plain run.
  const operationId = startOperation(db, { kind: run.kind, target: run.target, playbook: path.relative(projectRoot, playbook) });
  const watchers = [...observers].map((observe) => observe(db, operationId));
  const streaming = new AbortController();
  const streamed = run.onOutput ? streamLog(db, operationId, run.onOutput, streaming.signal) : Promise.resolve();
  let tail = '';
  let cancelled = false;
  let cancelReason: unknown;

  try {
    // Loaded here, not at the top: every command imports the runner through ops/, and execa (some
    // hundred modules) was a third of `mko node list`'s start-up.
    const { execa } = await import('execa');
    const child = execa(process.execPath, [runGuard, 'ansible-playbook', ...args], {
      cwd: run.cwd ?? projectRoot,
      env: {
        ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: '0',
        // Facts are cached per fleet database, next to it (data/ansible-facts for the default
        // data/mko.db, as ansible.cfg says): two fleets or labs with the same host names never
        // read each other's cached addresses.
        ANSIBLE_CACHE_PLUGIN_CONNECTION: path.join(path.dirname(path.resolve(run.dbPath)), 'ansible-facts'),
        MKO_DB: path.resolve(run.dbPath),
        MKO_OPERATION_ID: String(operationId),
        MKO_SECRETS_FILE: secretsFile,
        MKO_RUN_DIR: tempDir,
        ...run.env,
      },
      all: true,
      buffer: false,
      reject: false,
      // The guard's lifeline: it stops the group when this pipe closes, i.e. when mko dies.
      stdin: 'pipe',
      // Its own process group, so cancelling reaches the workers and the commands they run.
      detached: true,
    });
    if (child.pid) recordChild(db, operationId, child.pid);
    const stopGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const escalation: NodeJS.Timeout[] = [];
    const cancel = (reason: unknown): void => {
      if (cancelled) return;
      cancelled = true;
      cancelReason = reason;
      // SIGINT first: ansible-playbook stops its workers and prints what it did.
      stopGroup('SIGINT');
      escalation.push(setTimeout(() => stopGroup('SIGTERM'), CANCEL_GRACE_MS));
      escalation.push(setTimeout(() => stopGroup('SIGKILL'), 2 * CANCEL_GRACE_MS));
    };
    const onAbort = (): void => cancel(run.signal?.reason);
    if (run.signal?.aborted) onAbort();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    activeRuns.set(operationId, { db, cancel });
    // A request that came before the run could be stopped.
    if (cancelRequested(db, operationId)) cancel(CANCEL_REQUEST);
    child.all?.setEncoding('utf8');
    child.all?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-TAIL_CHARS);
    });
    const result = await child;
    escalation.forEach(clearTimeout);
    // ansible-playbook is gone: workers still exiting get a moment, anything left after is killed.
    // (isAlive of a negative PID asks about the process group.)
    for (let waited = 0; child.pid && isAlive(-child.pid) && waited < GROUP_END_MS; waited += 50) await sleep(50);
    if (child.pid && isAlive(-child.pid)) {
      stopGroup('SIGKILL');
      // SIGKILL is delivered at once but takes effect a moment later: return when they are gone.
      for (let waited = 0; groupHasLiveMember(child.pid) && waited < GROUP_END_MS; waited += 20) await sleep(20);
    }
    run.signal?.removeEventListener('abort', onAbort);
    if (result.exitCode === 127 && tail.includes('mko-run-guard: cannot run ansible-playbook')) {
      throw new UserError('ansible-playbook is not installed: install it with `apt install ansible` (ansible-core 2.14 or later)');
    }
    const exitCode = result.exitCode ?? null;
    const recorded = getOperation(db, operationId);
    if (cancelled) {
      finishOperation(db, operationId, { status: 'cancelled', exitCode, exitMeaning: cancelMeaning(cancelReason) });
    } else if (recorded.status === 'running') {
      // Ended before its recap: the callback recorded what it saw, the exit code says the rest.
      const early = recorded.log === '' ? earlyError(tail, secrets) : '';
      if (early) appendLog(db, operationId, `${early}\n`);
      const meaning = exitMeaning(exitCode);
      finishOperation(db, operationId, { status: exitCode === 0 ? 'succeeded' : 'failed', exitCode, exitMeaning: early ? `${meaning}: ${early}` : meaning });
    } else if (recorded.exitCode !== exitCode) {
      // The callback's code follows from the recap; ansible-playbook's own says more (8: a failure stopped the play).
      finishOperation(db, operationId, { status: recorded.status, exitCode, exitMeaning: exitMeaning(exitCode) });
    }
    return await settle(db, operationId);
  } catch (error) {
    finishOperation(db, operationId, { status: 'failed', exitCode: null, exitMeaning: `could not run ansible-playbook: ${(error as Error).message}` });
    throw error;
  } finally {
    activeRuns.delete(operationId);
    streaming.abort();
    await Promise.allSettled([streamed, ...watchers]);
    rmSync(tempDir, { recursive: true, force: true });
    liveRunDirs.delete(tempDir);
  }

  async function settle(db: Db, id: number): Promise<PlaybookResult> {
    // Followers see the end within one poll: let them show it before the caller prints more.
    await Promise.race([Promise.allSettled([streamed, ...watchers]), sleep(2000)]);
    const op = getOperation(db, id);
    return {
      operationId: id,
      status: op.status === 'running' ? 'failed' : op.status,
      exitCode: op.exitCode,
      exitMeaning: op.exitMeaning ?? '',
      recap: op.recap,
      failures: op.failures,
      results: op.results,
      output: op.log,
    };
  }
}

/** Hand the stored log to onOutput as it grows, until the operation ends (or signal stops it). */
async function streamLog(db: Db, id: number, onOutput: (chunk: string) => void, signal: AbortSignal): Promise<void> {
  for await (const item of followOperation(db, id, { signal })) if (item.type === 'log') onOutput(item.text);
}
