// The lab joins the fleet exactly as real machines do: a cluster, nodes with their own keys, and
// the set-up instructions pasted on each host as its login user.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { writeTransaction, type Db } from '../db/index.js';
import {
  addCluster,
  deleteNode,
  deleteNodeRows,
  findCluster,
  findNode,
  getNode,
  listNodes,
  removeCluster,
  setKeyStatus,
  type FleetNode,
  type NodeRole,
} from '../fleet/index.js';
import { deleteSecrets } from '../secrets/index.js';
import { addNode, instructionsInput, nodeKey, pasteProgram, removeKeyFiles, renderSetupScript } from '../ssh/index.js';
import { LabError } from './errors.js';
import { sshArgs } from './ssh.js';
import type { LabInfo } from './types.js';

export const LAB_CHANNEL = '1.31/stable';

/** 3 control-plane nodes (HA) when there are at least 3 hosts, else 1; the rest are workers. */
export function labRole(index: number, total: number): NodeRole {
  return index < (total >= 3 ? 3 : 1) ? 'control-plane' : 'worker';
}

/** Pin the lab hosts' real host keys in mko's known_hosts, replacing stale ones from an earlier lab. */
function pinHostKeys(dataDir: string, info: LabInfo): void {
  const file = path.join(dataDir, 'known_hosts');
  const labNames = new Set(info.hosts.flatMap((h) => [h.address, h.hostname]));
  const kept = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() && !line.split(' ')[0]?.split(',').some((name) => labNames.has(name)))
    : [];
  const lab = readFileSync(info.knownHosts, 'utf8').split('\n').filter((l) => l.trim());
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, `${[...kept, ...lab].join('\n')}\n`, { mode: 0o644 });
  renameSync(temp, file);
}

export interface RegisterOptions {
  db: Db;
  dataDir: string;
  stateDir: string;
  info: LabInfo;
  onProgress?: (message: string) => void;
}

/** Register the lab's hosts as a cluster and onboard each one through its pasted instructions. */
export async function registerLab(options: RegisterOptions): Promise<FleetNode[]> {
  const { db, dataDir, info } = options;
  const progress = options.onProgress ?? (() => {});
  if (!findCluster(db, info.name)) {
    addCluster(db, {
      name: info.name,
      description: 'mko lab: systemd-nspawn hosts on this machine (MicroK8s there is a test double)',
      channel: LAB_CHANNEL,
      addons: [{ name: 'dns', args: '' }],
      ha: info.hosts.length >= 3,
    });
  }
  pinHostKeys(dataDir, info);
  const nodes: FleetNode[] = [];
  for (const [index, host] of info.hosts.entries()) {
    const existing = findNode(db, host.hostname);
    if (existing && existing.address === host.address && existing.wol.mac === host.mac) {
      nodes.push(existing);
      continue;
    }
    if (existing) deleteNode(db, dataDir, existing.id);
    const { node } = await addNode(db, dataDir, {
      hostname: host.hostname,
      address: host.address,
      sshUser: info.user,
      role: labRole(index, info.hosts.length),
      cluster: info.name,
      labels: { lab: info.name },
      wolMac: host.mac,
      wolBroadcast: info.broadcast,
      wolEnabled: true,
    });
    progress(`registered ${node.hostname} (${node.address}) as ${node.role}`);
    nodes.push(node);
  }
  await Promise.all(nodes.map((node) => pasteInstructions(options, node)));
  return nodes.map((n) => getNode(db, n.id));
}

/** Log in as root with the lab's admin key and paste the node's instructions as its user. */
async function pasteInstructions(options: RegisterOptions, node: FleetNode): Promise<void> {
  const script = renderSetupScript(instructionsInput(node, await nodeKey(node)));
  const result = await execa(
    'ssh',
    [...sshArgs(options.stateDir, node.address), `runuser --login ${options.info.user} --command 'bash -s'`],
    { input: pasteProgram(script, options.info.userPassword), reject: false, all: true },
  );
  if (result.exitCode !== 0 || !(result.all ?? '').includes('has passwordless sudo')) {
    throw new LabError(`pasting the instructions on ${node.hostname} failed: ${(result.all ?? '').trim().split('\n').pop() ?? ''}`);
  }
  if (node.sshKeyStatus === 'generated') setKeyStatus(options.db, node.id, 'deployed');
  options.onProgress?.(`pasted the set-up instructions on ${node.hostname} as ${node.sshUser}`);
}

/**
 * Forget the lab's cluster and nodes (and their keys): the counterpart of registerLab. Lab nodes
 * are the cluster's members and the lab's hosts (<name>-n<i>, labelled lab=<name>) wherever they
 * are, so a lab host taken out of the cluster (the UPS host of the power drill) goes too, with
 * what hangs off it (its UPS and rules). A node of the user's that merely carries the label stays.
 */
export function unregisterLab(db: Db, dataDir: string, name: string): { cluster: boolean; nodes: number } {
  const cluster = findCluster(db, name);
  const isLabHost = (hostname: string): boolean => hostname.startsWith(`${name}-n`) && /^\d+$/.test(hostname.slice(name.length + 2));
  const nodes = listNodes(db).filter((n) => (cluster && n.cluster === cluster.name) || (n.labels['lab'] === name && isLabHost(n.hostname)));
  const handles = writeTransaction(db, () => {
    const held = nodes.flatMap((node) => deleteNodeRows(db, node.id));
    if (cluster) removeCluster(db, cluster.name);
    return held;
  });
  deleteSecrets(dataDir, handles);
  for (const node of nodes) if (node.sshKeyPath) removeKeyFiles(node.sshKeyPath);
  return { cluster: !!cluster, nodes: nodes.length };
}
