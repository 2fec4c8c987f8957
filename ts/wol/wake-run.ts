// mko wol wake-node|wake-cluster and the wake_on_lan rule action: one run of playbooks/wake.yml
// (the wol role's wake entry point: control plane first, then workers), with the nodes' secrets as
// extra vars. What happened to each node comes from the role's per-node report.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getCluster, getNode, listNodes, type FleetNode, type NodeRole } from '../fleet/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { makeRunDir, readReportFile, runFields, runPlaybook, type RunContext } from '../ops/index.js';
import { dataDirFor } from '../paths.js';
import { recordJournal } from '../sleep/journal.js';
import { validate } from '../validate/index.js';
import { numberOrText } from './configure.js';
import { getWolSettings, recordWake, type WakeOutcome, type WolMethod } from './settings.js';
import { wakeSecrets } from './wake-secrets.js';

/** What a wake takes besides the RunContext (whose onWarning hears about a Proxmox host without TLS verification). */
export interface WakeOptions {
  /** Extra magic packets after the first (default 2); text is checked as the user typed it. */
  retries?: number | string;
  /** Seconds between packets (default 1). */
  delay?: number | string;
  /** Wait until each node answers SSH. */
  wait?: boolean;
  /** With wait: seconds a node may take to answer SSH (default 180). */
  timeout?: number | string;
}

export interface NodeWake {
  host: string;
  nodeId: number;
  role: NodeRole;
  method: WolMethod;
  outcome: WakeOutcome;
  detail: string;
  /** When the first packet (or the VM start request) went out; null when nothing was sent. */
  sentAt: string | null;
  packets: number;
  /** Bytes of one magic packet (102, 108 with a 6-byte SecureOn password); null when none was sent. */
  packetBytes: number | null;
  /** When the node was seen answering SSH. */
  upAt: string | null;
  /** Seconds from sentAt to upAt. */
  seconds: number | null;
  /** Once up: whether it was Ready, and uncordoned because auto-sleep had cordoned it (null: not checked). */
  resumed: { ready: boolean; uncordoned: boolean; detail: string } | null;
}

export interface WakeResult {
  operationId: number;
  target: string;
  kind: 'node' | 'cluster';
  nodes: NodeWake[];
  /** No node failed, and the run was not cancelled. */
  ok: boolean;
}

const optionsSchema = {
  type: 'object',
  properties: {
    retries: { type: 'integer', minimum: 0, maximum: 20, hint: 'a whole number of extra packets from 0 to 20' },
    delay: { type: 'number', minimum: 0, maximum: 60, hint: 'seconds between packets, from 0 to 60' },
    timeout: { type: 'integer', minimum: 1, maximum: 3600, hint: 'whole seconds to wait for SSH, from 1 to 3600' },
  },
};
const optionFlags = { retries: '--retries', delay: '--delay', timeout: '--timeout' };
const OUTCOMES: readonly string[] = ['woken', 'sent', 'already up', 'failed', 'skipped'];

function checkOptions(options: WakeOptions): { retries: number; delay: number; timeout: number } {
  const values = { retries: numberOrText(options.retries ?? 2), delay: numberOrText(options.delay ?? 1), timeout: numberOrText(options.timeout ?? 180) };
  return validate<{ retries: number; delay: number; timeout: number }>(optionsSchema, values, optionFlags);
}

type Json = Record<string, unknown>;
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The autosleep role's resume report: Ready, uncordoned; the node's journal gets recorded. */
function resumed(db: Db, node: FleetNode, report: Json | null, operationId: number): NodeWake['resumed'] {
  if (!report || report['installed'] !== true) return null;
  recordJournal(db, node, report['journal'], operationId);
  const r = report['resume'] as Json | null;
  return r ? { ready: r['ready'] === true, uncordoned: r['uncordoned'] === true, detail: String(r['detail'] ?? '') } : null;
}

function nodeWake(db: Db, node: FleetNode, report: Json | null): NodeWake {
  const base = { host: node.hostname, nodeId: node.id, role: node.role, method: getWolSettings(db, node.id).method, resumed: null };
  if (!report) {
    return { ...base, outcome: 'failed', detail: 'the playbook wrote no report for it (see the operation log)', sentAt: null, packets: 0, packetBytes: null, upAt: null, seconds: null };
  }
  const outcome = String(report['outcome']);
  return {
    ...base,
    outcome: (OUTCOMES.includes(outcome) ? outcome : 'failed') as WakeOutcome,
    detail: text(report['detail']) ?? '',
    sentAt: text(report['sent_at']),
    packets: num(report['packets']) ?? 0,
    packetBytes: num(report['packet_bytes']),
    upAt: text(report['up_at']),
    seconds: num(report['seconds']),
  };
}

/** One run of wake.yml over `hosts` (an inventory pattern), the given nodes' reports read back. */
async function wake(db: Db, target: { name: string; kind: 'node' | 'cluster'; hosts: string }, nodes: FleetNode[], options: RunContext & WakeOptions): Promise<WakeResult> {
  const limits = checkOptions(options);
  const { extraVars, secrets } = wakeSecrets(db, options.dataDir, nodes, options.onWarning);
  const dir = makeRunDir(dataDirFor(options.dbPath), 'wake');
  mkdirSync(path.join(dir, 'autosleep'), { mode: 0o700 });
  try {
    const run = await runPlaybook(db, {
      kind: 'wake',
      target: target.name,
      playbook: 'wake.yml',
      extraVars: {
        mko_hosts_target: target.hosts,
        wol_wake_wait: options.wait ?? false,
        wol_wake_timeout: limits.timeout,
        wol_wake_packets: 1 + limits.retries,
        wol_wake_interval: limits.delay,
        wol_wake_report_dir: dir,
        wol_wake_command: target.kind === 'node' ? `mko wol wake-node ${target.name}` : `mko wol wake-cluster ${target.name}`,
        ...extraVars,
      },
      secrets,
      ...runFields(options),
    });
    const woken = nodes.map((node) => ({
      ...nodeWake(db, node, readReportFile(path.join(dir, `${node.hostname}.json`))),
      resumed: resumed(db, node, readReportFile(path.join(dir, 'autosleep', `${node.hostname}.json`)), run.operationId),
    }));
    for (const n of woken) {
      recordWake(db, n.nodeId, { at: n.sentAt ?? new Date().toISOString(), result: n.outcome, detail: n.detail, operationId: run.operationId });
    }
    const ok = run.status !== 'cancelled' && woken.every((n) => n.outcome !== 'failed');
    return { operationId: run.operationId, target: target.name, kind: target.kind, nodes: woken, ok };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** mko wol wake-node: one node, by its method. */
export function wakeNode(db: Db, ref: string, options: RunContext & WakeOptions): Promise<WakeResult> {
  checkOptions(options);
  const node = getNode(db, ref);
  return wake(db, { name: node.hostname, kind: 'node', hosts: node.hostname }, [node], options);
}

/**
 * mko wol wake-cluster: the control-plane nodes first (together: a datastore needs a quorum of
 * them), then the workers. With wait, workers get their packets once every control-plane node
 * answers SSH (or has failed).
 */
export function wakeCluster(db: Db, ref: string, options: RunContext & WakeOptions): Promise<WakeResult> {
  checkOptions(options);
  const cluster = getCluster(db, ref);
  const nodes = listNodes(db, { cluster: cluster.name });
  if (nodes.length === 0) throw new UserError(`cluster ${cluster.name} has no nodes: assign some with mko cluster assign`);
  const ordered = [...nodes.filter((n) => n.role === 'control-plane'), ...nodes.filter((n) => n.role === 'worker')];
  return wake(db, { name: cluster.name, kind: 'cluster', hosts: clusterGroup(cluster.name) }, ordered, options);
}
