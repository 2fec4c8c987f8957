import type { Db } from './open.js';

/**
 * The row a user's reference names: an id or a name. A reference made of digits matches either,
 * the id first, so a thing whose name is a number can still be reached by that name.
 * `select` is a SELECT ... FROM ... without WHERE; `id` and `name` are its qualified columns.
 */
export function findByRef<Row>(db: Db, select: string, columns: { id: string; name: string }, ref: string | number): Row | undefined {
  const text = String(ref);
  return (
    /^\d+$/.test(text)
      ? db.prepare(`${select} WHERE ${columns.id} = ? OR ${columns.name} = ? ORDER BY ${columns.id} = ? DESC LIMIT 1`).get(Number(text), text, Number(text))
      : db.prepare(`${select} WHERE ${columns.name} = ?`).get(text)
  ) as Row | undefined;
}
