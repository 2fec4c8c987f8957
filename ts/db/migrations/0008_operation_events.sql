-- What the mko.fleet.history callback records of every run, mko's and plain ansible-playbook's
-- alike: per-task progress events, per-host failure messages, the playbook's set_stats data, and
-- what a retry needs (the mko command line, the working directory, the operation it retries).

-- One row per step of a run, in the order the callback saw them (seq counts from 1 per operation).
CREATE TABLE operation_events (
  operation_id INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  time         TEXT    NOT NULL,
  -- play_start, task_start, handler_start, host_result, retry, recap
  type         TEXT    NOT NULL,
  play         TEXT,
  task         TEXT,
  -- 1-based position of the task in its play, and the play's task count where known (tasks of
  -- dynamic includes are only known when they start: the count then grows)
  task_index   INTEGER,
  task_count   INTEGER,
  host         TEXT,
  -- host_result: ok, changed, failed, unreachable, skipped, ignored (a failure the task ignores);
  -- recap: the run's status
  status       TEXT,
  message      TEXT,
  -- retry: the attempt that just failed (until/retries)
  attempt      INTEGER,
  PRIMARY KEY (operation_id, seq)
) STRICT;

-- JSON object: host -> {"task", "status" (failed | unreachable), "message", "ignored"}: the
-- host's last failure, an ignored one only when nothing else failed
ALTER TABLE operations ADD COLUMN failures TEXT NOT NULL DEFAULT '{}';
-- JSON object: what the playbook reported with ansible.builtin.set_stats (per host, and "_run")
ALTER TABLE operations ADD COLUMN results TEXT NOT NULL DEFAULT '{}';
-- JSON array: the mko command line that started the run (without --db; mko reads secrets from
-- its store, never from the command line), NULL when it cannot be re-run that way
ALTER TABLE operations ADD COLUMN command TEXT;
-- the working directory of ansible-playbook (relative paths in args resolve against it)
ALTER TABLE operations ADD COLUMN cwd TEXT;
-- the operation this one re-runs (mko operation retry)
ALTER TABLE operations ADD COLUMN retry_of INTEGER REFERENCES operations (id) ON DELETE SET NULL;
CREATE INDEX operations_retry_of ON operations (retry_of);
