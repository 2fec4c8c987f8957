import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { quote, UserError } from '../errors.js';

/** Aligned plain-text table. Cells are stringified; null and undefined print as "-". */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell))));
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
    .map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v === null || v === undefined || v === '' ? '-' : String(v)}`)
    .join('\n');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
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
