/** A problem the user can fix: printed as one line, no stack, exit code 1. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The input field the message is about (a property of the validated object), when one is. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The longest piece of user input an error line repeats; the rest is cut, so one line stays one line. */
export const QUOTE_LIMIT = 80;

/** User input as an error line shows it: JSON-quoted (control characters escaped), cut after QUOTE_LIMIT characters. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || (typeof value === 'number' && !Number.isFinite(value)) ? String(value) : JSON.stringify(value);
  const cut = [...text].length > QUOTE_LIMIT ? `${[...text].slice(0, QUOTE_LIMIT).join('')}…` : text;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}
