// What a domain function that runs playbooks needs from whoever calls it (a CLI command, a web
// action, the power watcher, a test): one type for all of them. A function that needs more takes
// `RunContext & TheirOptions`, the extra fields in a small interface of its own.
import type { PlaybookRun } from './runner.js';

export interface RunContext {
  /** The fleet database file: the inventory script and the history callback read it too. */
  dbPath: string;
  /** The database's data directory (keys, secrets, kubeconfigs, run folders): dataDirFor(dbPath). */
  dataDir: string;
  /** Receives each run's log as it is stored (the CLI's --verbose). */
  onOutput?: (chunk: string) => void;
  /** Warnings for the user, e.g. a Proxmox host whose TLS is not verified. */
  onWarning?: (message: string) => void;
  /** Aborting it cancels the running playbook (Ctrl-C, SIGTERM, a cancel from the web). */
  signal?: AbortSignal;
  /** More environment for ansible-playbook. */
  env?: Record<string, string>;
  /** More ansible-playbook arguments (tests use `-c local`). */
  extraArgs?: string[];
}

/** For the functions that can run in Ansible's check mode; the others have no such field. */
export interface CheckMode {
  /** Ansible's check mode: say what would change, change nothing. */
  check?: boolean;
}

/** The fields of a PlaybookRun that come from the caller's context, to spread into runPlaybook's argument. */
export function runFields(ctx: Pick<RunContext, 'dbPath' | 'onOutput' | 'signal' | 'env' | 'extraArgs'>): Pick<PlaybookRun, 'dbPath' | 'onOutput' | 'signal' | 'env' | 'extraArgs'> {
  return {
    dbPath: ctx.dbPath,
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.env ? { env: ctx.env } : {}),
    ...(ctx.extraArgs ? { extraArgs: ctx.extraArgs } : {}),
  };
}
