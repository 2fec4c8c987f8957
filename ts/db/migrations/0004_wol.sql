-- Wake-on-LAN and Proxmox: how each node is woken, what its NIC could do at the last role run,
-- its last wake; and the Proxmox VE API endpoints that virtual nodes are started through.
-- MAC, broadcast, port and the enabled flag stay on nodes (wol_*), as the inventory reads them.
--
-- No secret is stored here. SecureOn passwords and API token secrets live in the secrets file
-- (<data dir>/secrets/secrets.json, 0600 in a 0700 directory); the columns *_secret hold only an
-- opaque random handle into it. The database is read by the inventory script and the Ansible
-- callback, copied by migrations and dumped by tests; none of that must carry a secret.

CREATE TABLE node_wol (
  node_id                INTEGER PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
  -- ethernet: magic packet; proxmox: start the VM through the API; rtc: the node's RTC alarm
  method                 TEXT    NOT NULL DEFAULT 'ethernet' CHECK (method IN ('ethernet', 'proxmox', 'rtc')),
  secureon_secret        TEXT,
  -- What the wol role found on the node at its last run (mko wol enable|disable|collect-mac).
  nic_checked_at         TEXT,
  nic_operation_id       INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  nic_interface          TEXT,
  nic_supported          INTEGER CHECK (nic_supported IN (0, 1)),
  -- ethtool's "Wake-on:" after the run, e.g. g or d
  nic_wake_on            TEXT,
  -- link | netplan | networkmanager, or NULL when nothing is persisted
  nic_persistence        TEXT,
  nic_detail             TEXT,
  -- The last wake of this node.
  last_wake_at           TEXT,
  last_wake_result       TEXT    CHECK (last_wake_result IN ('woken', 'sent', 'already up', 'failed', 'skipped')),
  last_wake_detail       TEXT,
  last_wake_operation_id INTEGER REFERENCES operations (id) ON DELETE SET NULL,
  updated_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE proxmox_hosts (
  id           INTEGER PRIMARY KEY,
  -- what nodes.proxmox_host names (the URL's host name also matches)
  name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  -- https://host:8006, without /api2/json
  url          TEXT    NOT NULL,
  -- USER@REALM!TOKENID (not a secret: it names the token)
  token_id     TEXT    NOT NULL,
  token_secret TEXT    NOT NULL,
  -- PEM file with the CA that signed the API's certificate; NULL trusts the system CAs
  ca_file      TEXT,
  insecure     INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1)),
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  CHECK (NOT (insecure = 1 AND ca_file IS NOT NULL))
) STRICT;
