import { rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { dataDirFor, inventoryScript, playbooksDir, projectRoot } from '../paths.js';
import { writeExtraVarsFile } from './extra-vars.js';
import { appendLog, finishOperation, isAlive, recordChild, startOperation, type HostRecap, type OperationStatus } from './operations.js';
import { exitMeaning, parseRecap } from './recap.js';
import { redactArgs, scrub } from './redact.js';
import { groupHasLiveMember } from './process-identity.js';
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
  /** Values to blank out of the stored and streamed log. */
  secrets?: string[];
  extraArgs?: string[];
  /** The database file the inventory script and callback should read. */
  dbPath: string;
  env?: Record<string, string>;
  /** Receives Ansible's output as it arrives. */
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
  output: string;
}

const LOG_FLUSH_MS = 1000;
const CANCEL_GRACE_MS = 5000;
/** Leads ansible-playbook's process group and stops the group should mko die without doing so. */
const runGuard = path.join(projectRoot, 'bin', 'mko-run-guard.mjs');

/** Run folders of the runs in progress: process.exit (a second Ctrl-C) skips their finally. */
const liveRunDirs = new Set<string>();
process.on('exit', () => liveRunDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const GROUP_END_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function cancelMeaning(reason: unknown): string {
  if (typeof reason === 'string' && reason.startsWith('SIG') && reason !== 'SIGINT') return `cancelled: mko was stopped (${reason})`;
  return 'cancelled by the user (Ctrl-C)';
}

/**
 * The one way mko runs Ansible: record the operation first, stream output live to the caller and
 * into the operation's log, parse the recap, record the exit code with its meaning.
 */
export async function runPlaybook(db: Db, run: PlaybookRun): Promise<PlaybookResult> {
  const playbook = path.isAbsolute(run.playbook) ? run.playbook : path.join(playbooksDir, run.playbook);
  const tempDir = makeRunDir(dataDirFor(run.dbPath), 'run');
  liveRunDirs.add(tempDir);
  const args = ['-i', inventoryScript, playbook];
  if (run.limit) args.push('--limit', run.limit);
  if (run.check) args.push('--check');
  if (run.diff) args.push('--diff');
  if (run.extraVars && Object.keys(run.extraVars).length > 0) {
    const varsFile = path.join(tempDir, 'extra-vars.json');
    writeExtraVarsFile(varsFile, run.extraVars);
    args.push('-e', `@${varsFile}`);
  }
  args.push(...(run.extraArgs ?? []));

  const operationId = startOperation(db, {
    kind: run.kind,
    target: run.target,
    playbook: path.relative(projectRoot, playbook),
    args: redactArgs(['ansible-playbook', ...args.map((a) => a.replace(tempDir, '$TMP'))]),
  });

  const secrets = run.secrets ?? [];
  let output = '';
  let pending = '';
  const flush = (): void => {
    appendLog(db, operationId, pending);
    pending = '';
  };
  const timer = setInterval(flush, LOG_FLUSH_MS);
  let cancelled = false;

  try {
    const child = execa(process.execPath, [runGuard, 'ansible-playbook', ...args], {
      cwd: projectRoot,
      env: {
        ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: '0',
        // Facts are cached per fleet database, next to it (data/ansible-facts for the default
        // data/mko.db, as ansible.cfg says): two fleets or labs with the same host names never
        // read each other's cached addresses.
        ANSIBLE_CACHE_PLUGIN_CONNECTION: path.join(path.dirname(path.resolve(run.dbPath)), 'ansible-facts'),
        MKO_DB: run.dbPath,
        MKO_OPERATION_ID: String(operationId),
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
    const cancel = (): void => {
      cancelled = true;
      // SIGINT first: ansible-playbook stops its workers and prints what it did.
      stopGroup('SIGINT');
      escalation.push(setTimeout(() => stopGroup('SIGTERM'), CANCEL_GRACE_MS));
      escalation.push(setTimeout(() => stopGroup('SIGKILL'), 2 * CANCEL_GRACE_MS));
    };
    if (run.signal?.aborted) cancel();
    run.signal?.addEventListener('abort', cancel, { once: true });
    child.all?.setEncoding('utf8');
    // Scrub whole lines only, so a secret split across two chunks is still caught.
    let partial = '';
    const emit = (text: string): void => {
      const clean = scrub(text, secrets);
      output += clean;
      pending += clean;
      run.onOutput?.(clean);
    };
    child.all?.on('data', (chunk: string) => {
      const text = partial + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      partial = text.slice(cut);
      if (cut > 0) emit(text.slice(0, cut));
    });
    child.all?.on('end', () => {
      if (partial) emit(partial);
      partial = '';
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
    run.signal?.removeEventListener('abort', cancel);
    clearInterval(timer);
    flush();
    if (result.exitCode === 127 && output.includes('mko-run-guard: cannot run ansible-playbook')) {
      throw new UserError('ansible-playbook is not installed: install it with `apt install ansible` (ansible-core 2.14 or later)');
    }
    const recap = parseRecap(output);
    const exitCode = result.exitCode ?? null;
    const status: PlaybookResult['status'] = cancelled ? 'cancelled' : exitCode === 0 ? 'succeeded' : 'failed';
    const meaning = cancelled ? cancelMeaning(run.signal?.reason) : exitMeaning(exitCode);
    finishOperation(db, operationId, { status, exitCode, exitMeaning: meaning, recap });
    return { operationId, status, exitCode, exitMeaning: meaning, recap, output };
  } catch (error) {
    clearInterval(timer);
    flush();
    finishOperation(db, operationId, { status: 'failed', exitCode: null, exitMeaning: `could not run ansible-playbook: ${(error as Error).message}` });
    throw error;
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
    liveRunDirs.delete(tempDir);
  }
}
