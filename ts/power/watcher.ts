// The watcher: polls every registered UPS's upsd (every second by default), turns the readings
// into events (detect.ts), stores events, status samples and its own state, and hands events to
// the rules engine. A lost connection is retried with a capped backoff; while it is down every
// poll still counts as a failed reading, so the dead time runs as it should.
import { writeTransaction, type Db } from '../db/index.js';
import { NutClient, NutError, type NutVars } from '../nut/index.js';
import { DEFAULT_DEAD_TIME_MS, restoreState, step, type DetectorState, type Reading } from './detect.js';
import { RulesEngine, type ActionRunner, type ResumeReport } from './engine.js';
import { thresholdsFor } from './rules.js';
import { getWatchState, recordEvent, recordSample, saveWatchState, type UpsEvent, type UpsReading } from './store.js';
import { listUpses, type Ups } from './ups.js';

export interface WatcherOptions {
  db: Db;
  runner: ActionRunner;
  /** Poll period (default 1000 ms). */
  intervalMs?: number;
  /** Missing data for this long is lost communication (default 15 s, upsmon's DEADTIME). */
  deadTimeMs?: number;
  /** One stored sample per period, plus every change (default 10 s). */
  sampleEveryMs?: number;
  /** Time limit of one request to upsd (default: 2 intervals, at least 2 s). */
  requestTimeoutMs?: number;
  /** Reconnect backoff: first wait and cap (default 500 ms, 5 s). */
  backoffMs?: { first: number; max: number };
  /** Overdue actions older than this at start are expired (default 10 min). */
  lateLimitMs?: number;
  /** How often the list of UPSes is read again (default 10 s). */
  refreshMs?: number;
  log?: (line: string) => void;
}

function num(vars: NutVars, name: string): number | null {
  const value = vars[name];
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export function describeEvent(event: UpsEvent): string {
  const readings = [event.status, event.charge !== null ? `charge ${event.charge}%` : null, event.runtime !== null ? `runtime ${event.runtime} s` : null].filter(Boolean).join(', ');
  return `UPS ${event.ups}: ${event.kind} (event ${event.id}): ${event.detail}${readings ? ` [${readings}]` : ''}`;
}

/** One UPS: its connection, its backoff and its detector. */
class UpsPoller {
  private client: NutClient | null = null;
  private connecting: Promise<void> | null = null;
  private nextTryAt = 0;
  private backoff: number;
  private lastError = 'not connected yet';
  private detector: DetectorState;
  private lastSampleAt = 0;
  private lastSampleKey: string | null = null;
  private okAt: string | null;
  stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  polls = 0;

  constructor(
    readonly ups: Ups,
    private readonly watcher: Watcher,
  ) {
    this.backoff = watcher.backoff.first;
    const saved = getWatchState(watcher.db, ups.id);
    this.detector = restoreState(saved?.detector);
    this.okAt = saved?.okAt ?? null;
  }

  /** The first poll now, then one per interval until stopped. */
  async first(): Promise<void> {
    await this.tick();
  }

  run(): void {
    this.loop = (async () => {
      let next = Date.now() + this.watcher.intervalMs;
      while (!this.stopped) {
        await this.sleep(Math.max(0, next - Date.now()));
        if (this.stopped) break;
        const begun = Date.now();
        try {
          await this.tick();
        } catch (error) {
          // A database that is busy for longer than its timeout, say: log it, poll again.
          this.watcher.log(`UPS ${this.ups.name}: poll failed: ${(error as Error).message}`);
        }
        // After a tick that ran long (a request that timed out), no burst of catch-up polls.
        next = Math.max(begun + this.watcher.intervalMs, Date.now());
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    this.client?.close();
    this.client = null;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
    });
  }

  private async connect(): Promise<void> {
    try {
      this.client = await NutClient.connect({ host: this.ups.address, port: this.ups.upsdPort, timeoutMs: this.watcher.requestTimeoutMs });
      if (this.backoff !== this.watcher.backoff.first || this.lastError !== 'not connected yet') {
        this.watcher.log(`UPS ${this.ups.name}: connected to upsd at ${this.client.where}`);
      }
      this.backoff = this.watcher.backoff.first;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.nextTryAt = Date.now() + this.backoff;
      this.watcher.log(`UPS ${this.ups.name}: ${this.lastError}; next try in ${this.backoff / 1000} s`);
      this.backoff = Math.min(this.backoff * 2, this.watcher.backoff.max);
    }
  }

  private async read(): Promise<Reading> {
    if (!this.client || this.client.closed) {
      this.client = null;
      if (Date.now() < this.nextTryAt) return { ok: false, error: this.lastError };
      this.connecting ??= this.connect().finally(() => {
        this.connecting = null;
      });
      await this.connecting;
      if (!this.client) return { ok: false, error: this.lastError };
    }
    try {
      return { ok: true, vars: await this.client.listVar(this.ups.name) };
    } catch (error) {
      if (error instanceof NutError) return { ok: false, error: error.code };
      this.lastError = (error as Error).message;
      this.watcher.log(`UPS ${this.ups.name}: ${this.lastError}; reconnecting`);
      this.client?.close();
      this.client = null;
      this.nextTryAt = 0;
      return { ok: false, error: this.lastError };
    }
  }

  private async tick(): Promise<void> {
    const reading = await this.read();
    if (this.stopped && this.polls > 0) return;
    this.polls++;
    const { db } = this.watcher;
    const now = new Date();
    const { state, events } = step(this.detector, reading, now.getTime(), { deadTimeMs: this.watcher.deadTimeMs, thresholds: thresholdsFor(db, this.ups.id) });
    this.detector = state;
    const vars = reading.ok ? reading.vars : {};
    if (reading.ok) this.okAt = now.toISOString();
    const sample: UpsReading = {
      at: now.toISOString(),
      error: reading.ok ? null : reading.error,
      status: vars['ups.status'] ?? null,
      charge: num(vars, 'battery.charge'),
      runtime: num(vars, 'battery.runtime'),
      load: num(vars, 'ups.load'),
      inputVoltage: num(vars, 'input.voltage'),
    };
    const key = `${sample.error ?? ''}|${sample.status ?? ''}`;
    const takeSample = key !== this.lastSampleKey || now.getTime() - this.lastSampleAt >= this.watcher.sampleEveryMs;
    const stored = writeTransaction(db, () => {
      saveWatchState(db, { upsId: this.ups.id, ...sample, okAt: this.okAt, detector: JSON.stringify(state) });
      if (takeSample) recordSample(db, this.ups.id, sample);
      return events.map((e) => recordEvent(db, this.ups.id, e, now));
    });
    if (takeSample) {
      this.lastSampleAt = now.getTime();
      this.lastSampleKey = key;
    }
    this.watcher.lastPollAt = now;
    for (const event of stored) {
      this.watcher.log(describeEvent(event));
      this.watcher.engine.handle(event);
    }
  }
}

export class Watcher {
  readonly db: Db;
  readonly engine: RulesEngine;
  readonly intervalMs: number;
  readonly deadTimeMs: number;
  readonly sampleEveryMs: number;
  readonly requestTimeoutMs: number;
  readonly backoff: { first: number; max: number };
  readonly log: (line: string) => void;
  private readonly refreshMs: number;
  private readonly pollers = new Map<number, UpsPoller>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private running = false;
  lastPollAt: Date | null = null;

  constructor(options: WatcherOptions) {
    this.db = options.db;
    this.intervalMs = options.intervalMs ?? 1000;
    this.deadTimeMs = options.deadTimeMs ?? DEFAULT_DEAD_TIME_MS;
    this.sampleEveryMs = options.sampleEveryMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? Math.max(2000, 2 * this.intervalMs);
    this.backoff = options.backoffMs ?? { first: 500, max: 5000 };
    this.refreshMs = options.refreshMs ?? 10_000;
    this.log = options.log ?? (() => {});
    this.engine = new RulesEngine({ db: this.db, runner: options.runner, log: this.log, ...(options.lateLimitMs !== undefined ? { lateLimitMs: options.lateLimitMs } : {}) });
  }

  /**
   * Start: one poll of every UPS first (a restore that happened while the watcher was down
   * cancels what it should), then re-arm the pending actions, then poll on.
   */
  async start(): Promise<ResumeReport> {
    this.running = true;
    const upses = listUpses(this.db);
    if (upses.length === 0) this.log('no UPS registered yet (mko ups add): waiting for one');
    for (const ups of upses) this.pollers.set(ups.id, new UpsPoller(ups, this));
    await Promise.all([...this.pollers.values()].map((p) => p.first()));
    const report = this.engine.resume();
    for (const poller of this.pollers.values()) poller.run();
    this.refreshTimer = setInterval(() => this.refresh(), this.refreshMs);
    this.log(`watching ${upses.map((u) => `${u.name} (${u.address}:${u.upsdPort})`).join(', ') || 'nothing yet'} every ${this.intervalMs / 1000} s`);
    return report;
  }

  /** Stop polling and the engine; pending actions stay in the database for the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.refreshTimer);
    await Promise.all([...this.pollers.values()].map((p) => p.stop()));
    this.pollers.clear();
    await this.engine.stop();
  }

  /** Pick up UPSes added or removed since the start. */
  private refresh(): void {
    const upses = listUpses(this.db);
    for (const ups of upses) {
      const current = this.pollers.get(ups.id);
      if (current && current.ups.address === ups.address && current.ups.upsdPort === ups.upsdPort && current.ups.name === ups.name) continue;
      if (current) void current.stop();
      const poller = new UpsPoller(ups, this);
      this.pollers.set(ups.id, poller);
      this.log(`UPS ${ups.name}: now watched (${ups.address}:${ups.upsdPort})`);
      poller.run();
    }
    for (const [id, poller] of this.pollers) {
      if (upses.some((u) => u.id === id)) continue;
      this.pollers.delete(id);
      this.log(`UPS ${poller.ups.name}: removed, no longer watched`);
      void poller.stop();
    }
  }
}
