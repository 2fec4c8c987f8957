// Putting a lab's hosts back to an earlier disk state without making a new lab: labSnapshot keeps
// each host's upper dir as a read-only layer between the shared rootfs and a new, empty upper dir;
// labReset drops the upper dir again. Each is "power off, change the layers, boot": no copying,
// and the bridge, namespaces, keys, known_hosts and WoL firmware stay as they are. The scenario
// harness resets one lab between scenarios instead of making a new lab for each.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LabError, requireRoot } from './errors.js';
import { hostPaths, mountOverlay, startHost, stopHost, unmountOverlay } from './host.js';
import type { HostPaths } from './host.js';
import { HOST_STOP_TIMEOUT_MS, labInfo } from './lab.js';
import { validateLabName } from './naming.js';
import { BOOT_TIMEOUT_MS } from './power.js';
import { closeControlMasters, waitForPort, waitForSystem } from './ssh.js';
import { readLabState, updateState } from './state.js';
import type { LabInfo, LabOptions } from './types.js';

/** Every host powered off, its layers changed by `relayer` while unmounted, then booted again. */
async function relayerHosts(o: LabOptions, relayer: (paths: HostPaths) => Promise<void>): Promise<LabInfo> {
  requireRoot();
  validateLabName(o.name);
  const stateDir = resolve(o.stateDir);
  const state = await readLabState(o);
  if (!state?.complete) throw new LabError(`there is no lab "${o.name}" in ${o.stateDir}: run mko lab up`);
  await Promise.all(
    state.hosts.map(async (host) => {
      const paths = hostPaths(stateDir, host.hostname);
      await stopHost(host, HOST_STOP_TIMEOUT_MS);
      await unmountOverlay(paths);
      await relayer(paths);
      await rm(paths.work, { recursive: true, force: true });
      await mkdir(paths.upper, { recursive: true });
      await mountOverlay(state.lowerDir, paths);
    }),
  );
  await closeControlMasters(stateDir);
  const pids = new Map<string, number>();
  for (const host of state.hosts) pids.set(host.hostname, await startHost(host, hostPaths(stateDir, host.hostname)));
  const updated = await updateState(stateDir, (s) => {
    for (const h of s.hosts) h.pid = pids.get(h.hostname) ?? h.pid;
  });
  await Promise.all(state.hosts.map((h) => waitForPort(h.address, 22, BOOT_TIMEOUT_MS)));
  await Promise.all(state.hosts.map((h) => waitForSystem(stateDir, h.address, BOOT_TIMEOUT_MS)));
  if (!updated) throw new Error(`the lab state file of "${o.name}" vanished during a reset`);
  return labInfo(updated, stateDir);
}

/** Keeps every host's disk as it is now, for labReset to go back to (hosts are rebooted for it). */
export async function labSnapshot(o: LabOptions): Promise<LabInfo> {
  return relayerHosts(o, async (paths) => {
    if (existsSync(paths.snapshot)) throw new LabError(`${paths.dir} already has a snapshot: run mko lab down, then mko lab up`);
    await rename(paths.upper, paths.snapshot);
  });
}

/** Every host back to its snapshot (to its first boot without one): what it wrote since is gone. */
export async function labReset(o: LabOptions): Promise<LabInfo> {
  return relayerHosts(o, async (paths) => {
    await rm(paths.upper, { recursive: true, force: true });
  });
}
