// mko wol collect-mac: each node's Wake-on-LAN MAC (and, where none is set, its directed
// broadcast address) from the latest hardware report in the database, or read from the node by
// the wol role. Which NIC that is (the one carrying the node's address) is decided once, in the
// mko.fleet collection (module_utils/wake_nic.py): both sources only carry its answer.
import type { Db } from '../db/index.js';
import { normalizeMac, resolveTarget, type FleetNode } from '../fleet/index.js';
import { latestReport, wakeMac, type HardwareReport } from '../hardware/index.js';
import type { RunContext } from '../ops/index.js';
import { runWolPlaybook, type NicRunOptions } from './nic.js';
import { setCollectedMac } from './settings.js';

export type MacSource = 'auto' | 'hardware' | 'facts';

export interface MacOutcome {
  host: string;
  nodeId: number;
  status: 'stored' | 'failed';
  source: 'hardware' | 'facts' | null;
  mac: string | null;
  previousMac: string | null;
  /** The broadcast address the node has after the run (filled only where none was set). */
  broadcast: string | null;
  reason?: string;
}

export interface CollectMacResult {
  target: string;
  /** The wol playbook run that read facts, if one was needed. */
  operationId: number | null;
  hosts: MacOutcome[];
}

/** MAC and directed broadcast of the NIC a hardware report says wakes the node (its wake_nic). */
export function macFromReport(report: HardwareReport): { mac: string; broadcast: string | null } | null {
  const mac = wakeMac(report);
  return mac ? { mac, broadcast: report.wake_nic?.broadcast ?? null } : null;
}

export async function collectMacs(db: Db, ref: string, options: RunContext & NicRunOptions & { source?: MacSource }): Promise<CollectMacResult> {
  const target = resolveTarget(db, ref);
  const source = options.source ?? 'auto';
  const outcomes: MacOutcome[] = [];
  const viaFacts: FleetNode[] = [];
  const store = (node: FleetNode, from: 'hardware' | 'facts', mac: string, broadcast: string | null): void => {
    setCollectedMac(db, node.id, mac, broadcast);
    outcomes.push({ host: node.hostname, nodeId: node.id, status: 'stored', source: from, mac, previousMac: node.wol.mac, broadcast: node.wol.broadcast ?? broadcast });
  };
  const fail = (node: FleetNode, from: 'hardware' | 'facts' | null, reason: string): void => {
    outcomes.push({ host: node.hostname, nodeId: node.id, status: 'failed', source: from, mac: null, previousMac: node.wol.mac, broadcast: node.wol.broadcast, reason });
  };

  for (const node of target.nodes) {
    if (source === 'facts') {
      viaFacts.push(node);
      continue;
    }
    const latest = latestReport(db, node.id);
    const found = latest ? macFromReport(latest.report) : null;
    if (found) store(node, 'hardware', found.mac, found.broadcast);
    else if (source === 'auto') viaFacts.push(node);
    else fail(node, 'hardware', latest ? `hardware report ${latest.id} names no NIC to wake it by (collect it again: mko hardware collect ${node.hostname})` : `no hardware report: run mko hardware collect ${node.hostname}, or use --source facts`);
  }

  let operationId: number | null = null;
  if (viaFacts.length > 0) {
    const run = await runWolPlaybook(db, { target: target.name, nodes: viaFacts }, 'inspect', { ...options, kind: 'wol-collect-mac' });
    operationId = run.operationId;
    for (const host of run.hosts) {
      const node = viaFacts.find((n) => n.id === host.nodeId);
      if (!node) continue;
      if (host.status !== 'reported') fail(node, 'facts', `${host.status}: ${host.reason}`);
      else if (!host.report.mac) fail(node, 'facts', host.report.detail);
      else store(node, 'facts', normalizeMac(host.report.mac), host.report.broadcast);
    }
  }
  const order = new Map(target.nodes.map((n, i) => [n.id, i]));
  outcomes.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
  return { target: target.name, operationId, hosts: outcomes };
}
