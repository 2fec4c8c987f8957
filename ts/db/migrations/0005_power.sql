-- UPSes watched through NUT, what they reported (events and a sampled status history), the power
-- rules that act on a cluster when an event happens, and every action those rules started.
--
-- No secret is stored here: the upsmon passwords live in the secrets file (<data dir>/secrets/
-- secrets.json, 0600 in a 0700 directory); the *_secret columns hold only an opaque handle to them.

CREATE TABLE upses (
  id                 INTEGER PRIMARY KEY,
  -- the UPS's name in NUT: its ups.conf section, as in `upsc <name>@<host>`
  name               TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  -- the node that runs the driver and upsd (NUT primary); one UPS per node
  node_id            INTEGER NOT NULL UNIQUE REFERENCES nodes (id) ON DELETE CASCADE,
  driver             TEXT    NOT NULL DEFAULT 'usbhid-ups',
  -- the driver's port (auto, /dev/ttyS0, a .dev file for dummy-ups, ...)
  port               TEXT    NOT NULL DEFAULT 'auto',
  description        TEXT    NOT NULL DEFAULT '',
  -- JSON object of further ups.conf options for the driver, e.g. {"vendorid": "0463"}
  driver_options     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(driver_options)),
  upsd_port          INTEGER NOT NULL DEFAULT 3493 CHECK (upsd_port BETWEEN 1 AND 65535),
  -- the upsmon secondary account on this UPS's upsd (what the other nodes log in with)
  secondary_user     TEXT    NOT NULL DEFAULT 'upsmon_secondary',
  secondary_secret   TEXT,
  -- the upsmon primary account (mko generates its password)
  primary_user       TEXT    NOT NULL DEFAULT 'upsmon_primary',
  primary_secret     TEXT,
  created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- What the watcher detected (ts/power/detect.ts).
CREATE TABLE ups_events (
  id         INTEGER PRIMARY KEY,
  ups_id     INTEGER NOT NULL REFERENCES upses (id) ON DELETE CASCADE,
  kind       TEXT    NOT NULL CHECK (kind IN ('power_loss', 'low_battery', 'critical_battery', 'power_restored', 'comm_lost', 'comm_restored')),
  at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- ups.status and readings when it happened (the last known ones for comm_lost)
  status     TEXT,
  charge     REAL,
  runtime    REAL,
  -- low_battery: the charge threshold (%) crossed, or NULL when the UPS itself said LB
  threshold  INTEGER,
  detail     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX ups_events_ups ON ups_events (ups_id, id);

-- Status history: one sample per sampling period, plus every change of status or reachability.
CREATE TABLE ups_samples (
  id             INTEGER PRIMARY KEY,
  ups_id         INTEGER NOT NULL REFERENCES upses (id) ON DELETE CASCADE,
  at             TEXT    NOT NULL,
  -- NULL when upsd answered with data; else why not (DATA-STALE, DRIVER-NOT-CONNECTED, a connection error)
  error          TEXT,
  status         TEXT,
  charge         REAL,
  runtime        REAL,
  load           REAL,
  input_voltage  REAL
) STRICT;

CREATE INDEX ups_samples_ups_at ON ups_samples (ups_id, at);

-- The watcher's latest reading of each UPS and its detector's state, so that a restarted
-- watcher carries on where it stopped (an outage in progress is not reported twice).
CREATE TABLE ups_state (
  ups_id         INTEGER PRIMARY KEY REFERENCES upses (id) ON DELETE CASCADE,
  polled_at      TEXT    NOT NULL,
  -- last poll that returned data
  ok_at          TEXT,
  error          TEXT,
  status         TEXT,
  charge         REAL,
  runtime        REAL,
  load           REAL,
  input_voltage  REAL,
  detector       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detector))
) STRICT;

CREATE TABLE power_rules (
  id                 INTEGER PRIMARY KEY,
  name               TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  ups_id             INTEGER NOT NULL REFERENCES upses (id) ON DELETE CASCADE,
  cluster_id         INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  event              TEXT    NOT NULL CHECK (event IN ('power_loss', 'low_battery', 'critical_battery', 'power_restored', 'comm_lost', 'comm_restored')),
  action             TEXT    NOT NULL CHECK (action IN ('graceful_shutdown', 'force_shutdown', 'startup', 'wake_on_lan', 'scale_down', 'scale_up', 'notify')),
  -- low_battery: fire when the charge is at or under this many percent (NULL: when the UPS says LB)
  battery_threshold  INTEGER CHECK (battery_threshold IS NULL OR battery_threshold BETWEEN 0 AND 100),
  -- seconds between the event and the action; power coming back first cancels it
  action_delay       REAL    NOT NULL DEFAULT 0 CHECK (action_delay >= 0),
  -- larger runs first when several actions for one cluster are due together
  priority           INTEGER NOT NULL DEFAULT 0,
  enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  -- JSON: {"command": ..., "timeout": ...} for notify, {"workloads": [...]} for scale_*, {"drainTimeout": ...}
  options            TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  execution_count    INTEGER NOT NULL DEFAULT 0,
  last_run_at        TEXT,
  last_result        TEXT,
  created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Every action a rule started or scheduled, linked to the event that caused it and to the
-- operation that ran it. A pending action survives a watcher restart: its due time is here.
CREATE TABLE power_actions (
  id                     INTEGER PRIMARY KEY,
  rule_id                INTEGER NOT NULL REFERENCES power_rules (id) ON DELETE CASCADE,
  event_id               INTEGER NOT NULL REFERENCES ups_events (id) ON DELETE CASCADE,
  cluster_id             INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  action                 TEXT    NOT NULL,
  status                 TEXT    NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'expired', 'interrupted')),
  due_at                 TEXT    NOT NULL,
  created_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  started_at             TEXT,
  finished_at            TEXT,
  operation_id           INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  -- the event that cancelled it (power back before the delay ended)
  cancelled_by_event_id  INTEGER REFERENCES ups_events (id) ON DELETE SET NULL,
  detail                 TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX power_actions_status ON power_actions (status);
CREATE INDEX power_actions_rule ON power_actions (rule_id, id);

-- Replica counts of the workloads a scale_down rule scaled to zero, until scale_up restores them.
CREATE TABLE power_scaled_workloads (
  cluster_id  INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  namespace   TEXT    NOT NULL,
  kind        TEXT    NOT NULL CHECK (kind IN ('deployment', 'statefulset')),
  name        TEXT    NOT NULL,
  replicas    INTEGER NOT NULL CHECK (replicas >= 0),
  action_id   INTEGER REFERENCES power_actions (id) ON DELETE SET NULL,
  scaled_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (cluster_id, namespace, kind, name)
) STRICT;
