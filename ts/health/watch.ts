// mko health watch: run the cheap checks of mko doctor (the diagnostics role, cheapOnly), store
// each check's latest state, record an event for each status change and send it to the notifiers.
// One pass (--once, what the systemd timer of role health runs) or a loop. Each pass's check run
// is an operation like every other playbook run (runDoctor records it); the events link to it.
import { fleetTargets } from '../fleet/index.js';
import type { Db } from '../db/index.js';
import { runDoctor } from '../doctor/index.js';
import { pruneOperations } from '../ops/index.js';
import { UserError } from '../errors.js';
import type { RunContext } from '../ops/index.js';
import { CHECK_STATUSES, type CheckStatus } from './checks.js';
import { notifyEvents, type DeliveryResult } from './notify.js';
import { recordResults, type HealthEvent } from './store.js';

export interface TargetPass {
  target: string;
  operationId: number | null;
  checks: number;
  /** Why the checks could not run on this target (the pass went on with the others). */
  error: string | null;
}

export interface HealthPass {
  startedAt: string;
  finishedAt: string;
  targets: TargetPass[];
  /** How many results had each status. */
  counts: Record<CheckStatus, number>;
  events: HealthEvent[];
  deliveries: DeliveryResult[];
  /** Runs of earlier passes forgotten by this one (older than keepMs). */
  pruned: number;
}

/** How long a pass's check run is kept (its operation, log and results), unless told: a week. */
export const DEFAULT_KEEP_MS = 7 * 86_400_000;

/** One pass of the cheap checks over `targets` (default: the whole fleet). */
export async function healthPass(db: Db, ctx: RunContext, options: { targets?: readonly string[]; keepMs?: number } = {}): Promise<HealthPass> {
  const startedAt = new Date().toISOString();
  const targets = options.targets && options.targets.length > 0 ? [...options.targets] : fleetTargets(db);
  const counts = Object.fromEntries(CHECK_STATUSES.map((s) => [s, 0])) as Record<CheckStatus, number>;
  const passes: TargetPass[] = [];
  const events: HealthEvent[] = [];
  for (const target of targets) {
    if (ctx.signal?.aborted) break;
    try {
      const { operationId, results, status } = await runDoctor(db, ctx, target, { cheapOnly: true, kind: 'health' });
      // A run stopped half way (Ctrl-C, SIGTERM, a cancel) says nothing about the nodes: its
      // missing reports would read as broken nodes. Nothing of it is stored.
      if (status === 'cancelled' || ctx.signal?.aborted) {
        passes.push({ target, operationId, checks: 0, error: 'cancelled: nothing stored' });
        break;
      }
      const cheap = results.filter((r) => r.cheap);
      for (const r of cheap) counts[r.status]++;
      events.push(...recordResults(db, cheap, { operationId }));
      passes.push({ target, operationId, checks: cheap.length, error: null });
    } catch (error) {
      // A target that cannot be checked (removed since, its inventory broken) is that target's
      // result; the others are still checked.
      if (!(error instanceof UserError)) throw error;
      passes.push({ target, operationId: null, checks: 0, error: error.message });
    }
  }
  const deliveries = await notifyEvents(db, ctx.dataDir, events, ctx.signal ? { signal: ctx.signal } : {});
  // A timer's pass every 5 minutes is 2,000 runs a week: the older ones go (the latest state of
  // every check and its change events stay; they lose only the link to the run).
  const { operations: pruned } = pruneOperations(db, { olderThanMs: options.keepMs ?? DEFAULT_KEEP_MS, kinds: ['health'] });
  return { startedAt, finishedAt: new Date().toISOString(), targets: passes, counts, events, deliveries, pruned };
}

export interface WatchOptions {
  targets?: readonly string[];
  keepMs?: number;
  intervalMs: number;
  /** Each pass, as it ends. */
  onPass: (pass: HealthPass) => void;
  /** A pass that failed as a whole (the loop goes on). */
  onError: (error: Error) => void;
}

/** Passes every intervalMs (from the start of one to the start of the next) until ctx.signal aborts. */
export async function watchHealth(db: Db, ctx: RunContext, options: WatchOptions): Promise<void> {
  const { signal } = ctx;
  while (!signal?.aborted) {
    const begun = Date.now();
    try {
      options.onPass(await healthPass(db, ctx, { ...(options.targets ? { targets: options.targets } : {}), ...(options.keepMs !== undefined ? { keepMs: options.keepMs } : {}) }));
    } catch (error) {
      if (signal?.aborted) break;
      options.onError(error as Error);
    }
    if (signal?.aborted) break;
    const wait = Math.max(0, begun + options.intervalMs - Date.now());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** One line for a log: what the pass checked and what changed. */
export function passText(pass: HealthPass): string {
  const total = CHECK_STATUSES.reduce((n, s) => n + pass.counts[s], 0);
  if (pass.targets.length === 0) return 'no nodes to check yet (mko node add): nothing checked';
  const ops = pass.targets.map((t) => (t.error ? `${t.target}: ${t.error}` : `${t.target} (operation ${t.operationId ?? '-'})`)).join(', ');
  const counts = CHECK_STATUSES.filter((s) => s !== 'pass' && pass.counts[s] > 0).map((s) => `${pass.counts[s]} ${s}`);
  const failedDeliveries = pass.deliveries.filter((d) => !d.ok).length;
  const retried = pass.deliveries.filter((d) => d.retry).length;
  return (
    `checked ${ops}: ${total} check(s), ${total === 0 ? 'no results' : counts.length ? counts.join(', ') : 'all pass'}; ${pass.events.length} change(s)` +
    (pass.deliveries.length
      ? `, ${pass.deliveries.length} notification(s)${retried ? ` (${retried} of earlier events)` : ''}${failedDeliveries ? ` (${failedDeliveries} failed)` : ''}`
      : '') +
    (pass.pruned ? `; forgot ${pass.pruned} run(s) of earlier passes` : '')
  );
}
