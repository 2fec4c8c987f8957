-- Auto-sleep (mko sleep): settings per cluster with per-node overrides, and which entries of the
-- nodes' own sleep journals mko has recorded as operations.

-- One row per cluster (cluster_id) or per node (node_id). NULL in a column: inherit (node from its
-- cluster, cluster from mko's defaults in ts/sleep/settings.ts).
CREATE TABLE sleep_settings (
  id                   INTEGER PRIMARY KEY,
  cluster_id           INTEGER UNIQUE REFERENCES clusters (id) ON DELETE CASCADE,
  node_id              INTEGER UNIQUE REFERENCES nodes (id) ON DELETE CASCADE,
  sleepable            INTEGER CHECK (sleepable IN (0, 1)),
  timeout              INTEGER CHECK (timeout >= 1),
  interval             INTEGER CHECK (interval >= 1),
  cpu_load             REAL    CHECK (cpu_load > 0),
  net_bytes_per_second INTEGER CHECK (net_bytes_per_second >= 0),
  -- JSON array of namespace names
  excluded_namespaces  TEXT,
  action               TEXT    CHECK (action IN ('suspend', 'poweroff')),
  drain                INTEGER CHECK (drain IN (0, 1)),
  drain_timeout        INTEGER CHECK (drain_timeout >= 1),
  grace                INTEGER CHECK (grace >= 0),
  hooks_dir            TEXT,
  -- JSON array of argv arrays
  commands             TEXT,
  updated_at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK ((cluster_id IS NULL) <> (node_id IS NULL))
) STRICT;

-- An entry of a node's journal (/var/lib/mko/autosleep/journal.jsonl) that mko has seen, and the
-- operation it became (NULL for entries of mko's own runs, which are operations already).
CREATE TABLE sleep_journal (
  node_id      INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  entry_id     TEXT    NOT NULL,
  at           TEXT    NOT NULL,
  outcome      TEXT    NOT NULL,
  operation_id INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  PRIMARY KEY (node_id, entry_id)
) STRICT;
