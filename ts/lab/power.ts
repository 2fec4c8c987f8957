// Powering one lab host on, as its firmware would: used by the WoL firmware and by `up`.
import { resolve } from 'node:path';
import { LabError, requireRoot } from './errors.js';
import { hostPaths, mountOverlay, runningPid, startHost } from './host.js';
import { netnsNames } from './network.js';
import { waitForPort } from './ssh.js';
import { readLabState, updateState } from './state.js';
import type { LabOptions } from './types.js';

export const BOOT_TIMEOUT_MS = 120_000;

/** Boots one stopped host and waits for its sshd; a running host is left alone. */
export async function powerOn(o: LabOptions, hostname: string): Promise<void> {
  requireRoot();
  const stateDir = resolve(o.stateDir);
  const state = await readLabState(o);
  if (!state) throw new LabError(`there is no lab "${o.name}" in ${o.stateDir}: run mko lab up`);
  const host = state.hosts.find((h) => h.hostname === hostname);
  if (!host) throw new LabError(`lab "${o.name}" has no host ${hostname}`);
  if ((await runningPid(host)) !== null) return;
  if (!(await netnsNames()).includes(host.netns)) {
    throw new LabError(`lab "${o.name}" is damaged (${host.netns} is gone): run mko lab down, then mko lab up`);
  }
  o.onProgress?.(`powering on ${hostname}`);
  const paths = hostPaths(stateDir, hostname);
  await mountOverlay(state.lowerDir, paths);
  const pid = await startHost(host, paths);
  await updateState(stateDir, (s) => {
    const h = s.hosts.find((x) => x.hostname === hostname);
    if (h) h.pid = pid;
  });
  await waitForPort(host.address, 22, BOOT_TIMEOUT_MS);
}
