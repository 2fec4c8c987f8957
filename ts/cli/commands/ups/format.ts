// What the ups commands share: their argument type and how they show durations, charges and times.
import { validate } from '../../../validate/index.js';
import type { GlobalArgs } from '../../context.js';

export type Args<T> = GlobalArgs & T;

/** 1800 -> "30m 0s". */
export function duration(seconds: number | null): string | null {
  if (seconds === null) return null;
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

export const percent = (n: number | null): string | null => (n === null ? null : `${n}%`);
export const when = (iso: string | null): string | null => (iso ? iso.replace('T', ' ').slice(0, 19) : null);

const listOptions = {
  limit: { type: 'integer', minimum: 1, maximum: 100000, hint: 'a whole number from 1 to 100000' },
};

export function limitOf(value: number | undefined, fallback: number): number {
  const { limit } = validate<{ limit: number }>({ type: 'object', properties: listOptions }, { limit: value ?? fallback }, { limit: '--limit' });
  return limit;
}
