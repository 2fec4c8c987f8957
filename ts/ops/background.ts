// Start a playbook-running domain function and learn its operation id at once, while it runs on:
// what the API needs to answer 202 with the operation to follow. startOperation reports each new
// operation to the function that started it (AsyncLocalStorage follows it through its awaits).
import { AsyncLocalStorage } from 'node:async_hooks';
import { UserError } from '../errors.js';

const starts = new AsyncLocalStorage<(operationId: number) => void>();

/** Called by startOperation: tell whoever started this work in the background its operation id. */
export function reportOperationStart(operationId: number): void {
  starts.getStore()?.(operationId);
}

export interface Started<T> {
  /** The first operation the work recorded. */
  operationId: number;
  /** The work's own result, once it is done. */
  done: Promise<T>;
}

/**
 * Run `work` and resolve as soon as it has recorded its first operation. Errors before that (bad
 * input, nothing to do) reject, so a caller can answer them at once; later ones are the operation's.
 */
export function startInBackground<T>(work: () => Promise<T>): Promise<Started<T>> {
  return new Promise((resolve, reject) => {
    let operationId: number | undefined;
    let done: Promise<T> | undefined;
    const settle = (): void => {
      if (operationId !== undefined && done) resolve({ operationId, done });
    };
    done = starts.run((id) => {
      if (operationId !== undefined) return;
      operationId = id;
      // startOperation may run before `done` is assigned (work is synchronous until its first await).
      queueMicrotask(settle);
    }, work);
    done.then(
      () => {
        if (operationId === undefined) reject(new UserError('nothing to run: the action finished without starting an operation'));
      },
      (error: unknown) => {
        if (operationId === undefined) reject(error);
      },
    );
    settle();
  });
}
