// The long actions this server runs: started in the background (the API answers 202 with the
// operation id), each with its own AbortController so that a cancel stops it in-process, and
// recorded with the mko command line that does the same (what mko operation retry runs).
import type { Db } from '../db/index.js';
import { CANCEL_REQUEST, cancelRequested, startInBackground, withInvocation } from '../ops/index.js';

export class RunRegistry {
  private readonly running = new Map<number, AbortController>();
  private readonly pending = new Map<number, Promise<void>>();

  /**
   * Start `work`; resolves with its operation id once recorded (errors before that reject).
   * command: the mko command line doing the same (without --db), null when there is none.
   */
  async start(work: (signal: AbortSignal) => Promise<unknown>, command: string[] | null = null): Promise<number> {
    const controller = new AbortController();
    const started = await startInBackground(() => withInvocation({ command, retryOf: null }, () => work(controller.signal)));
    this.running.set(started.operationId, controller);
    const settled = started.done
      .then(() => undefined)
      .catch((error: unknown) => {
        process.stderr.write(`mko web: operation ${started.operationId} ended with an error: ${(error as Error).message}\n`);
      })
      .finally(() => {
        this.running.delete(started.operationId);
        this.pending.delete(started.operationId);
      });
    this.pending.set(started.operationId, settled);
    return started.operationId;
  }

  /**
   * Resolves when this server's run of the operation has done all its work: the playbook's end is
   * recorded before the domain function records what follows from it (a key verified, a report
   * stored). Resolves at once for an operation this server does not run (see runs()).
   */
  runs(operationId: number): boolean {
    return this.pending.has(operationId);
  }

  async settled(operationId: number): Promise<void> {
    await this.pending.get(operationId);
  }

  /** Cancel a run of this server; false when it runs elsewhere (or no longer). */
  cancel(operationId: number): boolean {
    const controller = this.running.get(operationId);
    if (!controller) return false;
    controller.abort('cancelled through the API');
    return true;
  }

  /**
   * mko operation cancel from a shell (SIGUSR2): an action of this server that it names stops as a
   * whole, as a cancel through the API does. (The runner stops the run itself, as it does any
   * other run of this process, the watcher's.)
   */
  serveCancelRequests(db: Db): void {
    for (const [id, controller] of this.running) if (cancelRequested(db, id)) controller.abort(CANCEL_REQUEST);
  }

  /** Stop every run (the server is stopping): each is marked cancelled by its runner. */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort('SIGTERM');
  }

  get size(): number {
    return this.running.size;
  }
}
