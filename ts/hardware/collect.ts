import type { Db } from '../db/index.js';
import { normalizeMac, resolveTarget } from '../fleet/index.js';
import { runFields, runForHostReports, type PlaybookResult, type RunContext } from '../ops/index.js';
import { parseReport, type HardwareReport } from './schema.js';
import { diffReports, type HardwareChange } from './diff.js';
import { latestReport, storeReports, type NewReport } from './store.js';

export interface CollectOptions {
  /** Another playbook with the contract of playbooks/hardware.yml (the default). */
  playbook?: string;
}

export type HostCollectOutcome =
  | {
      host: string;
      nodeId: number;
      status: 'stored';
      reportId: number;
      report: HardwareReport;
      wolMacFilled: string | null;
      /** What changed since the node's previous report; null for its first. */
      changes: HardwareChange[] | null;
    }
  | { host: string; nodeId: number; status: 'rejected' | 'unreachable' | 'failed'; reason: string };

export interface CollectResult {
  target: { name: string; kind: 'node' | 'cluster' };
  operationId: number;
  status: PlaybookResult['status'];
  exitCode: number | null;
  exitMeaning: string;
  hosts: HostCollectOutcome[];
}

/**
 * The MAC to wake a node by, as the report says (its wake_nic: the collection decides which NIC
 * carries the node's address, module_utils/wake_nic.py); null for a report without one.
 */
export function wakeMac(report: HardwareReport): string | null {
  const mac = report.wake_nic?.mac;
  return mac ? normalizeMac(mac) : null;
}

/**
 * Collect a hardware report from a node, or from every node of a cluster, through the hardware
 * playbook. Valid reports are stored in one transaction with the run's operation id; a report
 * that fails validation is rejected on its own, naming the field.
 */
export async function collectHardware(db: Db, ref: string, ctx: RunContext & CollectOptions): Promise<CollectResult> {
  const target = resolveTarget(db, ref);
  const { result, files } = await runForHostReports(db, {
    kind: 'hardware',
    target: target.name,
    playbook: ctx.playbook ?? 'hardware.yml',
    limit: target.limit,
    reportDirVar: 'hardware_report_dir',
    hosts: target.nodes.map((n) => n.hostname),
    ...runFields(ctx),
  });

  const outcomes: HostCollectOutcome[] = [];
  const accepted: (NewReport & { host: string })[] = [];
  target.nodes.forEach((node, i) => {
    const file = files[i];
    if (!file) return;
    if (file.status !== 'reported') {
      outcomes.push({ host: node.hostname, nodeId: node.id, status: file.status, reason: file.reason });
      return;
    }
    const parsed = parseReport(file.text);
    if (!parsed.ok) {
      outcomes.push({ host: node.hostname, nodeId: node.id, status: 'rejected', reason: parsed.error });
      return;
    }
    accepted.push({ host: node.hostname, nodeId: node.id, report: parsed.value, wolMac: wakeMac(parsed.value) });
  });

  const previous = accepted.map((a) => latestReport(db, a.nodeId)?.report);
  const stored = storeReports(db, accepted, result.operationId);
  accepted.forEach((a, i) => {
    const s = stored[i];
    const before = previous[i];
    const changes = before ? diffReports(before, a.report) : null;
    if (s) outcomes.push({ host: a.host, nodeId: a.nodeId, status: 'stored', reportId: s.reportId, report: a.report, wolMacFilled: s.wolMacFilled, changes });
  });
  const order = new Map(target.nodes.map((n, i) => [n.id, i]));
  outcomes.sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));

  return {
    target: { name: target.name, kind: target.kind },
    operationId: result.operationId,
    status: result.status,
    exitCode: result.exitCode,
    exitMeaning: result.exitMeaning,
    hosts: outcomes,
  };
}
