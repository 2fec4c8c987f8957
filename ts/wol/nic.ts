// The wol role through mko: enable or disable magic-packet wake on the nodes' NICs (or only look,
// for collect-mac), read the per-host report it writes to the controller, record what each NIC
// can do.
import type { Db } from '../db/index.js';
import { resolveTarget, type FleetNode } from '../fleet/index.js';
import { reportChecker } from '../hardware/index.js';
import { runFields, runForHostReports, type PlaybookResult, type RunContext } from '../ops/index.js';
import { getWolSettings, recordNic, setWolEnabled } from './settings.js';

/** What roles/wol writes per host to `<wol_report_dir>/<inventory_hostname>.json`. */
export interface WolReport {
  schema: 1;
  host: string;
  checked_at: string;
  action: 'configure' | 'inspect' | 'rtc_alarm';
  interface: string | null;
  mac: string | null;
  address: string | null;
  broadcast: string | null;
  supported: boolean;
  /** ethtool's "Supports Wake-on:" letters, e.g. pumbg; null when ethtool shows none. */
  supports_wake_on: string | null;
  /** ethtool's "Wake-on:" after the run, e.g. g or d. */
  wake_on: string | null;
  /** Magic-packet wake is on now. */
  enabled: boolean;
  persistence: 'link' | 'netplan' | 'networkmanager' | null;
  persistence_file: string | null;
  raspberry_pi: boolean;
  /** One sentence for people: what was found and done. */
  detail: string;
  /** rtc_alarm only: what the node's wake alarm holds after it was set. */
  rtc_alarm?: { path: string; seconds: number; value: string } | null;
}

const nullableString = { type: ['string', 'null'] };
const wolReportSchema = {
  type: 'object',
  properties: {
    schema: { const: 1 },
    host: { type: 'string' },
    checked_at: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' },
    action: { enum: ['configure', 'inspect', 'rtc_alarm'] },
    interface: nullableString,
    mac: nullableString,
    address: nullableString,
    broadcast: nullableString,
    supported: { type: 'boolean' },
    supports_wake_on: nullableString,
    wake_on: nullableString,
    enabled: { type: 'boolean' },
    persistence: { enum: ['link', 'netplan', 'networkmanager', null] },
    persistence_file: nullableString,
    raspberry_pi: { type: 'boolean' },
    detail: { type: 'string' },
    rtc_alarm: {
      type: ['object', 'null'],
      properties: { path: { type: 'string' }, seconds: { type: 'integer' }, value: { type: 'string' } },
      required: ['path', 'seconds', 'value'],
    },
  },
  required: [
    'schema', 'host', 'checked_at', 'action', 'interface', 'mac', 'address', 'broadcast', 'supported', 'supports_wake_on',
    'wake_on', 'enabled', 'persistence', 'persistence_file', 'raspberry_pi', 'detail',
  ],
};

export const parseWolReport = reportChecker<WolReport>(wolReportSchema);

export type HostNicOutcome =
  | { host: string; nodeId: number; status: 'reported'; report: WolReport }
  | { host: string; nodeId: number; status: 'skipped' | 'rejected' | 'unreachable' | 'failed'; reason: string };

export interface NicRunResult {
  target: string;
  /** Null when no node needed the playbook (all of them virtual). */
  operationId: number | null;
  status: PlaybookResult['status'] | 'not run';
  exitMeaning: string;
  hosts: HostNicOutcome[];
  /** Every node reported or was skipped on purpose: nothing was unreachable, failed or rejected. */
  ok: boolean;
}

export interface NicRunOptions {
  /** More role variables (tests point wol_rtc_wakealarm at a file). */
  vars?: Record<string, unknown>;
}

export type WolAction = 'configure' | 'inspect' | 'rtc_alarm';

/**
 * Run playbooks/wol.yml with `wol_action` on the given nodes and read each host's report. NIC
 * findings of configure and inspect runs are recorded on the node.
 */
export async function runWolPlaybook(
  db: Db,
  selection: { target: string; nodes: FleetNode[] },
  action: WolAction,
  options: RunContext & NicRunOptions & { kind: string },
): Promise<NicRunResult> {
  if (selection.nodes.length === 0) {
    return { target: selection.target, operationId: null, status: 'not run', exitMeaning: 'no node needed it', hosts: [], ok: true };
  }
  const { result, files } = await runForHostReports(db, {
    kind: options.kind,
    target: selection.target,
    playbook: 'wol.yml',
    limit: selection.nodes.map((n) => n.hostname).join(','),
    reportDirVar: 'wol_report_dir',
    hosts: selection.nodes.map((n) => n.hostname),
    // The playbook's default target is the group wol (enabled nodes); the limit picks the nodes here.
    extraVars: { ...options.vars, wol_action: action, mko_hosts_target: 'all' },
    ...runFields(options),
  });
  const hosts = files.map((file, i): HostNicOutcome => {
    const nodeId = selection.nodes[i]?.id ?? 0;
    if (file.status !== 'reported') return { ...file, nodeId };
    const parsed = parseWolReport(file.text);
    if (!parsed.ok) return { host: file.host, nodeId, status: 'rejected', reason: parsed.error };
    const report = parsed.value;
    if (action !== 'rtc_alarm') {
      recordNic(db, nodeId, {
        checkedAt: new Date(report.checked_at).toISOString(),
        operationId: result.operationId,
        interface: report.interface,
        supported: report.supported,
        wakeOn: report.wake_on,
        persistence: report.persistence,
        detail: report.detail,
      });
    }
    return { host: file.host, nodeId, status: 'reported', report };
  });
  return {
    target: selection.target,
    operationId: result.operationId,
    status: result.status,
    exitMeaning: result.exitMeaning,
    hosts,
    ok: hosts.every((h) => h.status === 'reported'),
  };
}

/**
 * mko wol enable|disable: record the wish on the nodes, then have the role make each physical
 * NIC match it (wake on magic packet, persisted across reboots; or off). Virtual nodes have no
 * NIC of their own to configure: they are started through Proxmox.
 */
export async function setWakeOnLan(db: Db, ref: string, enabled: boolean, options: RunContext & NicRunOptions): Promise<NicRunResult> {
  const target = resolveTarget(db, ref);
  setWolEnabled(db, target.nodes.map((n) => n.id), enabled);
  const virtual = target.nodes.filter((n) => getWolSettings(db, n.id).method === 'proxmox');
  const physical = target.nodes.filter((n) => !virtual.includes(n));
  const run = await runWolPlaybook(db, { target: target.name, nodes: physical }, 'configure', {
    ...options,
    kind: enabled ? 'wol-enable' : 'wol-disable',
  });
  const skipped: HostNicOutcome[] = virtual.map((n) => ({
    host: n.hostname,
    nodeId: n.id,
    status: 'skipped',
    reason: `virtual node: ${enabled ? 'started' : 'no longer started'} through Proxmox, no NIC to configure`,
  }));
  const order = new Map(target.nodes.map((n, i) => [n.id, i]));
  const hosts = [...run.hosts, ...skipped].sort((a, b) => (order.get(a.nodeId) ?? 0) - (order.get(b.nodeId) ?? 0));
  return { ...run, hosts };
}
