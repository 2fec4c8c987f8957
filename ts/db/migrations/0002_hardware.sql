-- Hardware reports: every report collected from a node is kept, so a node's history can be
-- compared over time. A node's reports go with it; an operation's removal keeps its reports.

CREATE TABLE hardware_reports (
  id           INTEGER PRIMARY KEY,
  node_id      INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  -- when the node took the reading (from the report, normalised to UTC ISO 8601)
  collected_at TEXT    NOT NULL,
  stored_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  operation_id INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  -- the report as the node sent it (schema 1, validated before it is stored)
  report       TEXT    NOT NULL CHECK (json_valid(report))
) STRICT;

CREATE INDEX hardware_reports_node_collected ON hardware_reports (node_id, collected_at);
