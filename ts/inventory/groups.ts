import { createHash } from 'node:crypto';

const PLAIN_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/i;

/**
 * The Ansible group for a cluster. Plain names (letters, digits, single inner hyphens) map to
 * `cluster_<name with _>`, which never contains "__". Any other name gets a sanitised form plus
 * "__" and a hash of the name, so two clusters can never share a group and every group name is
 * a valid Ansible identifier.
 */
export function clusterGroup(name: string): string {
  const lower = name.toLowerCase();
  if (PLAIN_NAME.test(lower)) return `cluster_${lower.replace(/-/g, '_')}`;
  const slug = lower.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'x';
  const hash = createHash('sha256').update(lower).digest('hex').slice(0, 12);
  return `cluster_${slug}__${hash}`;
}

/** Role groups of one cluster: `<cluster group>__control_plane` and `<cluster group>__workers`. */
export function clusterRoleGroup(name: string, role: 'control-plane' | 'worker'): string {
  return `${clusterGroup(name)}__${role === 'control-plane' ? 'control_plane' : 'workers'}`;
}

/** Fleet-wide groups every inventory has, even when empty. */
export const FLEET_GROUPS = {
  controlPlane: 'control_plane',
  workers: 'workers',
  wol: 'wol',
  virtual: 'virtual',
  upsHosts: 'ups_hosts',
  unassigned: 'unassigned',
} as const;
