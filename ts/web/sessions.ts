// Browser sessions of `mko web`: a token logs in once and the browser keeps an HttpOnly,
// SameSite=Strict cookie. The cookie is a random id stored hashed; each session has its CSRF token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { writeTransaction, type Db } from '../db/index.js';
import { hashSecret, verifyToken, type Token } from './tokens.js';

export const SESSION_COOKIE = 'mko_session';
export const SESSION_DAYS = 7;

export interface Session {
  token: Token;
  csrf: string;
}

/** Log in with a token: a new session id (for the cookie) and its CSRF token, or undefined. */
export function openSession(db: Db, secret: string): { id: string; session: Session } | undefined {
  const token = verifyToken(db, secret);
  if (!token) return undefined;
  const id = randomBytes(32).toString('base64url');
  const csrf = randomBytes(24).toString('base64url');
  writeTransaction(db, () => {
    db.prepare("DELETE FROM web_sessions WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").run();
    db.prepare(
      `INSERT INTO web_sessions (id_hash, token_id, csrf, expires_at)
       VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+${SESSION_DAYS} days'))`,
    ).run(hashSecret(id), token.id, csrf);
  });
  return { id, session: { token, csrf } };
}

/** Every page and API call looks its session up: prepared once per database, not per request. */
const findStatements = new WeakMap<Db, Statement>();

/** The live session a cookie names (its token not revoked, not expired), or undefined. */
export function findSession(db: Db, id: string): Session | undefined {
  let find = findStatements.get(db);
  if (!find) {
    find = db.prepare(
      `SELECT s.csrf, t.id, t.name, t.scope, t.prefix, t.created_at, t.last_used_at, t.revoked_at
       FROM web_sessions s JOIN web_tokens t ON t.id = s.token_id
       WHERE s.id_hash = ? AND t.revoked_at IS NULL AND s.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    );
    findStatements.set(db, find);
  }
  const row = find.get(hashSecret(id)) as
    | { csrf: string; id: number; name: string; scope: Token['scope']; prefix: string; created_at: string; last_used_at: string | null; revoked_at: null }
    | undefined;
  if (!row) return undefined;
  return {
    csrf: row.csrf,
    token: { id: row.id, name: row.name, scope: row.scope, prefix: row.prefix, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: null },
  };
}

export function closeSession(db: Db, id: string): void {
  db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(hashSecret(id));
}

/** Compare a presented CSRF token with the session's without leaking where they differ. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
