import type { Options, PositionalOptions } from 'yargs';
import { quote, UserError } from '../errors.js';

/** Plain decimal only: no hex (0x16), exponents (1e3), blanks, or the empty string that yargs gives a bare flag. */
const DECIMAL = /^-?\d{1,15}(\.\d{1,6})?$/;

/**
 * The one parser of every numeric option and argument: the text as typed, or a UserError naming
 * the option and showing the input. Ranges are the domain's to check (its schema has the hint).
 */
export function parseDecimal(value: unknown, flag: string, example = '10'): number {
  if (Array.isArray(value)) throw new UserError(`${flag} is given ${value.length} times: give it once`);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const text = typeof value === 'string' ? value : String(value);
  if (!DECIMAL.test(text)) {
    throw new UserError(text === '' ? `missing value for ${flag}: give a number, e.g. ${flag} ${example}` : `invalid ${flag} ${quote(text)}: must be a number in decimal digits, e.g. ${example}`);
  }
  return Number(text);
}

/**
 * A numeric option for yargs: read as a string (so yargs coerces nothing) and parsed by
 * parseDecimal; nargs 1 so that a negative number is taken as the value, not as a flag.
 */
export function decimalOption<O extends Omit<Options, 'type' | 'coerce'>>(name: string, options: O) {
  const example = /^\d+$/.test(String(options.defaultDescription ?? options.default)) ? String(options.defaultDescription ?? options.default) : undefined;
  return { ...options, type: 'string', nargs: 1, coerce: (value: unknown) => parseDecimal(value, `--${name}`, example) } as const;
}

/** The same for a positional argument, named as the usage line writes it (<id>). */
export function decimalPositional<O extends Omit<PositionalOptions, 'type' | 'coerce'>>(name: string, options: O) {
  return { ...options, type: 'string', coerce: (value: unknown) => parseDecimal(value, `<${name}>`) } as const;
}
