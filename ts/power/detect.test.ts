// The detection state machine, table-driven: each case is a sequence of readings one second
// apart (or at the given time) and the events they must produce, in order.
import { describe, expect, it } from 'vitest';
import { initialState, restoreState, step, type DetectorConfig, type DetectorState, type Reading } from './detect.js';

type Input = string | { status?: string; charge?: number; runtime?: number; runtimeLow?: number; at?: number } | { error: string; at?: number };

function reading(input: Input): Reading {
  if (typeof input === 'string') return input.startsWith('ERR ') ? { ok: false, error: input.slice(4) } : { ok: true, vars: { 'ups.status': input, 'battery.charge': '100' } };
  if ('error' in input) return { ok: false, error: input.error };
  const vars: Record<string, string> = {};
  if (input.status !== undefined) vars['ups.status'] = input.status;
  vars['battery.charge'] = String(input.charge ?? 100);
  if (input.runtime !== undefined) vars['battery.runtime'] = String(input.runtime);
  if (input.runtimeLow !== undefined) vars['battery.runtime.low'] = String(input.runtimeLow);
  return { ok: true, vars };
}

function run(inputs: Input[], config: Partial<DetectorConfig> = {}, start: DetectorState = initialState()): { kinds: string[]; state: DetectorState; details: string[] } {
  let state = start;
  const kinds: string[] = [];
  const details: string[] = [];
  inputs.forEach((input, index) => {
    const at = typeof input === 'object' && input.at !== undefined ? input.at : index * 1000;
    const out = step(state, reading(input), at, { deadTimeMs: 15_000, thresholds: [], ...config });
    state = out.state;
    for (const e of out.events) {
      kinds.push(e.kind + (e.threshold !== null ? `@${e.threshold}` : ''));
      details.push(e.detail);
    }
  });
  return { kinds, state, details };
}

describe('power events', () => {
  const cases: [string, Input[], string[], Partial<DetectorConfig>?][] = [
    ['steady on line power: nothing', ['OL', 'OL CHRG', 'OL'], []],
    ['OB appears: power_loss once', ['OL', 'OB DISCHRG', 'OB DISCHRG', 'OB'], ['power_loss']],
    ['OB -> OL: power_restored', ['OL', 'OB', 'OL CHRG'], ['power_loss', 'power_restored']],
    ['on battery at the first reading is a power loss', ['OB DISCHRG'], ['power_loss']],
    ['on line at the first reading is nothing', ['OL'], []],
    ['LB on battery: low_battery once', ['OL', 'OB', 'OB LB', 'OB LB'], ['power_loss', 'low_battery']],
    ['LB on line power is not an outage', ['OL LB', 'OL CHRG LB'], []],
    ['FSD counts as OB LB', ['OL', 'FSD'], ['power_loss', 'low_battery']],
    ['FSD after OB adds low_battery', ['OL', 'OB', 'FSD OB'], ['power_loss', 'low_battery']],
    ['WAIT decides nothing', ['WAIT', 'OL', 'WAIT', 'OL'], []],
    ['WAIT while on battery changes nothing', ['OL', 'OB', 'WAIT', 'OB'], ['power_loss']],
    ['unknown tokens are ignored', ['OL', 'OL BOGUS', 'OB XYZ', 'OL TRIM'], ['power_loss', 'power_restored']],
    ['a status with neither OL nor OB decides nothing', ['OL', 'BYPASS', 'OL'], []],
    [
      'charge thresholds: each once, highest first, in one outage',
      ['OL', { status: 'OB', charge: 60 }, { status: 'OB', charge: 45 }, { status: 'OB', charge: 15 }, { status: 'OB', charge: 14 }],
      ['power_loss', 'low_battery@50', 'low_battery@20'],
      { thresholds: [20, 50] },
    ],
    [
      'thresholds are armed again after the power comes back',
      ['OL', { status: 'OB', charge: 40 }, { status: 'OL', charge: 41 }, { status: 'OB', charge: 39 }],
      ['power_loss', 'low_battery@50', 'power_restored', 'power_loss', 'low_battery@50'],
      { thresholds: [50] },
    ],
    ['critical: charge at 10 %', ['OL', { status: 'OB', charge: 11 }, { status: 'OB', charge: 10 }, { status: 'OB', charge: 9 }], ['power_loss', 'critical_battery']],
    [
      'critical: runtime under battery.runtime.low',
      ['OL', { status: 'OB', charge: 50, runtime: 300, runtimeLow: 120 }, { status: 'OB', charge: 45, runtime: 100, runtimeLow: 120 }],
      ['power_loss', 'critical_battery'],
    ],
    ['a stale blip before OB is nothing', ['OL', 'ERR DATA-STALE', 'OB DISCHRG'], ['power_loss']],
    ['a stale blip after OB is nothing', ['OL', 'OB', 'ERR DATA-STALE', 'ERR DRIVER-NOT-CONNECTED', 'OB'], ['power_loss']],
    [
      'a stale blip while on line power, shorter than the dead time, is nothing',
      ['OL', { error: 'DATA-STALE', at: 2000 }, { error: 'DATA-STALE', at: 14_900 }, { status: 'OL', at: 15_500 }],
      [],
    ],
    [
      'lost for the dead time on line power: comm_lost, not critical; then comm_restored',
      ['OL', { error: 'connection refused', at: 5000 }, { error: 'connection refused', at: 16_000 }, { error: 'connection refused', at: 17_000 }, { status: 'OL', at: 20_000 }],
      ['comm_lost', 'comm_restored'],
    ],
    [
      'lost for the dead time while on battery: comm_lost and critical_battery',
      ['OL', 'OB', { error: 'DATA-STALE', at: 3000 }, { error: 'DATA-STALE', at: 15_999 }, { error: 'DATA-STALE', at: 16_000 }],
      ['power_loss', 'comm_lost', 'critical_battery'],
    ],
    [
      'the dead time counts from the last reading with data',
      ['OL', 'OB', { error: 'DRIVER-NOT-CONNECTED', at: 10_000 }, { error: 'DRIVER-NOT-CONNECTED', at: 16_000 }],
      ['power_loss', 'comm_lost', 'critical_battery'],
    ],
    [
      'back after a loss while on battery, now on line power',
      ['OB', { error: 'x', at: 1000 }, { error: 'x', at: 20_000 }, { status: 'OL', at: 21_000 }],
      ['power_loss', 'comm_lost', 'critical_battery', 'comm_restored', 'power_restored'],
    ],
    ['a short dead time', ['OL', { error: 'DATA-STALE', at: 1000 }, { error: 'DATA-STALE', at: 3100 }], ['comm_lost'], { deadTimeMs: 3000 }],
  ];

  it.each(cases)('%s', (_name, inputs, expected, config) => {
    expect(run(inputs, config).kinds).toEqual(expected);
  });

  it('events carry the status and readings they were seen with', () => {
    const out = step(initialState(), { ok: true, vars: { 'ups.status': 'OB DISCHRG', 'battery.charge': '87', 'battery.runtime': '1500' } }, 0, {
      deadTimeMs: 15_000,
      thresholds: [],
    });
    expect(out.events).toEqual([{ kind: 'power_loss', status: 'OB DISCHRG', charge: 87, runtime: 1500, threshold: null, detail: 'on battery at the first reading' }]);
  });

  it('the state survives JSON: a restarted watcher does not report an outage twice', () => {
    const before = run(['OL', 'OB', 'OB LB'], {}).state;
    const restored = restoreState(JSON.stringify(before));
    expect(run(['OB LB', 'OL'], {}, restored).kinds).toEqual(['power_restored']);
    expect(restoreState('not json').power).toBe('unknown');
    expect(restoreState('{"power":"sideways"}').power).toBe('unknown');
    expect(restoreState(null)).toEqual(initialState());
  });
});
