// How often `mko health watch` runs its checks: a duration as people write it (90s, 5m, 1h30m),
// the same words the role's health_timer_interval takes (systemd also reads 5m and 1h).
import { quote, UserError } from '../errors.js';

const PART = /(\d{1,6})(h|m|s)/g;
const WHOLE = /^(\d{1,6}(h|m|s))+$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };

export const MIN_INTERVAL_MS = 10_000;
export const MAX_INTERVAL_MS = 86_400_000;

/** Milliseconds, or a UserError naming `flag` and the fix. */
export function parseInterval(text: string, flag = '--interval'): number {
  const fix = `must be a duration from 10s to 24h such as 30s, 5m or 1h30m`;
  if (!WHOLE.test(text)) throw new UserError(`invalid ${flag} ${quote(text)}: ${fix}`, 1, 'interval');
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) throw new UserError(`invalid ${flag} ${quote(text)}: ${fix}`, 1, 'interval');
  return ms;
}
