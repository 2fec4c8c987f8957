// API tokens for `mko web`: made by `mko web token create`, shown once, stored as a SHA-256 only.
import { createHash, randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { field, validate } from '../validate/index.js';

export type Scope = 'read' | 'operate' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'operate', 'admin'];
const RANK: Record<Scope, number> = { read: 0, operate: 1, admin: 2 };

/** Whether a principal with scope `has` may do what needs `needs` (admin ⊇ operate ⊇ read). */
export const scopeAllows = (has: Scope, needs: Scope): boolean => RANK[has] >= RANK[needs];

export interface Token {
  id: number;
  name: string;
  scope: Scope;
  /** The token's first characters, e.g. `mko_3fQx`: enough to tell tokens apart, useless to log in. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface TokenRow {
  id: number;
  name: string;
  scope: Scope;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const toToken = (r: TokenRow): Token => ({
  id: r.id,
  name: r.name,
  scope: r.scope,
  prefix: r.prefix,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

const TOKEN_PREFIX = 'mko_';
const SHOWN_PREFIX = TOKEN_PREFIX.length + 4;

export const hashSecret = (text: string): string => createHash('sha256').update(text).digest('hex');

export const tokenSchema = {
  type: 'object',
  properties: {
    name: field.clusterName,
    scope: { type: 'string', enum: SCOPES, hint: 'read, operate or admin' },
  },
  required: ['name', 'scope'],
  additionalProperties: false,
};

/** Make a token; the plain text is returned here once and never again. */
export function createToken(db: Db, input: { name: string; scope: string }): { token: Token; secret: string } {
  const data = validate<{ name: string; scope: Scope }>(tokenSchema, input, { name: '--name', scope: '--scope' });
  refuseNumericName(data.name, '--name');
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return writeTransaction(db, () => {
    if (db.prepare('SELECT 1 FROM web_tokens WHERE name = ?').get(data.name)) {
      throw new UserError(`a token named ${data.name} already exists: pick another --name, or mko web token revoke ${data.name}`, 1, 'name');
    }
    const result = db
      .prepare('INSERT INTO web_tokens (name, scope, token_hash, prefix) VALUES (?, ?, ?, ?)')
      .run(data.name, data.scope, hashSecret(secret), secret.slice(0, SHOWN_PREFIX));
    return { token: getToken(db, Number(result.lastInsertRowid)), secret };
  });
}

export function listTokens(db: Db): Token[] {
  return (db.prepare('SELECT * FROM web_tokens ORDER BY id').all() as TokenRow[]).map(toToken);
}

function getToken(db: Db, id: number): Token {
  return toToken(db.prepare('SELECT * FROM web_tokens WHERE id = ?').get(id) as TokenRow);
}

function findToken(db: Db, ref: string): Token | undefined {
  const row = (/^\d+$/.test(ref)
    ? db.prepare('SELECT * FROM web_tokens WHERE id = ?').get(Number(ref))
    : db.prepare('SELECT * FROM web_tokens WHERE name = ?').get(ref)) as TokenRow | undefined;
  return row ? toToken(row) : undefined;
}

/** Revoke a token (by name or id): it stops working at once, with every session made from it. */
export function revokeToken(db: Db, ref: string): Token {
  return writeTransaction(db, () => {
    const token = findToken(db, ref);
    if (!token) throw new UserError(`no token ${quote(ref)}: see mko web token list`);
    if (token.revokedAt) throw new UserError(`token ${token.name} was already revoked at ${token.revokedAt}`);
    db.prepare("UPDATE web_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(token.id);
    db.prepare('DELETE FROM web_sessions WHERE token_id = ?').run(token.id);
    return getToken(db, token.id);
  });
}

/** Every API call checks its token: prepared once per database, not per request. */
const verifyStatements = new WeakMap<Db, { find: Statement; used: Statement }>();

/** The live token a presented secret is, or undefined. Marks it used (at most once a minute). */
export function verifyToken(db: Db, secret: string): Token | undefined {
  if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
  let s = verifyStatements.get(db);
  if (!s) {
    s = {
      find: db.prepare('SELECT * FROM web_tokens WHERE token_hash = ? AND revoked_at IS NULL'),
      used: db.prepare(
        `UPDATE web_tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ? AND (last_used_at IS NULL OR last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds'))`,
      ),
    };
    verifyStatements.set(db, s);
  }
  const row = s.find.get(hashSecret(secret)) as TokenRow | undefined;
  if (!row) return undefined;
  s.used.run(row.id);
  return toToken(row);
}

export const liveTokenCount = (db: Db): number =>
  (db.prepare('SELECT count(*) AS n FROM web_tokens WHERE revoked_at IS NULL').get() as { n: number }).n;
