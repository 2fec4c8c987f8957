// Row shapes and mappers for the fleet tables, free of validation code so that the inventory
// script can load them without paying for ajv at start-up.

export interface Addon {
  name: string;
  args: string;
}

export interface Cluster {
  id: number;
  name: string;
  description: string;
  channel: string;
  addons: Addon[];
  ha: boolean;
  active: boolean;
  isDefault: boolean;
  priority: number;
  nodeCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface ClusterRow {
  id: number;
  name: string;
  description: string;
  channel: string;
  addons: string;
  ha: number;
  active: number;
  is_default: number;
  priority: number;
  node_count: number;
  created_at: string;
  updated_at: string;
}

export const SELECT_CLUSTERS = `
  SELECT c.*, (SELECT count(*) FROM nodes n WHERE n.cluster_id = c.id) AS node_count
  FROM clusters c`;

export function toCluster(row: ClusterRow): Cluster {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    channel: row.channel,
    addons: JSON.parse(row.addons) as Addon[],
    ha: row.ha === 1,
    active: row.active === 1,
    isDefault: row.is_default === 1,
    priority: row.priority,
    nodeCount: row.node_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type NodeRole = 'control-plane' | 'worker';
export type KeyStatus = 'generated' | 'deployed' | 'verified' | 'failed';

export interface FleetNode {
  id: number;
  hostname: string;
  address: string;
  sshUser: string;
  sshPort: number;
  role: NodeRole;
  clusterId: number | null;
  cluster: string | null;
  labels: Record<string, string>;
  sshKeyPath: string | null;
  sshKeyType: 'ed25519' | 'rsa' | null;
  sshKeyFingerprint: string | null;
  sshKeyStatus: KeyStatus;
  sshTestedAt: string | null;
  sshTestResult: string | null;
  wol: { mac: string | null; broadcast: string | null; port: number; enabled: boolean };
  proxmox: { host: string | null; node: string | null; vmid: number | null };
  createdAt: string;
  updatedAt: string;
}

export interface NodeRow {
  id: number;
  hostname: string;
  address: string;
  ssh_user: string;
  ssh_port: number;
  role: NodeRole;
  cluster_id: number | null;
  cluster_name: string | null;
  labels: string;
  ssh_key_path: string | null;
  ssh_key_type: 'ed25519' | 'rsa' | null;
  ssh_key_fingerprint: string | null;
  ssh_key_status: KeyStatus;
  ssh_tested_at: string | null;
  ssh_test_result: string | null;
  wol_mac: string | null;
  wol_broadcast: string | null;
  wol_port: number;
  wol_enabled: number;
  proxmox_host: string | null;
  proxmox_node: string | null;
  proxmox_vmid: number | null;
  created_at: string;
  updated_at: string;
}

export const SELECT_NODES = `
  SELECT n.*, c.name AS cluster_name
  FROM nodes n LEFT JOIN clusters c ON c.id = n.cluster_id`;

export function toNode(row: NodeRow): FleetNode {
  return {
    id: row.id,
    hostname: row.hostname,
    address: row.address,
    sshUser: row.ssh_user,
    sshPort: row.ssh_port,
    role: row.role,
    clusterId: row.cluster_id,
    cluster: row.cluster_name,
    labels: JSON.parse(row.labels) as Record<string, string>,
    sshKeyPath: row.ssh_key_path,
    sshKeyType: row.ssh_key_type,
    sshKeyFingerprint: row.ssh_key_fingerprint,
    sshKeyStatus: row.ssh_key_status,
    sshTestedAt: row.ssh_tested_at,
    sshTestResult: row.ssh_test_result,
    wol: { mac: row.wol_mac, broadcast: row.wol_broadcast, port: row.wol_port, enabled: row.wol_enabled === 1 },
    proxmox: { host: row.proxmox_host, node: row.proxmox_node, vmid: row.proxmox_vmid },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
