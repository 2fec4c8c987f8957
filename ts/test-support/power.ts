// A small fleet for the power tests: clusters, a UPS host and its UPS, and an ActionRunner that
// records what it was asked to do and takes the time it is told (the boundary of the rules
// engine: what it decides is tested, not what a shutdown does).
import { addCluster, insertNode } from '../fleet/index.js';
import type { Db } from '../db/index.js';
import type { ActionRequest, ActionResult, ActionRunner } from '../power/engine.js';
import { addUps, type Ups } from '../power/ups.js';

export interface PowerFleet {
  ups: Ups;
  clusters: string[];
}

export function powerFleet(db: Db, dataDir: string, options: { address?: string; upsdPort?: number; clusters?: string[] } = {}): PowerFleet {
  const clusters = options.clusters ?? ['home', 'media'];
  for (const name of clusters) addCluster(db, { name });
  insertNode(db, { hostname: 'ups-host', address: options.address ?? '127.0.0.1', sshUser: 'root', cluster: clusters[0], role: 'control-plane' }, null);
  const ups = addUps(db, dataDir, { name: 'dummy', host: 'ups-host', driver: 'dummy-ups', port: 'dummy.dev', ...(options.upsdPort ? { upsdPort: options.upsdPort } : {}), user: 'upsmon_secondary', password: 's3cret-pw' });
  return { ups, clusters };
}

export interface RecordedCall {
  actionId: number;
  rule: string;
  action: string;
  cluster: string;
  event: string;
  startedAt: number;
  endedAt: number | null;
}

export class RecordingRunner implements ActionRunner {
  readonly calls: RecordedCall[] = [];

  constructor(private readonly durationMs: (request: ActionRequest) => number = () => 0) {}

  async run(request: ActionRequest, signal: AbortSignal): Promise<ActionResult> {
    const call: RecordedCall = {
      actionId: request.action.id,
      rule: request.rule.name,
      action: request.rule.action,
      cluster: request.cluster.name,
      event: request.event.kind,
      startedAt: Date.now(),
      endedAt: null,
    };
    this.calls.push(call);
    const ms = this.durationMs(request);
    const aborted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    call.endedAt = Date.now();
    return aborted ? { status: 'cancelled', operationId: null, detail: 'stopped' } : { status: 'succeeded', operationId: null, detail: `recorded ${request.rule.action}` };
  }
}

export async function waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
