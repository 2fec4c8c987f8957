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
