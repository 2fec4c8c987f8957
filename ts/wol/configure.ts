// mko wol configure: a node's MAC, broadcast address, port, method, SecureOn password and (for
// virtual nodes) its Proxmox VM. Everything is checked before anything is written.
import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getNode, normalizeMac, type FleetNode } from '../fleet/index.js';
import { getProxmoxHost } from '../proxmox/index.js';
import { field, validate } from '../validate/index.js';
import { withSecrets } from '../secrets/index.js';
import { getWolSettings, saveWolConfig, secureOnHandles, WOL_METHODS, type NodeWolColumns, type WolMethod } from './settings.js';

export interface WolConfigInput {
  mac?: string;
  broadcast?: string;
  /** A number, or the text the user typed (so a bad value is shown as typed). */
  port?: number | string;
  method?: string;
  /** SecureOn password as 4 or 6 hex bytes (aa:bb:cc:dd[:ee:ff]); null removes the stored one. */
  secureon?: string | null;
  proxmoxHost?: string;
  proxmoxNode?: string;
  vmid?: number | string;
}

/** A node's Wake-on-LAN configuration as it may be shown: whether a SecureOn password is set, never the password. */
export interface WolConfig {
  node: string;
  enabled: boolean;
  method: WolMethod;
  mac: string | null;
  broadcast: string | null;
  port: number;
  secureon: boolean;
  proxmox: { host: string | null; node: string | null; vmid: number | null };
}

export const configFlags = {
  mac: '--mac',
  broadcast: '--broadcast',
  port: '--port',
  method: '--method',
  proxmoxHost: '--proxmox-host',
  proxmoxNode: '--proxmox-node',
  vmid: '--vmid',
};

/** The settings `mko wol configure` takes besides the SecureOn password (checked on its own: never echoed). */
export const wolConfigSchema = {
  type: 'object',
  properties: {
    mac: field.mac,
    broadcast: { ...field.ipv4, hint: 'an IPv4 broadcast address, e.g. 192.168.1.255 (the subnet of the node)' },
    port: { ...field.port, hint: 'a UDP port from 1 to 65535 (Wake-on-LAN uses 9, sometimes 7)' },
    method: { type: 'string', enum: [...WOL_METHODS], hint: 'ethernet, proxmox or rtc' },
    proxmoxHost: field.host,
    proxmoxNode: { ...field.hostname, hint: 'the Proxmox node name that runs the VM, e.g. pve1' },
    vmid: field.vmid,
  },
  additionalProperties: false,
};

const SECUREON = /^[0-9a-f]{2}(:[0-9a-f]{2}){3}((:[0-9a-f]{2}){2})?$/;

/** "42" → 42, "0.5" → 0.5; anything else stays as typed, so an error can show it as typed. */
export function numberOrText<T extends number | string | undefined>(value: T): number | Exclude<T, number> {
  return (typeof value === 'string' && /^-?\d{1,12}(\.\d{1,6})?$/.test(value.trim()) ? Number(value.trim()) : value) as number | Exclude<T, number>;
}

export function normalizeSecureOn(text: string): string {
  return text.trim().toLowerCase().replace(/-/g, ':');
}

export function wolConfigOf(db: Db, node: FleetNode): WolConfig {
  const settings = getWolSettings(db, node.id);
  return {
    node: node.hostname,
    enabled: node.wol.enabled,
    method: settings.method,
    mac: node.wol.mac,
    broadcast: node.wol.broadcast,
    port: node.wol.port,
    secureon: settings.secureonSecret !== null,
    proxmox: { ...node.proxmox },
  };
}

export function configureWol(db: Db, dataDir: string, nodeRef: string, input: WolConfigInput): WolConfig {
  const node = getNode(db, nodeRef);
  const { secureon, ...plain } = input;
  const candidate = Object.fromEntries(
    Object.entries({
      ...plain,
      mac: plain.mac === undefined ? undefined : normalizeMac(plain.mac),
      port: numberOrText(plain.port),
      vmid: numberOrText(plain.vmid),
    }).filter(([, v]) => v !== undefined),
  );
  const checked = validate<Omit<WolConfigInput, 'secureon'> & { port?: number; vmid?: number; method?: WolMethod }>(wolConfigSchema, candidate, configFlags);
  let password: string | null | undefined = secureon;
  if (typeof secureon === 'string') {
    password = normalizeSecureOn(secureon);
    // Never echoed, even when malformed: it is meant to be a secret.
    if (!SECUREON.test(password)) throw new UserError('invalid --secureon: must be a SecureOn password of 4 or 6 bytes in hex, e.g. 01:02:03:04:05:06 (the value is not shown)', 1, 'secureon');
  }

  // Checked before the secrets are touched, then again on what is stored when it is written.
  planWolConfig(db, node, checked, password);
  return withSecrets(dataDir, (secrets) => {
    const handle = typeof password === 'string' ? secrets.put('wol-secureon', password) : password;
    let before: string | null;
    try {
      before = writeTransaction(db, () => {
        const { method, merged } = planWolConfig(db, getNode(db, node.id), checked, password);
        return saveWolConfig(db, node.id, merged, { method, secureonSecret: handle });
      });
    } catch (error) {
      secrets.delete(handle);
      throw error;
    }
    if (handle !== undefined && handle !== before) secrets.delete(before);
    secrets.prune('wol-secureon', secureOnHandles(db));
    return wolConfigOf(db, getNode(db, node.id));
  });
}

/** The method and node columns an input leaves a node with, or the UserError that forbids it. */
function planWolConfig(
  db: Db,
  node: FleetNode,
  checked: Omit<WolConfigInput, 'secureon'> & { port?: number; vmid?: number; method?: WolMethod },
  password: string | null | undefined,
): { method: WolMethod; merged: NodeWolColumns } {
  const method = checked.method ?? getWolSettings(db, node.id).method;
  const merged = {
    mac: checked.mac ?? node.wol.mac,
    broadcast: checked.broadcast ?? node.wol.broadcast,
    port: checked.port ?? node.wol.port,
    proxmoxHost: checked.proxmoxHost ?? node.proxmox.host,
    proxmoxNode: checked.proxmoxNode ?? node.proxmox.node,
    vmid: checked.vmid ?? node.proxmox.vmid,
  };
  if (method === 'proxmox') {
    const missing = [
      merged.proxmoxHost === null && '--proxmox-host',
      merged.proxmoxNode === null && '--proxmox-node',
      merged.vmid === null && '--vmid',
    ].filter(Boolean);
    if (missing.length > 0) throw new UserError(`--method proxmox needs ${missing.join(', ')} for ${node.hostname}`);
    getProxmoxHost(db, merged.proxmoxHost ?? '');
  }
  if (password && method === 'proxmox') throw new UserError(`--secureon is for magic packets: ${node.hostname} is started through Proxmox (--method proxmox)`);
  return { method, merged };
}
