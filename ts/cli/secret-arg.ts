import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/** A secret given as `-` is read from standard input, so it stays out of shell history and `ps`. */
export function secretArg(value: string, flag: string): string {
  if (value !== '-') return value;
  if (process.stdin.isTTY) throw new UserError(`${flag} -: pipe the secret in on standard input`);
  const text = readFileSync(0, 'utf8').split('\n')[0]?.trim() ?? '';
  if (!text) throw new UserError(`${flag} -: nothing on standard input`);
  return text;
}
