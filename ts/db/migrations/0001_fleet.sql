-- Fleet state: clusters, nodes and the history of every operation.
-- Later capabilities (hardware, UPS, power rules) add their own numbered migrations.

CREATE TABLE clusters (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT    NOT NULL DEFAULT '',
  channel     TEXT    NOT NULL DEFAULT '1.31/stable',
  -- JSON array of {"name": "dns", "args": "10.0.0.1"}; args may be empty
  addons      TEXT    NOT NULL DEFAULT '[]',
  ha          INTEGER NOT NULL DEFAULT 1 CHECK (ha IN (0, 1)),
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
  priority    INTEGER NOT NULL DEFAULT 100,
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- At most one default cluster.
CREATE UNIQUE INDEX clusters_single_default ON clusters (is_default) WHERE is_default = 1;

CREATE TABLE nodes (
  id                  INTEGER PRIMARY KEY,
  hostname            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  address             TEXT    NOT NULL,
  ssh_user            TEXT    NOT NULL,
  ssh_port            INTEGER NOT NULL DEFAULT 22 CHECK (ssh_port BETWEEN 1 AND 65535),
  role                TEXT    NOT NULL DEFAULT 'worker' CHECK (role IN ('control-plane', 'worker')),
  cluster_id          INTEGER REFERENCES clusters (id) ON DELETE RESTRICT,
  -- JSON object of string labels
  labels              TEXT    NOT NULL DEFAULT '{}',
  ssh_key_path        TEXT,
  ssh_key_type        TEXT    CHECK (ssh_key_type IN ('ed25519', 'rsa')),
  ssh_key_fingerprint TEXT,
  ssh_key_status      TEXT    NOT NULL DEFAULT 'generated'
                              CHECK (ssh_key_status IN ('generated', 'deployed', 'verified', 'failed')),
  ssh_tested_at       TEXT,
  ssh_test_result     TEXT,
  wol_mac             TEXT,
  wol_broadcast       TEXT,
  wol_port            INTEGER NOT NULL DEFAULT 9 CHECK (wol_port BETWEEN 1 AND 65535),
  wol_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (wol_enabled IN (0, 1)),
  proxmox_host        TEXT,
  proxmox_node        TEXT,
  proxmox_vmid        INTEGER CHECK (proxmox_vmid IS NULL OR proxmox_vmid BETWEEN 100 AND 999999999),
  created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX nodes_cluster ON nodes (cluster_id);

CREATE TABLE operations (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  target       TEXT    NOT NULL DEFAULT '',
  playbook     TEXT,
  -- JSON array of the command line, secrets replaced by "<redacted>"
  args         TEXT    NOT NULL DEFAULT '[]',
  -- 'mko' when started by the mko runner, 'ansible' when recorded by the callback plugin
  source       TEXT    NOT NULL DEFAULT 'mko' CHECK (source IN ('mko', 'ansible')),
  status       TEXT    NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  exit_code    INTEGER,
  exit_meaning TEXT,
  -- process that owns a running operation, so a crash can be told from a run still going
  pid          INTEGER,
  started_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at  TEXT,
  -- JSON object: host -> {ok, changed, unreachable, failed, skipped, rescued, ignored}
  recap        TEXT    NOT NULL DEFAULT '{}',
  log          TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX operations_status ON operations (status);
CREATE INDEX operations_started ON operations (started_at);
