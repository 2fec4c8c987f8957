// What started the operations this process records: the mko command line (so `mko operation
// retry` can run it again) and the operation it retries. Set once by the CLI entry point; a
// long-lived process (mko web) gives each piece of work its own with withInvocation. Domain code
// that starts operations never sees argv.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Invocation {
  /** mko's arguments without --db, or null when the command cannot be re-run as it was. */
  command: string[] | null;
  retryOf: number | null;
}

let current: Invocation = { command: null, retryOf: null };
const scoped = new AsyncLocalStorage<Invocation>();

export function setInvocation(invocation: Invocation): void {
  current = invocation;
}

/** Run fn (and everything it awaits) as started by invocation: the server's run of an API action. */
export function withInvocation<T>(invocation: Invocation, fn: () => T): T {
  return scoped.run(invocation, fn);
}

export const currentInvocation = (): Invocation => scoped.getStore() ?? current;

/** The environment variable `mko operation retry` sets for the mko it starts: the id it retries. */
export const RETRY_OF_ENV = 'MKO_RETRY_OF';
