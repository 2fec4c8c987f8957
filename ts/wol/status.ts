// mko wol status: per node, whether it can be woken on demand and why not; per cluster, Ready
// (every node can), Partial, or Disabled (no node has Wake-on-LAN enabled).
import type { Db } from '../db/index.js';
import { listClusters, listNodes, type FleetNode, type NodeRole } from '../fleet/index.js';
import { resolveTarget } from '../fleet/index.js';
import { findProxmoxHost } from '../proxmox/index.js';
import { wolConfigOf, type WolConfig } from './configure.js';
import { getWolSettings, type LastWake, type NicState, type WolMethod } from './settings.js';

export interface NodeWolStatus extends WolConfig {
  cluster: string | null;
  role: NodeRole;
  nic: NicState | null;
  lastWake: LastWake | null;
  /** Can be woken on demand now. */
  ready: boolean;
  /** Why (not), in a few words. */
  note: string;
}

export type ClusterWolState = 'Ready' | 'Partial' | 'Disabled';

export interface ClusterWolSummary {
  cluster: string;
  state: ClusterWolState;
  ready: number;
  enabled: number;
  total: number;
}

export interface WolStatus {
  nodes: NodeWolStatus[];
  clusters: ClusterWolSummary[];
}

const POWER_RETURNS = 'it comes back when its power does';

function readiness(db: Db, node: FleetNode, method: WolMethod, nic: NicState | null): { ready: boolean; note: string } {
  if (method === 'rtc') {
    return { ready: false, note: `wakes only at an RTC alarm set before power-off (mko wol rtc-alarm ${node.hostname} --in SECONDS); otherwise ${POWER_RETURNS}` };
  }
  if (!node.wol.enabled) return { ready: false, note: `disabled: mko wol enable ${node.hostname}` };
  if (method === 'proxmox') {
    const { host, node: pveNode, vmid } = node.proxmox;
    if (!host || !pveNode || vmid === null) return { ready: false, note: 'needs --proxmox-host, --proxmox-node and --vmid (mko wol configure)' };
    const api = findProxmoxHost(db, host);
    if (!api) return { ready: false, note: `Proxmox host ${host} is not registered: mko proxmox add ${host} …` };
    return { ready: true, note: `VM ${vmid} on ${pveNode}, started through Proxmox ${api.name}${api.insecure ? ' (TLS not verified)' : ''}` };
  }
  if (!node.wol.mac) return { ready: false, note: `no MAC: mko wol collect-mac ${node.hostname}` };
  if (!node.wol.broadcast) return { ready: false, note: `no broadcast address: mko wol configure ${node.hostname} --broadcast A.B.C.255` };
  if (!nic) return { ready: false, note: `NIC not checked yet: mko wol enable ${node.hostname}` };
  if (!nic.supported) return { ready: false, note: `${nic.detail}; ${POWER_RETURNS}` };
  if (!nic.wakeOn?.includes('g')) return { ready: false, note: `${nic.interface ?? 'the NIC'} has magic-packet wake off (Wake-on: ${nic.wakeOn ?? '?'}): mko wol enable ${node.hostname}` };
  return { ready: true, note: `magic packet to ${node.wol.broadcast}:${node.wol.port}${nic.persistence ? `, persisted by ${nic.persistence}` : ', NOT persisted across reboots'}` };
}

export function nodeWolStatus(db: Db, node: FleetNode): NodeWolStatus {
  const settings = getWolSettings(db, node.id);
  return {
    ...wolConfigOf(db, node),
    cluster: node.cluster,
    role: node.role,
    nic: settings.nic,
    lastWake: settings.lastWake,
    ...readiness(db, node, settings.method, settings.nic),
  };
}

export function summarize(cluster: string, nodes: NodeWolStatus[]): ClusterWolSummary {
  const ready = nodes.filter((n) => n.ready).length;
  const enabled = nodes.filter((n) => n.enabled).length;
  const state: ClusterWolState = enabled === 0 ? 'Disabled' : ready === nodes.length ? 'Ready' : 'Partial';
  return { cluster, state, ready, enabled, total: nodes.length };
}

/** Status of one node, of a cluster's nodes (with its summary), or (no ref) of every node and cluster. */
export function wolStatus(db: Db, ref?: string): WolStatus {
  const target = ref ? resolveTarget(db, ref) : null;
  const nodes = (target ? target.nodes : listNodes(db)).map((n) => nodeWolStatus(db, n));
  const clusterNames = target ? (target.kind === 'cluster' ? [target.name] : []) : listClusters(db).map((c) => c.name);
  const clusters = clusterNames
    .map((name) => ({ name, members: nodes.filter((n) => n.cluster?.toLowerCase() === name.toLowerCase()) }))
    .filter((c) => c.members.length > 0)
    .map((c) => summarize(c.name, c.members));
  return { nodes, clusters };
}
