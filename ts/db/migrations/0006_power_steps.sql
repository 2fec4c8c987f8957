-- The power sequence of every cluster shutdown and startup (playbooks/shutdown.yml and startup.yml,
-- run by ts/cluster/power.ts): one row per run, linked to the operation that ran it, and one row per
-- node saying what happened to it and when. Times are the controller's clock (ISO 8601 UTC): a node
-- is "off" when the controller no longer reaches its SSH port, "up" when it answers again.

CREATE TABLE cluster_power_runs (
  operation_id   INTEGER PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
  cluster_id     INTEGER REFERENCES clusters (id) ON DELETE SET NULL,
  kind           TEXT    NOT NULL CHECK (kind IN ('shutdown', 'startup')),
  -- shutdown only: graceful (backup, cordon, drain first) or force
  mode           TEXT    CHECK (mode IS NULL OR mode IN ('graceful', 'force')),
  -- run in Ansible's check mode: the rows say what would have happened
  check_mode     INTEGER NOT NULL DEFAULT 0 CHECK (check_mode IN (0, 1)),
  began_at       TEXT,
  finished_at    TEXT,
  -- startup: when every node was Ready, and how many seconds after began_at (NULL: not Ready)
  ready_at       TEXT,
  ready_seconds  REAL,
  -- the control plane node that ran kubectl (and took the backup)
  kubectl_host   TEXT,
  -- shutdown: the datastore backup on kubectl_host, or why there is none
  backup_file    TEXT,
  backup_detail  TEXT    NOT NULL DEFAULT '',
  drain_timeout  INTEGER,
  -- startup: the datastore voters once the control plane ran (JSON array of addresses)
  voters         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(voters))
) STRICT;

CREATE TABLE cluster_power_steps (
  id              INTEGER PRIMARY KEY,
  operation_id    INTEGER NOT NULL REFERENCES cluster_power_runs (operation_id) ON DELETE CASCADE,
  node_id         INTEGER REFERENCES nodes (id) ON DELETE SET NULL,
  hostname        TEXT    NOT NULL,
  -- shutdown: the step it went in, 1 first (the nodes of one step go together); NULL when nothing
  -- was done to it (already off). Startup: 1 control plane, 2 workers.
  step            INTEGER,
  -- worker, standby, voter, control-plane, ups-host
  part            TEXT    NOT NULL DEFAULT '',
  datastore_role  TEXT    NOT NULL DEFAULT '',
  ups_host        INTEGER NOT NULL DEFAULT 0 CHECK (ups_host IN (0, 1)),
  -- e.g. powered off, already off, would power off, still up; powered on, already up, did not come up
  outcome         TEXT    NOT NULL,
  -- shutdown: stop requested; startup: asked to power on
  requested_at    TEXT,
  -- shutdown: powered off (SSH port closed); startup: SSH answered
  done_at         TEXT,
  -- startup: how it was powered on (wol, proxmox, power, none)
  method          TEXT    NOT NULL DEFAULT '',
  microk8s        TEXT    NOT NULL DEFAULT '',
  drain           TEXT    NOT NULL DEFAULT '',
  cordoned        INTEGER NOT NULL DEFAULT 0 CHECK (cordoned IN (0, 1)),
  -- startup: Ready in the cluster's view at the end
  ready           INTEGER CHECK (ready IS NULL OR ready IN (0, 1)),
  detail          TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX cluster_power_steps_operation ON cluster_power_steps (operation_id, step);
