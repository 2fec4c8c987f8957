-- The web UI and REST API (mko web): API tokens and the browser sessions made from them.

-- A token is shown once, when it is made; only its SHA-256 is kept. scope: read < operate < admin.
CREATE TABLE web_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
  token_hash TEXT NOT NULL UNIQUE,
  -- the first characters of the token, so a user can tell tokens apart in a list
  prefix TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  last_used_at TEXT,
  revoked_at TEXT
) STRICT;

-- A browser session: the cookie holds a random id, stored hashed; the CSRF token is per session.
CREATE TABLE web_sessions (
  id_hash TEXT PRIMARY KEY,
  token_id INTEGER NOT NULL REFERENCES web_tokens(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX web_sessions_token ON web_sessions(token_id);
