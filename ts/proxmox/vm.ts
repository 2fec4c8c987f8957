// Starting a VM the way Proxmox VE's API documents it: POST …/status/start returns a task id
// (UPID), the task is polled until it stops with exitstatus OK, then …/status/current must say
// the VM is running.
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import type { ProxmoxClient } from './client.js';

export interface VmStatus {
  status: string;
  [key: string]: unknown;
}

interface TaskStatus {
  status: string;
  exitstatus?: string;
}

export interface VmStart {
  /** The VM was already running: nothing was started. */
  alreadyRunning: boolean;
  upid: string | null;
  /** Seconds from the start request until the VM was seen running. */
  seconds: number;
}

export interface StartOptions {
  pollMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const vmPath = (node: string, vmid: number): string => `/nodes/${encodeURIComponent(node)}/qemu/${vmid}`;

export function vmStatus(client: ProxmoxClient, node: string, vmid: number): Promise<VmStatus> {
  return client.get<VmStatus>(`${vmPath(node, vmid)}/status/current`);
}

export async function startVm(client: ProxmoxClient, node: string, vmid: number, options: StartOptions = {}): Promise<VmStart> {
  const started = Date.now();
  if ((await vmStatus(client, node, vmid)).status === 'running') return { alreadyRunning: true, upid: null, seconds: 0 };
  const upid = await client.post<unknown>(`${vmPath(node, vmid)}/status/start`);
  if (typeof upid !== 'string' || !upid.startsWith('UPID:')) {
    throw new UserError(`Proxmox ${client.endpoint.name} answered the start of VM ${vmid} without a task id (UPID)`);
  }
  const deadline = started + (options.timeoutMs ?? 120_000);
  for (;;) {
    const task = await client.get<TaskStatus>(`/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`);
    if (task.status === 'stopped') {
      if (task.exitstatus !== 'OK') {
        throw new UserError(`starting VM ${vmid} on ${node} failed: task ${upid} ended with "${task.exitstatus ?? 'no exit status'}"`);
      }
      break;
    }
    if (Date.now() > deadline || options.signal?.aborted) {
      throw new UserError(`starting VM ${vmid} on ${node}: task ${upid} still ${task.status} after ${Math.round((Date.now() - started) / 1000)} s`);
    }
    await sleep(options.pollMs ?? 500);
  }
  const after = await vmStatus(client, node, vmid);
  if (after.status !== 'running') throw new UserError(`VM ${vmid} on ${node} is ${after.status} after its start task succeeded`);
  return { alreadyRunning: false, upid, seconds: (Date.now() - started) / 1000 };
}
