import { UserError } from '../errors.js';
import type { Db } from './open.js';

/** A reference made of digits only: it names an id, never a name. */
export const ID_REF = /^\d+$/;

/**
 * The row a user's reference names: digits are an id, anything else a name. No name is made of
 * digits only (refuseNumericName, at input), so a reference never means two rows.
 * `select` is a SELECT ... FROM ... without WHERE; `id` and `name` are its qualified columns.
 */
export function findByRef<Row>(db: Db, select: string, columns: { id: string; name: string }, ref: string | number): Row | undefined {
  const text = String(ref);
  return (
    ID_REF.test(text) ? db.prepare(`${select} WHERE ${columns.id} = ?`).get(Number(text)) : db.prepare(`${select} WHERE ${columns.name} = ?`).get(text)
  ) as Row | undefined;
}

/** Names are what a user types where an id could go too, so a name of digits only is refused. */
export function refuseNumericName(name: string, flag: string): void {
  if (ID_REF.test(name)) throw new UserError(`invalid ${flag} "${name}": must not be digits only, since a plain number names an id (add a letter, e.g. "n${name}")`);
}
