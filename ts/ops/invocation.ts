// What started the operations this process records: the mko command line (so `mko operation
// retry` can run it again) and the operation it retries. Set once by the CLI entry point; domain
// code that starts operations never sees argv.

export interface Invocation {
  /** mko's arguments without --db, or null when the command cannot be re-run as it was. */
  command: string[] | null;
  retryOf: number | null;
}

let current: Invocation = { command: null, retryOf: null };

export function setInvocation(invocation: Invocation): void {
  current = invocation;
}

export const currentInvocation = (): Invocation => current;

/** The environment variable `mko operation retry` sets for the mko it starts: the id it retries. */
export const RETRY_OF_ENV = 'MKO_RETRY_OF';
