import { readSync } from 'node:fs';
import { isatty } from 'node:tty';
import { UserError } from '../errors.js';

/** How long `-` waits for the secret to arrive on a pipe whose writer is slow. */
const STDIN_WAIT_MS = 30_000;

/**
 * Standard input up to its end, read synchronously. fd 0 may be non-blocking (Node makes it so as
 * soon as anything touches process.stdin, and a parent can hand it over that way): readFileSync(0)
 * then throws EAGAIN when the writer has not written yet, which a loaded machine makes likely.
 */
function readStdin(flag: string): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(4096);
  const deadline = Date.now() + STDIN_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let read: number;
    try {
      read = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      if (Date.now() > deadline) throw new UserError(`${flag} -: nothing arrived on standard input in ${STDIN_WAIT_MS / 1000} s`);
      Atomics.wait(pause, 0, 0, 10);
      continue;
    }
    if (read === 0) return Buffer.concat(chunks).toString('utf8');
    chunks.push(Buffer.from(buffer.subarray(0, read)));
  }
}

/** A secret given as `-` is read from standard input, so it stays out of shell history and `ps`. */
export function secretArg(value: string, flag: string): string {
  if (value !== '-') return value;
  if (isatty(0)) throw new UserError(`${flag} -: pipe the secret in on standard input`);
  const text = readStdin(flag).split('\n')[0]?.trim() ?? '';
  if (!text) throw new UserError(`${flag} -: nothing on standard input`);
  return text;
}
