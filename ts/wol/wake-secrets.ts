// The secrets the wol role's wake entry point needs for a set of nodes (SecureOn passwords, Proxmox
// API tokens), read from mko's secrets store. They reach Ansible only as extra vars in the run's
// 0600 file, never the inventory; every wake (wake-node, wake-cluster, the wake_on_lan and startup
// rule actions, mko cluster startup) gets them here.
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import type { FleetNode } from '../fleet/index.js';
import { insecureWarning, proxmoxEndpoint } from '../proxmox/index.js';
import { getSecret } from '../secrets/index.js';
import { getWolSettings } from './settings.js';

/** What the role's module needs to start a VM through one Proxmox host. */
interface ProxmoxAccess {
  url: string;
  token_id: string;
  token_secret: string;
  ca_file?: string;
  validate_certs: boolean;
}

export interface WakeSecrets {
  /** Extra vars of the run: wol_wake_secureon, wol_wake_proxmox_api, wol_wake_blocked. */
  extraVars: Record<string, unknown>;
  /** The secret values, to blank out of the run's log. */
  secrets: string[];
}

/**
 * SecureOn passwords per hostname and API access per Proxmox host, for the nodes that need them. A
 * secret that cannot be read does not stop the others: that node's reason goes to the role
 * (wol_wake_blocked), which reports it as failed. Warns about a Proxmox host without TLS checks.
 */
export function wakeSecrets(db: Db, dataDir: string, nodes: FleetNode[], warn: (message: string) => void = () => {}): WakeSecrets {
  const secureon: Record<string, string> = {};
  const api: Record<string, ProxmoxAccess> = {};
  const blocked: Record<string, string> = {};
  for (const node of nodes) {
    const settings = getWolSettings(db, node.id);
    try {
      if (settings.method === 'ethernet' && settings.secureonSecret !== null) {
        secureon[node.hostname] = getSecret(dataDir, settings.secureonSecret, `the SecureOn password of ${node.hostname}`);
      }
      const host = node.proxmox.host;
      if (settings.method === 'proxmox' && host && !api[host]) {
        const endpoint = proxmoxEndpoint(db, dataDir, host);
        if (endpoint.insecure) warn(insecureWarning(endpoint.name));
        api[host] = {
          url: endpoint.url,
          token_id: endpoint.tokenId,
          token_secret: endpoint.tokenSecret,
          ...(endpoint.caFile ? { ca_file: endpoint.caFile } : {}),
          validate_certs: !endpoint.insecure,
        };
      }
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      blocked[node.hostname] = error.message;
    }
  }
  const extraVars: Record<string, unknown> = {};
  if (Object.keys(secureon).length > 0) extraVars['wol_wake_secureon'] = secureon;
  if (Object.keys(api).length > 0) extraVars['wol_wake_proxmox_api'] = api;
  if (Object.keys(blocked).length > 0) extraVars['wol_wake_blocked'] = blocked;
  return { extraVars, secrets: [...Object.values(secureon), ...Object.values(api).map((a) => a.token_secret)] };
}
