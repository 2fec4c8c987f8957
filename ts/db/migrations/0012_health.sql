-- Health history (mko health): the latest result of every cheap check per subject, the events
-- recorded when a check's status changes, and where those events are sent.
--
-- No secret is stored here: a webhook URL may carry a token, so it lives in the secrets file
-- (<data dir>/secrets/secrets.json, 0600 in a 0700 directory); url_secret holds only a handle,
-- url_shown the URL's origin alone (what lists and logs may show).

-- The latest result per (scope, subject, check), and since when it has had this status.
CREATE TABLE health_checks (
  scope         TEXT    NOT NULL CHECK (scope IN ('node', 'cluster')),
  -- the node's hostname (scope node) or the cluster's name (scope cluster); no foreign key: a
  -- result outlives a renamed or removed node until the next pass (mko health forgets it then)
  subject       TEXT    NOT NULL,
  check_id      TEXT    NOT NULL,
  severity      TEXT    NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  status        TEXT    NOT NULL CHECK (status IN ('pass', 'warn', 'fail', 'unknown')),
  summary       TEXT    NOT NULL,
  evidence      TEXT    NOT NULL DEFAULT '',
  fix           TEXT,
  -- when the check first reported this status (unchanged since)
  since         TEXT    NOT NULL,
  -- the last pass that reported it
  checked_at    TEXT    NOT NULL,
  operation_id  INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  PRIMARY KEY (scope, subject, check_id)
) STRICT;

-- A check changed status (from_status NULL: first seen, and not passing).
CREATE TABLE health_events (
  id            INTEGER PRIMARY KEY,
  at            TEXT    NOT NULL,
  scope         TEXT    NOT NULL CHECK (scope IN ('node', 'cluster')),
  subject       TEXT    NOT NULL,
  check_id      TEXT    NOT NULL,
  severity      TEXT    NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  from_status   TEXT    CHECK (from_status IS NULL OR from_status IN ('pass', 'warn', 'fail', 'unknown')),
  to_status     TEXT    NOT NULL CHECK (to_status IN ('pass', 'warn', 'fail', 'unknown')),
  summary       TEXT    NOT NULL,
  evidence      TEXT    NOT NULL DEFAULT '',
  fix           TEXT,
  operation_id  INTEGER REFERENCES operations (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX health_events_subject ON health_events (scope, subject, id);

-- Where events go: a command (argv, never a shell; the event as JSON on its stdin) or a webhook
-- (the event as JSON in a POST).
CREATE TABLE health_notifiers (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  kind         TEXT    NOT NULL CHECK (kind IN ('command', 'webhook')),
  -- command: JSON array, the program and its arguments
  argv         TEXT    CHECK (argv IS NULL OR json_valid(argv)),
  -- webhook: a handle into the secrets file, and the URL's origin
  url_secret   TEXT,
  url_shown    TEXT,
  -- seconds a delivery may take
  timeout      REAL    NOT NULL DEFAULT 30 CHECK (timeout > 0),
  enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK ((kind = 'command' AND argv IS NOT NULL AND url_secret IS NULL) OR (kind = 'webhook' AND argv IS NULL AND url_secret IS NOT NULL))
) STRICT;

-- Each attempt to send an event to a notifier, and how it went.
CREATE TABLE health_deliveries (
  id           INTEGER PRIMARY KEY,
  event_id     INTEGER NOT NULL REFERENCES health_events (id) ON DELETE CASCADE,
  notifier_id  INTEGER NOT NULL REFERENCES health_notifiers (id) ON DELETE CASCADE,
  at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
  detail       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX health_deliveries_event ON health_deliveries (event_id);
CREATE INDEX health_deliveries_notifier ON health_deliveries (notifier_id, id);
