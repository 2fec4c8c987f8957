// Power events from a UPS's successive readings: a pure state machine, fed one reading per poll.
// Its state is plain JSON so the watcher can store it and carry on after a restart.
//
// As upsmon does: OB starts an outage, OB -> OL ends it; FSD counts as OB LB; WAIT (the driver has
// no data yet) and unknown tokens decide nothing. A reading that fails (DATA-STALE,
// DRIVER-NOT-CONNECTED, no connection) is not an event by itself: only when data has been missing
// for the dead time (upsmon's DEADTIME, 15 s) is communication lost, and only when the last known
// state was on battery does that count as critical. Short blips, common on USB UPSes at the very
// moment they switch to battery, never start anything.

export const EVENT_KINDS = ['power_loss', 'low_battery', 'critical_battery', 'power_restored', 'comm_lost', 'comm_restored'] as const;
export type UpsEventKind = (typeof EVENT_KINDS)[number];

export type Reading = { ok: true; vars: Record<string, string> } | { ok: false; error: string };

export interface DetectorConfig {
  /** How long data may be missing before communication counts as lost (ms). */
  deadTimeMs: number;
  /** Charge thresholds (%) of the UPS's low_battery rules: each fires once per outage. */
  thresholds: readonly number[];
  /** Charge (%) at or under which the battery is critical (default 10). */
  criticalCharge?: number;
}

export const DEFAULT_DEAD_TIME_MS = 15_000;
export const DEFAULT_CRITICAL_CHARGE = 10;

export interface DetectorState {
  power: 'unknown' | 'online' | 'battery';
  status: string | null;
  charge: number | null;
  runtime: number | null;
  /** When the last reading with data came (ms since the epoch). */
  okAt: number | null;
  /** Start of the current run of failed readings: the last reading with data, else the first failure. */
  failingSince: number | null;
  commLost: boolean;
  /** What already fired in this outage. */
  lowBatterySent: boolean;
  thresholdsSent: number[];
  criticalSent: boolean;
}

export interface DetectedEvent {
  kind: UpsEventKind;
  status: string | null;
  charge: number | null;
  runtime: number | null;
  /** low_battery: the threshold crossed, or null when the UPS said LB. */
  threshold: number | null;
  detail: string;
}

export function initialState(): DetectorState {
  return {
    power: 'unknown',
    status: null,
    charge: null,
    runtime: null,
    okAt: null,
    failingSince: null,
    commLost: false,
    lowBatterySent: false,
    thresholdsSent: [],
    criticalSent: false,
  };
}

/** ups.status as a set of tokens, FSD expanded to OB LB. */
export function statusTokens(status: string): Set<string> {
  const tokens = new Set(status.trim().split(/\s+/).filter(Boolean));
  if (tokens.has('FSD')) {
    tokens.add('OB');
    tokens.add('LB');
  }
  return tokens;
}

function numberOf(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** One reading in, the new state and the events it makes out. */
export function step(previous: DetectorState, reading: Reading, now: number, config: DetectorConfig): { state: DetectorState; events: DetectedEvent[] } {
  const state: DetectorState = { ...previous, thresholdsSent: [...previous.thresholdsSent] };
  const events: DetectedEvent[] = [];
  const emit = (kind: UpsEventKind, detail: string, threshold: number | null = null): void => {
    events.push({ kind, status: state.status, charge: state.charge, runtime: state.runtime, threshold, detail });
  };

  if (!reading.ok) {
    state.failingSince ??= state.okAt ?? now;
    const silent = now - state.failingSince;
    if (!state.commLost && silent >= config.deadTimeMs) {
      state.commLost = true;
      emit('comm_lost', `no data for ${seconds(silent)} (${reading.error}); last known status ${state.status ?? 'none'}`);
      if (state.power === 'battery' && !state.criticalSent) {
        state.criticalSent = true;
        emit('critical_battery', `no data for ${seconds(silent)} while on battery: treated as critical, as upsmon does after DEADTIME`);
      }
    }
    return { state, events };
  }

  const status = reading.vars['ups.status'] ?? '';
  const tokens = statusTokens(status);
  // No decision yet (the driver has no data): neither a failure nor a reading.
  if (tokens.size === 0 || tokens.has('WAIT')) return { state, events };

  const silentFor = state.failingSince === null ? 0 : now - state.failingSince;
  state.status = status.trim();
  state.charge = numberOf(reading.vars['battery.charge']);
  state.runtime = numberOf(reading.vars['battery.runtime']);
  state.okAt = now;
  state.failingSince = null;
  if (state.commLost) {
    state.commLost = false;
    emit('comm_restored', `data again after ${seconds(silentFor)}`);
  }

  const onBattery = tokens.has('OB');
  const online = tokens.has('OL') && !onBattery;
  const resetOutage = (): void => {
    state.lowBatterySent = false;
    state.thresholdsSent = [];
    state.criticalSent = false;
  };
  if (onBattery && state.power !== 'battery') {
    const was = state.power;
    state.power = 'battery';
    resetOutage();
    emit('power_loss', was === 'unknown' ? 'on battery at the first reading' : 'the UPS switched to battery');
  } else if (online && state.power === 'battery') {
    state.power = 'online';
    resetOutage();
    emit('power_restored', 'the UPS is back on line power');
  } else if (online) {
    state.power = 'online';
  }

  if (state.power === 'battery') {
    if (tokens.has('LB') && !state.lowBatterySent) {
      state.lowBatterySent = true;
      emit('low_battery', tokens.has('FSD') ? 'forced shutdown (FSD) requested' : 'the UPS reports low battery (LB)');
    }
    const thresholds = [...new Set(config.thresholds)].sort((a, b) => b - a);
    for (const threshold of thresholds) {
      if (state.charge !== null && state.charge <= threshold && !state.thresholdsSent.includes(threshold)) {
        state.thresholdsSent.push(threshold);
        emit('low_battery', `charge ${state.charge}% is at or under ${threshold}%`, threshold);
      }
    }
    const runtimeLow = numberOf(reading.vars['battery.runtime.low']);
    const criticalCharge = config.criticalCharge ?? DEFAULT_CRITICAL_CHARGE;
    if (!state.criticalSent) {
      const why =
        state.charge !== null && state.charge <= criticalCharge
          ? `charge ${state.charge}% is at or under ${criticalCharge}%`
          : state.runtime !== null && runtimeLow !== null && state.runtime < runtimeLow
            ? `runtime ${state.runtime} s is under battery.runtime.low ${runtimeLow} s`
            : null;
      if (why) {
        state.criticalSent = true;
        emit('critical_battery', why);
      }
    }
  }
  return { state, events };
}

/** A stored state, or a fresh one when there is none (or it is from another version). */
export function restoreState(json: string | null | undefined): DetectorState {
  if (!json) return initialState();
  try {
    const parsed = JSON.parse(json) as Partial<DetectorState>;
    if (!parsed || !['unknown', 'online', 'battery'].includes(parsed.power as string)) return initialState();
    return { ...initialState(), ...parsed, thresholdsSent: Array.isArray(parsed.thresholdsSent) ? parsed.thresholdsSent : [] };
  } catch {
    return initialState();
  }
}
