// The node_wol table (method, SecureOn handle, the NIC as last seen, the last wake), and the few
// Wake-on-LAN and Proxmox columns of nodes that `mko wol configure|enable|disable|collect-mac` set.
import type { Statement } from 'better-sqlite3';
import { writeTransaction, type Db } from '../db/index.js';

export const WOL_METHODS = ['ethernet', 'proxmox', 'rtc'] as const;
export type WolMethod = (typeof WOL_METHODS)[number];
export type WakeOutcome = 'woken' | 'sent' | 'already up' | 'failed' | 'skipped';

export interface NicState {
  checkedAt: string;
  operationId: number | null;
  interface: string | null;
  supported: boolean;
  wakeOn: string | null;
  persistence: string | null;
  detail: string;
}

export interface LastWake {
  at: string;
  result: WakeOutcome;
  detail: string;
  operationId: number | null;
}

export interface WolSettings {
  nodeId: number;
  method: WolMethod;
  /** Handle into the secrets file, never the password itself. */
  secureonSecret: string | null;
  nic: NicState | null;
  lastWake: LastWake | null;
}

interface WolRow {
  node_id: number;
  method: WolMethod;
  secureon_secret: string | null;
  nic_checked_at: string | null;
  nic_operation_id: number | null;
  nic_interface: string | null;
  nic_supported: number | null;
  nic_wake_on: string | null;
  nic_persistence: string | null;
  nic_detail: string | null;
  last_wake_at: string | null;
  last_wake_result: WakeOutcome | null;
  last_wake_detail: string | null;
  last_wake_operation_id: number | null;
}

function toSettings(nodeId: number, row: WolRow | undefined): WolSettings {
  if (!row) return { nodeId, method: 'ethernet', secureonSecret: null, nic: null, lastWake: null };
  return {
    nodeId,
    method: row.method,
    secureonSecret: row.secureon_secret,
    nic:
      row.nic_checked_at === null
        ? null
        : {
            checkedAt: row.nic_checked_at,
            operationId: row.nic_operation_id,
            interface: row.nic_interface,
            supported: row.nic_supported === 1,
            wakeOn: row.nic_wake_on,
            persistence: row.nic_persistence,
            detail: row.nic_detail ?? '',
          },
    lastWake:
      row.last_wake_at === null || row.last_wake_result === null
        ? null
        : { at: row.last_wake_at, result: row.last_wake_result, detail: row.last_wake_detail ?? '', operationId: row.last_wake_operation_id },
  };
}

interface Statements {
  get: Statement;
  ensure: Statement;
  config: Statement;
  nic: Statement;
  wake: Statement;
  nodeWol: Statement;
  nodeEnabled: Statement;
  nodeMac: Statement;
}

const statements = new WeakMap<Db, Statements>();
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

function prepared(db: Db): Statements {
  let s = statements.get(db);
  if (!s) {
    s = {
      get: db.prepare('SELECT * FROM node_wol WHERE node_id = ?'),
      ensure: db.prepare('INSERT INTO node_wol (node_id) VALUES (?) ON CONFLICT (node_id) DO NOTHING'),
      config: db.prepare(
        `UPDATE node_wol SET method = @method, secureon_secret = @secureonSecret, updated_at = ${NOW} WHERE node_id = @nodeId`,
      ),
      nic: db.prepare(
        `UPDATE node_wol SET nic_checked_at = @checkedAt, nic_operation_id = @operationId, nic_interface = @interface,
           nic_supported = @supported, nic_wake_on = @wakeOn, nic_persistence = @persistence, nic_detail = @detail,
           updated_at = ${NOW}
         WHERE node_id = @nodeId`,
      ),
      wake: db.prepare(
        `UPDATE node_wol SET last_wake_at = @at, last_wake_result = @result, last_wake_detail = @detail,
           last_wake_operation_id = @operationId, updated_at = ${NOW}
         WHERE node_id = @nodeId`,
      ),
      // nodes belongs to the fleet module; these statements touch only its wol_* and proxmox_*
      // columns, which the wol commands own the meaning of.
      nodeWol: db.prepare(
        `UPDATE nodes SET wol_mac = @mac, wol_broadcast = @broadcast, wol_port = @port,
           proxmox_host = @proxmoxHost, proxmox_node = @proxmoxNode, proxmox_vmid = @vmid, updated_at = ${NOW}
         WHERE id = @nodeId`,
      ),
      nodeEnabled: db.prepare(`UPDATE nodes SET wol_enabled = @enabled, updated_at = ${NOW} WHERE id = @nodeId AND wol_enabled != @enabled`),
      nodeMac: db.prepare(
        `UPDATE nodes SET wol_mac = @mac, wol_broadcast = coalesce(wol_broadcast, @broadcast), updated_at = ${NOW} WHERE id = @nodeId`,
      ),
    };
    statements.set(db, s);
  }
  return s;
}

export function getWolSettings(db: Db, nodeId: number): WolSettings {
  return toSettings(nodeId, prepared(db).get.get(nodeId) as WolRow | undefined);
}

export interface NodeWolColumns {
  mac: string | null;
  broadcast: string | null;
  port: number;
  proxmoxHost: string | null;
  proxmoxNode: string | null;
  vmid: number | null;
}

/**
 * Write a node's whole Wake-on-LAN configuration in one transaction. `secureonSecret` undefined
 * keeps the stored handle. Returns the handle stored before, read in the same transaction.
 */
export function saveWolConfig(
  db: Db,
  nodeId: number,
  columns: NodeWolColumns,
  config: { method: WolMethod; secureonSecret: string | null | undefined },
): string | null {
  const s = prepared(db);
  return writeTransaction(db, () => {
    const before = getWolSettings(db, nodeId).secureonSecret;
    s.nodeWol.run({ nodeId, ...columns });
    s.ensure.run(nodeId);
    s.config.run({ nodeId, method: config.method, secureonSecret: config.secureonSecret === undefined ? before : config.secureonSecret });
    return before;
  });
}

/** Set wol_enabled on nodes; returns how many changed. */
export function setWolEnabled(db: Db, nodeIds: number[], enabled: boolean): number {
  const s = prepared(db);
  return writeTransaction(db, () => nodeIds.reduce((n, nodeId) => n + s.nodeEnabled.run({ nodeId, enabled: enabled ? 1 : 0 }).changes, 0));
}

/** Record a MAC read from the node; the broadcast address is filled only where none is set. */
export function setCollectedMac(db: Db, nodeId: number, mac: string, broadcast: string | null): void {
  prepared(db).nodeMac.run({ nodeId, mac, broadcast });
}

export function recordNic(db: Db, nodeId: number, nic: NicState): void {
  const s = prepared(db);
  writeTransaction(db, () => {
    s.ensure.run(nodeId);
    s.nic.run({ nodeId, ...nic, supported: nic.supported ? 1 : 0 });
  });
}

export function recordWake(db: Db, nodeId: number, wake: LastWake): void {
  const s = prepared(db);
  writeTransaction(db, () => {
    s.ensure.run(nodeId);
    s.wake.run({ nodeId, ...wake });
  });
}

/** Every SecureOn handle a node still points at. */
export function secureOnHandles(db: Db): Set<string> {
  const rows = db.prepare('SELECT secureon_secret FROM node_wol WHERE secureon_secret IS NOT NULL').all() as { secureon_secret: string }[];
  return new Set(rows.map((r) => r.secureon_secret));
}
