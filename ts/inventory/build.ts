import path from 'node:path';
import type { Db } from '../db/index.js';
import { SELECT_CLUSTERS, SELECT_NODES, toCluster, toNode, type ClusterRow, type FleetNode, type NodeRow } from '../fleet/rows.js';
import { sleepHostVars } from '../sleep/settings.js';
import { clusterGroup, clusterRoleGroup, FLEET_GROUPS } from './groups.js';

export interface InventoryGroup {
  hosts: string[];
  children?: string[];
  vars?: Record<string, unknown>;
}

/** Ansible's inventory-script JSON: groups by name, plus _meta.hostvars. */
export interface Inventory {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: InventoryGroup | Inventory['_meta'];
}

/** Shell-quote one word, e.g. for ansible_ssh_common_args (Ansible splits it with shlex). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The known_hosts file mko's SSH uses for every node (host keys trusted on first contact, then pinned). */
export const knownHostsFile = (dataDir: string): string => path.join(dataDir, 'known_hosts');

/**
 * The ssh command line that logs in to a node as Ansible does (its known_hosts options, key, port
 * and user), quoted for a shell: what a printed fix starts with. `tty` adds -t, for a command that
 * prompts (sudo asking for the user's password).
 */
export function sshLogin(node: Pick<FleetNode, 'address' | 'sshUser' | 'sshPort' | 'sshKeyPath'>, dataDir: string, opts: { tty?: boolean } = {}): string {
  const words = ['ssh', ...(opts.tty ? ['-t'] : []), '-o', `UserKnownHostsFile=${knownHostsFile(dataDir)}`, '-o', 'StrictHostKeyChecking=accept-new'];
  if (node.sshKeyPath) words.push('-i', node.sshKeyPath);
  if (node.sshPort !== 22) words.push('-p', String(node.sshPort));
  words.push(`${node.sshUser}@${node.address}`);
  return words.map(shellWord).join(' ');
}

export function hostVars(node: FleetNode): Record<string, unknown> {
  const vars: Record<string, unknown> = {
    ansible_host: node.address,
    ansible_user: node.sshUser,
    ansible_port: node.sshPort,
  };
  if (node.sshKeyPath) vars['ansible_ssh_private_key_file'] = node.sshKeyPath;
  vars['mko_node_id'] = node.id;
  vars['mko_role'] = node.role;
  vars['mko_cluster'] = node.cluster;
  vars['mko_labels'] = node.labels;
  vars['mko_wol_enabled'] = node.wol.enabled;
  vars['mko_wol_mac'] = node.wol.mac;
  vars['mko_wol_broadcast'] = node.wol.broadcast;
  vars['mko_wol_port'] = node.wol.port;
  // How it is woken, and whether its NIC wants a SecureOn password (the password itself never is here).
  vars['mko_wol_method'] = 'ethernet';
  vars['mko_wol_secureon'] = false;
  vars['mko_virtual'] = node.proxmox.vmid !== null;
  vars['mko_proxmox_host'] = node.proxmox.host;
  vars['mko_proxmox_node'] = node.proxmox.node;
  vars['mko_proxmox_vmid'] = node.proxmox.vmid;
  return vars;
}

/**
 * The fleet as an Ansible inventory. Holds addresses, users, key paths and settings, never a
 * secret: private keys are referenced by path only.
 */
export function buildInventory(db: Db, options: { dataDir: string }): Inventory {
  const clusters = (db.prepare(`${SELECT_CLUSTERS} ORDER BY c.priority, c.name`).all() as ClusterRow[]).map(toCluster);
  const nodes = (db.prepare(`${SELECT_NODES} ORDER BY n.hostname`).all() as NodeRow[]).map(toNode);

  const groups: Record<string, InventoryGroup> = {};
  const fleet = Object.values(FLEET_GROUPS);
  for (const name of fleet) groups[name] = { hosts: [] };
  const clusterGroups: string[] = [];
  for (const cluster of clusters) {
    const group = clusterGroup(cluster.name);
    const cp = clusterRoleGroup(cluster.name, 'control-plane');
    const workers = clusterRoleGroup(cluster.name, 'worker');
    clusterGroups.push(group);
    groups[group] = {
      hosts: [],
      children: [cp, workers],
      vars: {
        mko_cluster_name: cluster.name,
        mko_microk8s_channel: cluster.channel,
        mko_microk8s_addons: cluster.addons,
        mko_ha: cluster.ha,
        mko_cluster_active: cluster.active,
      },
    };
    groups[cp] = { hosts: [] };
    groups[workers] = { hosts: [] };
  }

  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const node of nodes) {
    hostvars[node.hostname] = hostVars(node);
    const add = (group: string): void => {
      groups[group]?.hosts.push(node.hostname);
    };
    add(node.role === 'control-plane' ? FLEET_GROUPS.controlPlane : FLEET_GROUPS.workers);
    if (node.cluster) add(clusterRoleGroup(node.cluster, node.role));
    else add(FLEET_GROUPS.unassigned);
    if (node.wol.enabled) add(FLEET_GROUPS.wol);
    if (node.proxmox.vmid !== null) add(FLEET_GROUPS.virtual);
  }
  const wol = db
    .prepare('SELECT n.hostname, w.method, w.secureon_secret IS NOT NULL AS secureon FROM node_wol w JOIN nodes n ON n.id = w.node_id')
    .all() as { hostname: string; method: string; secureon: number }[];
  for (const row of wol) {
    const vars = hostvars[row.hostname];
    if (vars) Object.assign(vars, { mko_wol_method: row.method, mko_wol_secureon: row.secureon === 1 });
  }
  // Auto-sleep (mko sleep): each node's effective settings, for the autosleep role.
  for (const [hostname, settings] of sleepHostVars(db)) {
    const vars = hostvars[hostname];
    if (vars) vars['mko_sleep'] = settings;
  }
  // UPS hosts (mko ups add): in ups_hosts, with their UPS for the nut role (no passwords here).
  const upses = db
    .prepare(
      `SELECT u.name, u.driver, u.port, u.description, u.driver_options, u.upsd_port, u.primary_user, u.secondary_user, n.hostname
       FROM upses u JOIN nodes n ON n.id = u.node_id ORDER BY n.hostname`,
    )
    .all() as { name: string; driver: string; port: string; description: string; driver_options: string; upsd_port: number; primary_user: string; secondary_user: string; hostname: string }[];
  for (const ups of upses) {
    groups[FLEET_GROUPS.upsHosts]?.hosts.push(ups.hostname);
    const vars = hostvars[ups.hostname];
    if (vars) {
      vars['mko_ups'] = {
        name: ups.name,
        driver: ups.driver,
        port: ups.port,
        description: ups.description,
        driver_options: JSON.parse(ups.driver_options) as unknown,
        upsd_port: ups.upsd_port,
        primary_user: ups.primary_user,
        secondary_user: ups.secondary_user,
      };
    }
  }

  const knownHosts = knownHostsFile(options.dataDir);
  return {
    _meta: { hostvars },
    all: {
      hosts: [],
      children: [...clusterGroups, ...fleet],
      vars: {
        // Trust a node's host key on first contact, then refuse it if it ever changes.
        ansible_ssh_common_args: `-o UserKnownHostsFile=${shellWord(knownHosts)} -o StrictHostKeyChecking=accept-new`,
      },
    },
    ...groups,
  };
}
