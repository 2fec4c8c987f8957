-- The last MicroK8s status read from each node (mko cluster status). One row per node: the
-- newest reading replaces the previous one; the operation that read it is kept for the log.

CREATE TABLE node_status (
  node_id       INTEGER PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
  checked_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  operation_id  INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  reachable     INTEGER NOT NULL CHECK (reachable IN (0, 1)),
  installed     INTEGER CHECK (installed IN (0, 1)),
  running       INTEGER CHECK (running IN (0, 1)),
  ready         INTEGER CHECK (ready IN (0, 1)),
  version       TEXT,
  channel       TEXT,
  held          INTEGER CHECK (held IN (0, 1)),
  -- voter | standby | spare | worker | none
  ha_role       TEXT,
  ha            INTEGER CHECK (ha IN (0, 1)),
  -- JSON array of enabled addon names
  addons        TEXT    NOT NULL DEFAULT '[]',
  -- why the node could not be read, when it could not
  problem       TEXT
) STRICT;
