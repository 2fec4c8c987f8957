// Proxmox VE API endpoints (mko proxmox add|list|remove): the proxmox_hosts table. The token
// secret goes to the secrets file; the row keeps only its handle. The API itself is called by the
// wol role (mko.fleet.wake), with the access proxmoxEndpoint reads (ts/wol wakeSecrets).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ID_REF, refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { field, validate } from '../validate/index.js';
import { deleteSecrets, getSecret, withSecrets } from '../secrets/index.js';

export interface ProxmoxHost {
  id: number;
  name: string;
  /** https://host:8006 */
  url: string;
  tokenId: string;
  caFile: string | null;
  insecure: boolean;
  createdAt: string;
}

/** What a request needs: the host plus its token secret, read from the secrets file. */
export interface ProxmoxEndpoint extends ProxmoxHost {
  tokenSecret: string;
}

interface ProxmoxRow {
  id: number;
  name: string;
  url: string;
  token_id: string;
  token_secret: string;
  ca_file: string | null;
  insecure: number;
  created_at: string;
}

const toHost = (row: ProxmoxRow): ProxmoxHost => ({
  id: row.id,
  name: row.name,
  url: row.url,
  tokenId: row.token_id,
  caFile: row.ca_file,
  insecure: row.insecure === 1,
  createdAt: row.created_at,
});

export interface ProxmoxHostInput {
  name: string;
  url: string;
  tokenId: string;
  tokenSecret: string;
  caFile?: string;
  insecure?: boolean;
}

export const proxmoxFlags = { name: 'name', url: '--url', tokenId: '--token-id', tokenSecret: '--token-secret', caFile: '--ca-file', insecure: '--insecure' };

/** What `proxmox add` and POST /api/v1/proxmox take; the token secret is write-only. */
export const proxmoxHostInputSchema = {
  type: 'object',
  properties: {
    name: { ...field.hostname, hint: 'a name of letters, digits, hyphens and dots, e.g. pve1 (nodes name it with --proxmox-host)' },
    url: {
      type: 'string',
      pattern: '^https://[^/?#@\\s]+(:[0-9]{1,5})?/?$',
      noTemplate: true,
      printable: true,
      hint: 'the https URL of the Proxmox VE API without a path, e.g. https://pve1.lan:8006',
    },
    tokenId: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]*$',
      hint: 'an API token id USER@REALM!TOKENID, e.g. root@pam!mko',
    },
    // Checked before the schema, by a test that never echoes the value.
    tokenSecret: { type: 'string', writeOnly: true, description: 'the API token secret Proxmox showed once; never shown again' },
    caFile: { type: 'string', minLength: 1, noTemplate: true, printable: true, hint: "the PEM file of the CA that signed the API's certificate, e.g. /etc/pve/pve-root-ca.pem" },
    insecure: { type: 'boolean', hint: 'true or false (true turns TLS verification off)' },
  },
  required: ['name', 'url', 'tokenId', 'tokenSecret'],
  additionalProperties: false,
};

const TOKEN_SECRET = /^[A-Za-z0-9-]{8,128}$/;

/** Every check of `proxmox add` that needs no network; nothing is written before they all pass. */
function checkInput(db: Db, input: ProxmoxHostInput): { url: string; caFile: string | null } {
  // The value is never echoed: it is a secret even when it is malformed (so it is checked before
  // the schema, whose messages show the value).
  if (typeof input.tokenSecret !== 'string' || !TOKEN_SECRET.test(input.tokenSecret)) {
    throw new UserError('invalid --token-secret: must be the API token secret Proxmox showed once (a UUID like 3f2a…-…), 8 to 128 letters, digits and hyphens', 1, 'tokenSecret');
  }
  validate(proxmoxHostInputSchema, input, proxmoxFlags);
  refuseNumericName(input.name, 'proxmox host name');
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new UserError(`invalid --url ${quote(input.url)}: must be the https URL of the Proxmox VE API, e.g. https://pve1.lan:8006`, 1, 'url');
  }
  if (input.caFile && input.insecure) {
    throw new UserError('--ca-file and --insecure contradict each other: pin the CA with --ca-file (preferred) or pass --insecure alone', 1, 'insecure');
  }
  let caFile: string | null = null;
  if (input.caFile) {
    caFile = path.resolve(input.caFile);
    if (!existsSync(caFile)) throw new UserError(`--ca-file ${caFile} does not exist: copy /etc/pve/pve-root-ca.pem from a Proxmox node`, 1, 'caFile');
    if (!readFileSync(caFile, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
      throw new UserError(`--ca-file ${caFile} holds no PEM certificate: give the CA certificate, e.g. /etc/pve/pve-root-ca.pem`, 1, 'caFile');
    }
  }
  refuseTakenName(db, input.name);
  return { url: url.origin, caFile };
}

function refuseTakenName(db: Db, name: string): void {
  if (findProxmoxHost(db, name)) throw new UserError(`proxmox host ${name} already exists: remove it first (mko proxmox remove ${name})`);
}

export function addProxmoxHost(db: Db, dataDir: string, input: ProxmoxHostInput): ProxmoxHost {
  const checked = checkInput(db, input);
  return withSecrets(dataDir, (secrets) => {
    const handle = secrets.put('proxmox-token', input.tokenSecret);
    try {
      return writeTransaction(db, () => {
        // Again under the write lock: another `proxmox add` of the same name may have come first.
        refuseTakenName(db, input.name);
        const result = db
          .prepare(
            `INSERT INTO proxmox_hosts (name, url, token_id, token_secret, ca_file, insecure)
             VALUES (@name, @url, @tokenId, @handle, @caFile, @insecure)`,
          )
          .run({ name: input.name, url: checked.url, tokenId: input.tokenId, handle, caFile: checked.caFile, insecure: input.insecure ? 1 : 0 });
        return getProxmoxHost(db, Number(result.lastInsertRowid));
      });
    } catch (error) {
      secrets.delete(handle);
      throw error;
    }
  });
}

export function listProxmoxHosts(db: Db): ProxmoxHost[] {
  return (db.prepare('SELECT * FROM proxmox_hosts ORDER BY name').all() as ProxmoxRow[]).map(toHost);
}

/** By id or name, or by the host name in its URL (what a node's --proxmox-host may hold). */
export function findProxmoxHost(db: Db, ref: string | number): ProxmoxHost | undefined {
  const text = String(ref).toLowerCase();
  const rows = db.prepare('SELECT * FROM proxmox_hosts ORDER BY id').all() as ProxmoxRow[];
  const row =
    (ID_REF.test(text) ? rows.find((r) => String(r.id) === text) : rows.find((r) => r.name.toLowerCase() === text)) ??
    rows.find((r) => new URL(r.url).hostname.toLowerCase().replace(/^\[|\]$/g, '') === text);
  return row ? toHost(row) : undefined;
}

export function getProxmoxHost(db: Db, ref: string | number): ProxmoxHost {
  const host = findProxmoxHost(db, ref);
  if (!host) throw new UserError(`no proxmox host ${quote(String(ref))}: see mko proxmox list, add one with mko proxmox add`);
  return host;
}

/** The host with its token secret, for a request. */
export function proxmoxEndpoint(db: Db, dataDir: string, ref: string): ProxmoxEndpoint {
  const host = getProxmoxHost(db, ref);
  const row = db.prepare('SELECT token_secret FROM proxmox_hosts WHERE id = ?').get(host.id) as { token_secret: string };
  return { ...host, tokenSecret: getSecret(dataDir, row.token_secret, `proxmox host ${host.name}`) };
}

export function insecureWarning(name: string): string {
  return `TLS verification is OFF for Proxmox ${name} (--insecure): anyone on the network path can impersonate it and read its API token; pin its CA with --ca-file /etc/pve/pve-root-ca.pem instead`;
}

/** A node that is a VM on a Proxmox host: its Proxmox node and VM id, null until set (mko wol configure). */
export interface ProxmoxVm {
  hostname: string;
  proxmoxNode: string | null;
  vmid: number | null;
}

/** The nodes whose --proxmox-host names this host (by name or URL host), with their VM. */
export function vmsOn(db: Db, host: ProxmoxHost): ProxmoxVm[] {
  const names = [host.name.toLowerCase(), new URL(host.url).hostname.toLowerCase()];
  const rows = db
    .prepare('SELECT hostname, proxmox_host, proxmox_node, proxmox_vmid FROM nodes WHERE proxmox_host IS NOT NULL ORDER BY hostname')
    .all() as { hostname: string; proxmox_host: string; proxmox_node: string | null; proxmox_vmid: number | null }[];
  return rows
    .filter((r) => names.includes(r.proxmox_host.toLowerCase()))
    .map((r) => ({ hostname: r.hostname, proxmoxNode: r.proxmox_node, vmid: r.proxmox_vmid }));
}

/** Hostnames of the nodes whose --proxmox-host names this host (by name or URL host). */
export function nodesUsing(db: Db, host: ProxmoxHost): string[] {
  return vmsOn(db, host).map((vm) => vm.hostname);
}

/** The host, when it may be removed: nodes that still name it need --force. Checked before any confirmation. */
export function removableProxmoxHost(db: Db, ref: string, options: { force?: boolean } = {}): ProxmoxHost {
  const host = getProxmoxHost(db, ref);
  const users = nodesUsing(db, host);
  if (users.length > 0 && !options.force) {
    throw new UserError(`proxmox host ${host.name} is used by ${users.join(', ')}: point them elsewhere first, or pass --force`);
  }
  return host;
}

export function removeProxmoxHost(db: Db, dataDir: string, ref: string, options: { force?: boolean } = {}): ProxmoxHost {
  // Checked again inside the write lock: a node may have started to use it since the confirmation.
  const { host, handle } = writeTransaction(db, () => {
    const found = removableProxmoxHost(db, ref, options);
    const row = db.prepare('SELECT token_secret FROM proxmox_hosts WHERE id = ?').get(found.id) as { token_secret: string };
    db.prepare('DELETE FROM proxmox_hosts WHERE id = ?').run(found.id);
    return { host: found, handle: row.token_secret };
  });
  deleteSecrets(dataDir, [handle]);
  return host;
}
