// Waking nodes: magic packets sent from here (node:dgram), Proxmox VMs started through the API.
// Every wake is an operation: per-node results in its recap (with send times), a readable log.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getCluster, getNode, listNodes, type FleetNode, type NodeRole } from '../fleet/index.js';
import { appendLog, finishOperation, startOperation, type HostRecap } from '../ops/index.js';
import { proxmoxClient, proxmoxEndpoint, startVm } from '../proxmox/index.js';
import { validate } from '../validate/index.js';
import { numberOrText } from './configure.js';
import { secureOnBytes, sendMagicPacket } from './packet.js';
import { probeSsh, waitForSsh } from './reach.js';
import { getSecret } from '../secrets/index.js';
import { getWolSettings, recordWake, type WakeOutcome, type WolMethod } from './settings.js';

export interface WakeOptions {
  /** Where the secrets file is (the data directory of the database). */
  dataDir: string;
  /** Extra magic packets after the first (default 2); text is checked as the user typed it. */
  retries?: number | string;
  /** Seconds between packets (default 1). */
  delay?: number | string;
  /** Wait until each node answers SSH. */
  wait?: boolean;
  /** With wait: seconds from the first packet until a node counts as failed (default 180). */
  timeout?: number | string;
  /** One line per step, as it happens (also stored in the operation's log). */
  onProgress?: (line: string) => void;
  /** Warnings for the user, e.g. about a Proxmox host whose TLS is not verified. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
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
  /** When the node was seen up (SSH answered, or the VM running). */
  upAt: string | null;
  /** Seconds from sentAt to upAt. */
  seconds: number | null;
}

export interface WakeResult {
  operationId: number;
  target: string;
  kind: 'node' | 'cluster';
  nodes: NodeWake[];
  /** No node failed. */
  ok: boolean;
}

/** The recap of a wake operation: Ansible's counters, plus what happened to each node. */
export type WakeRecap = HostRecap & { wake: Omit<NodeWake, 'host' | 'nodeId'> };

const optionsSchema = {
  type: 'object',
  properties: {
    retries: { type: 'integer', minimum: 0, maximum: 20, hint: 'a whole number of extra packets from 0 to 20' },
    delay: { type: 'number', minimum: 0, maximum: 60, hint: 'seconds between packets, from 0 to 60' },
    timeout: { type: 'number', minimum: 1, maximum: 3600, hint: 'seconds to wait for SSH, from 1 to 3600' },
  },
};
const optionFlags = { retries: '--retries', delay: '--delay', timeout: '--timeout' };
const ALREADY_UP_PROBE_MS = 1500;

function checkOptions(options: WakeOptions): { retries: number; delay: number; timeout: number } {
  const values = { retries: numberOrText(options.retries ?? 2), delay: numberOrText(options.delay ?? 1), timeout: numberOrText(options.timeout ?? 180) };
  return validate<{ retries: number; delay: number; timeout: number }>(optionsSchema, values, optionFlags);
}

function recapOf(wake: NodeWake): WakeRecap {
  const { host: _host, nodeId: _id, ...rest } = wake;
  const failed = wake.outcome === 'failed';
  return {
    ok: failed || wake.outcome === 'skipped' ? 0 : 1,
    changed: wake.outcome === 'woken' || wake.outcome === 'sent' ? 1 : 0,
    unreachable: 0,
    failed: failed ? 1 : 0,
    skipped: wake.outcome === 'skipped' ? 1 : 0,
    rescued: 0,
    ignored: 0,
    wake: rest,
  };
}

interface Waker {
  db: Db;
  options: WakeOptions;
  limits: ReturnType<typeof checkOptions>;
  log: (line: string) => void;
}

/** Wake one node by its method; never throws for a problem of that node, records it instead. */
async function wakeOne(w: Waker, node: FleetNode): Promise<NodeWake> {
  const settings = getWolSettings(w.db, node.id);
  const base = { host: node.hostname, nodeId: node.id, role: node.role, method: settings.method, sentAt: null, packets: 0, upAt: null, seconds: null };
  const result = (outcome: WakeOutcome, detail: string, extra: Partial<NodeWake> = {}): NodeWake => {
    w.log(`${node.hostname}: ${outcome}: ${detail}`);
    return { ...base, outcome, detail, ...extra };
  };
  if (!node.wol.enabled) return result('skipped', `Wake-on-LAN is disabled for it (mko wol enable ${node.hostname})`);
  if (settings.method === 'rtc') {
    return result('failed', 'it cannot be woken on demand: it wakes at its RTC alarm (mko wol rtc-alarm) or when power returns');
  }
  try {
    return settings.method === 'proxmox' ? await wakeVm(w, node, result) : await wakeByPacket(w, node, settings.secureonSecret, result);
  } catch (error) {
    if (!(error instanceof UserError) && !(error as NodeJS.ErrnoException).code) throw error;
    return result('failed', (error as Error).message);
  }
}

type Result = (outcome: WakeOutcome, detail: string, extra?: Partial<NodeWake>) => NodeWake;

async function wakeVm(w: Waker, node: FleetNode, result: Result): Promise<NodeWake> {
  const { host, node: pveNode, vmid } = node.proxmox;
  if (!host || !pveNode || vmid === null) return result('failed', 'needs --proxmox-host, --proxmox-node and --vmid (mko wol configure)');
  const client = proxmoxClient(proxmoxEndpoint(w.db, w.options.dataDir, host), {
    ...(w.options.onWarning ? { onWarning: w.options.onWarning } : {}),
  });
  const sentAt = new Date();
  w.log(`${node.hostname}: starting VM ${vmid} on ${pveNode} through Proxmox ${client.endpoint.name}`);
  const start = await startVm(client, pveNode, vmid, { timeoutMs: w.limits.timeout * 1000, ...(w.options.signal ? { signal: w.options.signal } : {}) });
  if (start.alreadyRunning) return result('already up', `VM ${vmid} is already running`);
  const sent = { sentAt: sentAt.toISOString(), packets: 0 };
  const started = `VM ${vmid} started (task ${start.upid ?? '?'})`;
  if (!w.options.wait) return result('woken', `${started}; SSH not waited for`, { ...sent, upAt: new Date().toISOString(), seconds: start.seconds });
  return waitUp(w, node, sentAt, started, sent, result);
}

async function wakeByPacket(w: Waker, node: FleetNode, secureon: string | null, result: Result): Promise<NodeWake> {
  const { mac, broadcast, port } = node.wol;
  if (!mac) return result('failed', `no MAC: mko wol collect-mac ${node.hostname} or mko wol configure ${node.hostname} --mac …`);
  if (!broadcast) return result('failed', `no broadcast address: mko wol configure ${node.hostname} --broadcast A.B.C.255`);
  const probe = await probeSsh(node.address, node.sshPort, ALREADY_UP_PROBE_MS);
  if (probe.up) return result('already up', `SSH answers (${probe.banner ?? 'banner'})`);
  const password = secureon ? secureOnBytes(getSecret(w.options.dataDir, secureon, `the SecureOn password of ${node.hostname}`)) : undefined;
  const attempts = 1 + w.limits.retries;
  const sentAt = new Date();
  const deadline = sentAt.getTime() + w.limits.timeout * 1000;
  let packets = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await sendMagicPacket({ mac, broadcast, port, ...(password ? { password } : {}) });
    packets++;
    w.log(`${node.hostname}: magic packet ${attempt}/${attempts} for ${mac} to ${broadcast}:${port}${password ? ' with SecureOn' : ''}`);
    if (attempt === attempts) break;
    if (w.options.wait) {
      const up = await waitForSsh(node.address, node.sshPort, Math.min(w.limits.delay * 1000, deadline - Date.now()), w.options.signal);
      if (up.up) return upResult(node, sentAt, `after ${packets} packet(s)`, { sentAt: sentAt.toISOString(), packets }, result);
    } else {
      await sleep(w.limits.delay * 1000);
    }
  }
  const sent = { sentAt: sentAt.toISOString(), packets };
  if (!w.options.wait) return result('sent', `${packets} packet(s) to ${broadcast}:${port}; not waited for`, sent);
  return waitUp(w, node, sentAt, `after ${packets} packet(s)`, sent, result, deadline);
}

async function waitUp(
  w: Waker,
  node: FleetNode,
  sentAt: Date,
  what: string,
  sent: { sentAt: string; packets: number },
  result: Result,
  deadline = sentAt.getTime() + w.limits.timeout * 1000,
): Promise<NodeWake> {
  const up = await waitForSsh(node.address, node.sshPort, Math.max(0, deadline - Date.now()), w.options.signal);
  if (up.up) return upResult(node, sentAt, what, sent, result);
  return result('failed', `${what}, no SSH answer at ${node.address}:${node.sshPort} within ${w.limits.timeout} s (${up.reason ?? 'no answer'})`, sent);
}

function upResult(node: FleetNode, sentAt: Date, what: string, sent: { sentAt: string; packets: number }, result: Result): NodeWake {
  const upAt = new Date();
  const seconds = (upAt.getTime() - sentAt.getTime()) / 1000;
  return result('woken', `SSH answered ${seconds.toFixed(1)} s ${what}`, { ...sent, upAt: upAt.toISOString(), seconds });
}

/** Run the phases one after the other (nodes of a phase together), as one recorded operation. */
async function wake(db: Db, target: { name: string; kind: 'node' | 'cluster' }, phases: FleetNode[][], args: string[], options: WakeOptions): Promise<WakeResult> {
  const limits = checkOptions(options);
  const operationId = startOperation(db, { kind: 'wake', target: target.name, args });
  const log = (line: string): void => {
    appendLog(db, operationId, `${new Date().toISOString()} ${line}\n`);
    options.onProgress?.(line);
  };
  const waker: Waker = { db, options, limits, log };
  const nodes: NodeWake[] = [];
  try {
    for (const phase of phases) {
      if (phase.length === 0) continue;
      if (phases.length > 1) log(`waking ${phase[0]?.role === 'control-plane' ? 'control-plane' : 'worker'} nodes: ${phase.map((n) => n.hostname).join(', ')}`);
      nodes.push(...(await Promise.all(phase.map((n) => wakeOne(waker, n)))));
      if (options.signal?.aborted) break;
    }
  } catch (error) {
    finishOperation(db, operationId, { status: 'failed', exitCode: null, exitMeaning: `wake stopped: ${(error as Error).message}` });
    throw error;
  }
  for (const n of nodes) {
    recordWake(db, n.nodeId, { at: n.sentAt ?? new Date().toISOString(), result: n.outcome, detail: n.detail, operationId });
  }
  const failed = nodes.filter((n) => n.outcome === 'failed');
  const cancelled = options.signal?.aborted ?? false;
  finishOperation(db, operationId, {
    status: cancelled ? 'cancelled' : failed.length > 0 ? 'failed' : 'succeeded',
    exitCode: failed.length > 0 || cancelled ? 2 : 0,
    exitMeaning: cancelled
      ? 'cancelled by the user (Ctrl-C)'
      : failed.length > 0
        ? `could not wake ${failed.map((n) => n.host).join(', ')}`
        : 'every node woken, already up, or sent its packets',
    recap: Object.fromEntries(nodes.map((n) => [n.host, recapOf(n)])),
  });
  return { operationId, target: target.name, kind: target.kind, nodes, ok: failed.length === 0 && !cancelled };
}

function argsOf(command: string, target: string, options: WakeOptions): string[] {
  return [
    'mko', 'wol', command, target,
    ...(options.retries !== undefined ? ['--retries', String(options.retries)] : []),
    ...(options.delay !== undefined ? ['--delay', String(options.delay)] : []),
    ...(options.wait ? ['--wait'] : []),
    ...(options.timeout !== undefined ? ['--timeout', String(options.timeout)] : []),
  ];
}

/** mko wol wake-node: one node, by its method. */
export function wakeNode(db: Db, ref: string, options: WakeOptions): Promise<WakeResult> {
  checkOptions(options);
  const node = getNode(db, ref);
  return wake(db, { name: node.hostname, kind: 'node' }, [[node]], argsOf('wake-node', node.hostname, options), options);
}

/**
 * mko wol wake-cluster: the control-plane nodes first (together: a datastore needs a quorum of
 * them), then the workers. With wait, workers get their packets once every control-plane node
 * answers SSH (or has failed).
 */
export function wakeCluster(db: Db, ref: string, options: WakeOptions): Promise<WakeResult> {
  checkOptions(options);
  const cluster = getCluster(db, ref);
  const nodes = listNodes(db, { cluster: cluster.name });
  if (nodes.length === 0) throw new UserError(`cluster ${cluster.name} has no nodes: assign some with mko cluster assign`);
  const phases = [nodes.filter((n) => n.role === 'control-plane'), nodes.filter((n) => n.role === 'worker')];
  return wake(db, { name: cluster.name, kind: 'cluster' }, phases, argsOf('wake-cluster', cluster.name, options), options);
}
