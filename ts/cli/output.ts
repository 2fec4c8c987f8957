import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { quote, UserError } from '../errors.js';

/** Control characters but newline and tab (C0, DEL, C1): a terminal would act on them. */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (c: string): string => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/**
 * Text made safe to show on a terminal: control characters (ESC, CSI, carriage return...) as
 * visible escapes like \x1b, so a stored value or a node's output cannot move the cursor, recolour
 * or rewrite the screen. `oneLine` escapes newlines and tabs too (table cells, key/value pairs).
 */
export function terminalText(text: string, options: { oneLine?: boolean } = {}): string {
  return text.replace(options.oneLine ? ANY_CONTROL : TERMINAL_CONTROL, escape);
}

const shownCell = (value: unknown): string => (value === null || value === undefined || value === '' ? '-' : terminalText(String(value), { oneLine: true }));

/** Aligned plain-text table. Cells are stringified; null and undefined print as "-". */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((row) => row.map(shownCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]): string =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Key/value block for `show` commands. */
export function details(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${shownCell(v)}`)
    .join('\n');
}

export function print(text: string): void {
  const safe = terminalText(text);
  process.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

export function printJson(value: unknown): void {
  // JSON.stringify escapes C0 controls itself; DEL and C1 (CSI is \u009b) it leaves raw.
  print(JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * Write a file the user named with `flag` (-o): atomically (a temporary file in the same folder,
 * renamed over it, removed again on failure), and never by creating folders.
 */
export function writeOutputFile(target: string, text: string, flag: string, options: { mode?: number } = {}): string {
  if (target.trim() === '') throw new UserError(`${flag} is empty: name the file to write, e.g. ${flag} out.yml`);
  const file = path.resolve(target);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UserError(`${flag} ${quote(target)} is a folder: name a file in it, e.g. ${flag} ${path.join(target, 'out.yml')}`);
  const dir = path.dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${flag} ${quote(target)}: the folder ${quote(dir)} does not exist: create it first, or write elsewhere`);
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    writeFileSync(temp, text, { mode: options.mode ?? 0o644, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EEXIST' || code === 'ENOSPC' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new UserError(`${flag} ${quote(target)}: cannot write it (${code}): choose another file`);
    }
    throw error;
  }
  return file;
}
