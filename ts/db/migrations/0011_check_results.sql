-- mko doctor: every check result of a run, kept with the run's operation, so that `mko operation
-- show` and the API give a finished run's results back. A node's results go with the operation.

CREATE TABLE check_results (
  id           INTEGER PRIMARY KEY,
  operation_id INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  -- the result's place in the run's list, so it reads back in the order it was reported
  position     INTEGER NOT NULL,
  check_id     TEXT    NOT NULL,
  scope        TEXT    NOT NULL CHECK (scope IN ('node', 'cluster')),
  subject      TEXT    NOT NULL,
  severity     TEXT    NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  status       TEXT    NOT NULL CHECK (status IN ('pass', 'warn', 'fail', 'unknown')),
  summary      TEXT    NOT NULL,
  evidence     TEXT    NOT NULL,
  fix          TEXT,
  cheap        INTEGER NOT NULL CHECK (cheap IN (0, 1)),
  UNIQUE (operation_id, position)
) STRICT;
