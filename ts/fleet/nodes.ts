import { findByRef, nodeSecretHandles, refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { deleteSecrets } from '../secrets/index.js';
import { field, validate } from '../validate/index.js';
import { findCluster, getCluster } from './clusters.js';
import { SELECT_NODES, toNode, type FleetNode, type KeyStatus, type NodeRole, type NodeRow } from './rows.js';

/** Everything a user may set on a node. */
export interface NodeInput {
  hostname: string;
  address: string;
  sshUser: string;
  sshPort?: number;
  role?: NodeRole;
  cluster?: string;
  labels?: Record<string, string>;
  wolMac?: string;
  wolBroadcast?: string;
  wolPort?: number;
  wolEnabled?: boolean;
  proxmoxHost?: string;
  proxmoxNode?: string;
  proxmoxVmid?: number;
}

export const nodeFlags = {
  hostname: '--hostname',
  address: '--ip',
  sshUser: '--user',
  sshPort: '--port',
  role: '--role',
  cluster: '--cluster',
  labels: '--label',
  wolMac: '--mac',
  wolBroadcast: '--wol-broadcast',
  wolPort: '--wol-port',
  wolEnabled: '--wol',
  proxmoxHost: '--proxmox-host',
  proxmoxNode: '--proxmox-node',
  proxmoxVmid: '--vmid',
};

export const nodeSchema = {
  type: 'object',
  properties: {
    hostname: field.hostname,
    address: field.address,
    sshUser: field.sshUser,
    sshPort: field.port,
    role: field.role,
    cluster: field.clusterName,
    labels: field.labels,
    wolMac: field.mac,
    wolBroadcast: field.ipv4,
    wolPort: field.port,
    wolEnabled: { type: 'boolean', hint: 'true or false' },
    proxmoxHost: field.host,
    proxmoxNode: field.hostname,
    proxmoxVmid: field.vmid,
  },
  required: ['hostname', 'address', 'sshUser'],
  additionalProperties: false,
};

/** Normalise a MAC written with '-' or capitals to aa:bb:cc:dd:ee:ff before validation. */
export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase().replace(/-/g, ':');
}

export function validateNodeInput(input: NodeInput): NodeInput {
  const candidate = input.wolMac ? { ...input, wolMac: normalizeMac(input.wolMac) } : input;
  const data = validate<NodeInput>(nodeSchema, candidate, nodeFlags);
  refuseNumericName(data.hostname, nodeFlags.hostname);
  return data;
}

export interface ListNodesFilter {
  cluster?: string;
  role?: NodeRole;
}

export function listNodes(db: Db, filter: ListNodesFilter = {}): FleetNode[] {
  const clusterId = filter.cluster ? getCluster(db, filter.cluster).id : null;
  const rows = db
    .prepare(
      `${SELECT_NODES}
       WHERE (@clusterId IS NULL OR n.cluster_id = @clusterId) AND (@role IS NULL OR n.role = @role)
       ORDER BY c.name IS NULL, c.name, n.role = 'worker', n.hostname`,
    )
    .all({ clusterId, role: filter.role ?? null }) as NodeRow[];
  return rows.map(toNode);
}

export function findNode(db: Db, ref: string | number): FleetNode | undefined {
  const row = findByRef<NodeRow>(db, SELECT_NODES, { id: 'n.id', name: 'n.hostname' }, ref);
  return row ? toNode(row) : undefined;
}

export function getNode(db: Db, ref: string | number): FleetNode {
  const node = findNode(db, ref);
  if (!node) throw new UserError(`no node ${quote(String(ref))}: see mko node list`);
  return node;
}

/** Checks that need the database: run before any side effect (key generation) happens. */
export function assertNodeInsertable(db: Db, input: NodeInput): void {
  if (findNodeByHostname(db, input.hostname)) {
    throw new UserError(`node ${input.hostname} already exists: choose another --hostname or remove it first`);
  }
  const sameAddress = db
    .prepare('SELECT hostname FROM nodes WHERE address = ? AND ssh_port = ?')
    .get(input.address, input.sshPort ?? 22) as { hostname: string } | undefined;
  if (sameAddress) {
    throw new UserError(`--ip ${input.address} is already used by node ${sameAddress.hostname}: each node needs its own address`);
  }
  if (input.cluster && !findCluster(db, input.cluster)) {
    throw new UserError(`--cluster ${quote(input.cluster)} does not exist: see mko cluster list`);
  }
}

function findNodeByHostname(db: Db, hostname: string): boolean {
  return db.prepare('SELECT 1 FROM nodes WHERE hostname = ?').get(hostname) !== undefined;
}

export interface KeyRecord {
  path: string;
  type: 'ed25519' | 'rsa';
  fingerprint: string;
  status: KeyStatus;
}

export function insertNode(db: Db, input: NodeInput, key: KeyRecord | null): FleetNode {
  return writeTransaction(db, () => {
    assertNodeInsertable(db, input);
    const clusterId = input.cluster ? getCluster(db, input.cluster).id : null;
    const result = db
      .prepare(
        `INSERT INTO nodes (hostname, address, ssh_user, ssh_port, role, cluster_id, labels,
           ssh_key_path, ssh_key_type, ssh_key_fingerprint, ssh_key_status,
           wol_mac, wol_broadcast, wol_port, wol_enabled, proxmox_host, proxmox_node, proxmox_vmid)
         VALUES (@hostname, @address, @sshUser, @sshPort, @role, @clusterId, @labels,
           @keyPath, @keyType, @keyFingerprint, @keyStatus,
           @wolMac, @wolBroadcast, @wolPort, @wolEnabled, @proxmoxHost, @proxmoxNode, @proxmoxVmid)`,
      )
      .run({
        hostname: input.hostname,
        address: input.address,
        sshUser: input.sshUser,
        sshPort: input.sshPort ?? 22,
        role: input.role ?? 'worker',
        clusterId,
        labels: JSON.stringify(input.labels ?? {}),
        keyPath: key?.path ?? null,
        keyType: key?.type ?? null,
        keyFingerprint: key?.fingerprint ?? null,
        keyStatus: key?.status ?? 'generated',
        wolMac: input.wolMac ?? null,
        wolBroadcast: input.wolBroadcast ?? null,
        wolPort: input.wolPort ?? 9,
        wolEnabled: input.wolEnabled ? 1 : 0,
        proxmoxHost: input.proxmoxHost ?? null,
        proxmoxNode: input.proxmoxNode ?? null,
        proxmoxVmid: input.proxmoxVmid ?? null,
      });
    return getNode(db, Number(result.lastInsertRowid));
  });
}

/**
 * Delete a node's row; its Wake-on-LAN settings and its UPS go with it (foreign keys). Returns the
 * secret handles those rows held, for deleteSecrets once the transaction is committed.
 */
export function deleteNodeRows(db: Db, id: number): string[] {
  return writeTransaction(db, () => {
    const handles = nodeSecretHandles(db, id);
    db.prepare('DELETE FROM nodes WHERE id = ?').run(id);
    return handles;
  });
}

/** Forget a node: its rows, then the secrets they held (SecureOn password, UPS passwords). */
export function deleteNode(db: Db, dataDir: string, id: number): void {
  deleteSecrets(dataDir, deleteNodeRows(db, id));
}

/** Put a node in a cluster with a role, or take it out (cluster null). */
export function assignNode(db: Db, nodeRef: string, clusterRef: string | null, role?: NodeRole): FleetNode {
  if (role !== undefined) validate(nodeSchema.properties.role, role, { '': '--role' });
  return writeTransaction(db, () => {
    const node = getNode(db, nodeRef);
    const clusterId = clusterRef === null ? null : getCluster(db, clusterRef).id;
    db.prepare(
      `UPDATE nodes SET cluster_id = @clusterId, role = @role, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE id = @id`,
    ).run({ id: node.id, clusterId, role: role ?? node.role });
    return getNode(db, node.id);
  });
}

/** What node update changes: how mko reaches the node, and its labels (Wake-on-LAN: wol configure). */
export interface NodeChanges {
  address?: string;
  sshUser?: string;
  sshPort?: number;
  labels?: Record<string, string>;
}

export const nodeUpdateSchema = {
  type: 'object',
  properties: { address: field.address, sshUser: field.sshUser, sshPort: field.port, labels: field.labels },
  additionalProperties: false,
};

/**
 * Change how mko reaches a node, or its labels. A node reached at another address, port or user
 * must prove its key works there again: a verified key goes back to deployed, its last test cleared.
 */
export function updateNode(db: Db, ref: string, changes: NodeChanges): FleetNode {
  const data = validate<NodeChanges>(nodeUpdateSchema, changes, nodeFlags);
  if (Object.keys(data).length === 0) throw new UserError('nothing to change: give --ip, --port, --user or --label');
  return writeTransaction(db, () => {
    const node = getNode(db, ref);
    const address = data.address ?? node.address;
    const sshPort = data.sshPort ?? node.sshPort;
    const clash = db.prepare('SELECT hostname FROM nodes WHERE address = ? AND ssh_port = ? AND id != ?').get(address, sshPort, node.id) as { hostname: string } | undefined;
    if (clash) throw new UserError(`--ip ${address} is already used by node ${clash.hostname}: each node needs its own address`, 1, 'address');
    const moved = address !== node.address || sshPort !== node.sshPort || (data.sshUser ?? node.sshUser) !== node.sshUser;
    db.prepare(
      `UPDATE nodes SET address = @address, ssh_port = @sshPort, ssh_user = @sshUser, labels = @labels,
         ssh_key_status = CASE WHEN @moved AND ssh_key_status = 'verified' THEN 'deployed' ELSE ssh_key_status END,
         ssh_tested_at = CASE WHEN @moved THEN NULL ELSE ssh_tested_at END,
         ssh_test_result = CASE WHEN @moved THEN NULL ELSE ssh_test_result END,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE id = @id`,
    ).run({ id: node.id, address, sshPort, sshUser: data.sshUser ?? node.sshUser, labels: JSON.stringify(data.labels ?? node.labels), moved: moved ? 1 : 0 });
    return getNode(db, node.id);
  });
}

export function updateNodeKey(db: Db, id: number, key: KeyRecord): void {
  db.prepare(
    `UPDATE nodes SET ssh_key_path = @path, ssh_key_type = @type, ssh_key_fingerprint = @fingerprint,
       ssh_key_status = @status, ssh_tested_at = NULL, ssh_test_result = NULL,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = @id`,
  ).run({ id, ...key });
}

export function recordSshTest(db: Db, id: number, status: KeyStatus, result: string): void {
  db.prepare(
    `UPDATE nodes SET ssh_key_status = @status, ssh_test_result = @result,
       ssh_tested_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE id = @id`,
  ).run({ id, status, result });
}

export function setKeyStatus(db: Db, id: number, status: KeyStatus): void {
  db.prepare(`UPDATE nodes SET ssh_key_status = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(status, id);
}
