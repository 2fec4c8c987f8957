// The long actions this server runs: started in the background (the API answers 202 with the
// operation id), each with its own AbortController so that a cancel stops it in-process.
import { startInBackground } from '../ops/index.js';

export class RunRegistry {
  private readonly running = new Map<number, AbortController>();

  /** Start `work`; resolves with its operation id once recorded (errors before that reject). */
  async start(work: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
    const controller = new AbortController();
    const started = await startInBackground(() => work(controller.signal));
    this.running.set(started.operationId, controller);
    started.done
      .catch((error: unknown) => process.stderr.write(`mko web: operation ${started.operationId} ended with an error: ${(error as Error).message}\n`))
      .finally(() => this.running.delete(started.operationId));
    return started.operationId;
  }

  /** Cancel a run of this server; false when it runs elsewhere (or no longer). */
  cancel(operationId: number): boolean {
    const controller = this.running.get(operationId);
    if (!controller) return false;
    controller.abort('cancelled through the API');
    return true;
  }

  /** Stop every run (the server is stopping): each is marked cancelled by its runner. */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort('SIGTERM');
  }

  get size(): number {
    return this.running.size;
  }
}
