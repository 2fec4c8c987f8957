// Bringing a whole lab up and down, and reporting on it.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, realpath, rm, rmdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { findCgroups, removeCgroup } from './cgroup.js';
import { LabError, requireRoot } from './errors.js';
import { hostPaths, mountOverlay, mountPoints, provisionHost, runningPid, startHost, stopHost } from './host.js';
import type { HostProcess } from './host.js';
import {
  bridgeName, hostAddress, hostCgroup, hostName, leftoverPatterns, macFor, netnsName, pickSubnet,
  validateLabName, validateNodeCount, vethName, wolCgroup,
} from './naming.js';
import { createBridge, createHostLink, deleteLink, deleteNetns, linkNames, netnsNames, routeDestinations } from './network.js';
import { BOOT_TIMEOUT_MS, powerOn } from './power.js';
import { ensureRootfsDir, ensureRootfsTarball, validateLoginUser } from './rootfs.js';
import {
  adminKeyPath, closeControlMasters, ensureAdminKey, knownHostsPath, scanHostKeys, sshDir, waitForPort,
  waitForSystem, writeKnownHosts,
} from './ssh.js';
import { readLabState, readState, statePath, updateState, writeState } from './state.js';
import type { HostState, LabState } from './state.js';
import type { LabInfo, LabOptions } from './types.js';
import { startWolFirmware, stopWolFirmware, wolFirmwareRunning } from './wol-listener.js';

const DEFAULT_USER = 'mko';
export const HOST_STOP_TIMEOUT_MS = 20_000;
const noop = () => {};

/** The build machine's /dev/null has been seen at 0755 after package installs: put it right. */
async function ensureDevNull(progress: (m: string) => void): Promise<void> {
  const mode = (await stat('/dev/null')).mode & 0o777;
  if (mode !== 0o666) {
    await chmod('/dev/null', 0o666);
    progress(`/dev/null was mode ${mode.toString(8)}: restored to 666`);
  }
}

export async function labInfo(state: LabState, stateDir: string): Promise<LabInfo> {
  const hosts = await Promise.all(
    state.hosts.map(async (h) => ({
      hostname: h.hostname,
      address: h.address,
      mac: h.mac,
      netns: h.netns,
      running: (await runningPid(h)) !== null,
    })),
  );
  return {
    name: state.name,
    bridge: state.bridge,
    subnet: state.subnet,
    gateway: state.gateway,
    broadcast: state.broadcast,
    adminKey: state.adminKey,
    knownHosts: knownHostsPath(stateDir),
    user: state.user,
    userPassword: state.userPassword,
    hosts,
  };
}

export async function labStatus(o: LabOptions): Promise<LabInfo | null> {
  requireRoot();
  validateLabName(o.name);
  const state = await readLabState(o);
  return state && labInfo(state, resolve(o.stateDir));
}

export async function labUp(o: LabOptions & { nodes: number; user?: string }): Promise<LabInfo> {
  requireRoot();
  validateLabName(o.name);
  validateNodeCount(o.nodes);
  const user = o.user ?? DEFAULT_USER;
  validateLoginUser(user);
  const progress = o.onProgress ?? noop;
  const stateDir = resolve(o.stateDir);
  await ensureDevNull(progress);

  const existing = await readLabState(o);
  if (existing?.complete && (await isIntact(existing))) return resumeLab(o, existing, progress);
  if (existing) progress(`removing what an unfinished or damaged lab "${o.name}" left behind`);
  await teardown(o.name, stateDir, existing);

  const lowerDir = await ensureRootfsDir(await ensureRootfsTarball(progress), progress);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const adminPublicKey = await ensureAdminKey(stateDir);
  const subnet = pickSubnet(o.name, await routeDestinations());
  const hosts: HostState[] = Array.from({ length: o.nodes }, (_, i) => {
    const hostname = hostName(o.name, i + 1);
    return {
      index: i + 1,
      hostname,
      address: hostAddress(subnet, i + 1),
      mac: macFor(o.name, i + 1),
      netns: netnsName(o.name, i + 1),
      veth: vethName(o.name, i + 1),
      cgroup: hostCgroup(hostname),
      pid: null,
    };
  });
  const state: LabState = {
    version: 1,
    name: o.name,
    complete: false,
    ...subnet,
    bridge: bridgeName(o.name),
    user,
    userPassword: randomBytes(9).toString('base64url'),
    adminKey: adminKeyPath(stateDir),
    lowerDir,
    wolPid: null,
    hosts,
  };
  // Written before anything is made, so `down` can find it all after a crash.
  await writeState(stateDir, state);

  progress(`preparing ${o.nodes} host(s) on ${state.bridge} ${state.subnet}`);
  await createBridge(state.bridge, macFor(o.name, 0), subnet);
  for (const host of hosts) {
    const paths = hostPaths(stateDir, host.hostname);
    await createHostLink(state.bridge, subnet, host);
    await mountOverlay(state.lowerDir, paths);
    await provisionHost(paths, host, adminPublicKey, { user: state.user, password: state.userPassword });
  }

  progress(`booting ${hosts.map((h) => h.hostname).join(', ')}`);
  for (const host of hosts) host.pid = await startHost(host, hostPaths(stateDir, host.hostname));
  await writeState(stateDir, state);
  await Promise.all(hosts.map((h) => waitForPort(h.address, 22, BOOT_TIMEOUT_MS)));
  await writeKnownHosts(stateDir, await scanHostKeys(hosts));
  const states = await Promise.all(hosts.map((h) => waitForSystem(stateDir, h.address, BOOT_TIMEOUT_MS)));
  progress(`hosts up: ${hosts.map((h, i) => `${h.hostname} ${states[i]}`).join(', ')}`);

  const wolPid = await startWolFirmware(o.name, stateDir);
  const final = await updateState(stateDir, (s) => {
    s.wolPid = wolPid;
    s.complete = true;
  });
  await ensureDevNull(progress);
  if (!final) throw new Error(`the lab state file ${statePath(stateDir)} vanished during lab up`);
  return labInfo(final, stateDir);
}

/** Bridge and namespaces still there (they are not after a reboot of this machine). */
async function isIntact(state: LabState): Promise<boolean> {
  const [links, namespaces] = await Promise.all([linkNames(), netnsNames()]);
  return links.includes(state.bridge) && state.hosts.every((h) => namespaces.includes(h.netns));
}

/** `up` of a lab that is already up: power on what is off, restart the WoL firmware if needed. */
async function resumeLab(
  o: LabOptions & { nodes: number },
  state: LabState,
  progress: (m: string) => void,
): Promise<LabInfo> {
  const stateDir = resolve(o.stateDir);
  if (state.hosts.length !== o.nodes) {
    throw new LabError(`lab "${o.name}" is already up with ${state.hosts.length} host(s): run mko lab down first`);
  }
  progress(`lab "${o.name}" is already up`);
  for (const host of state.hosts) {
    if ((await runningPid(host)) === null) await powerOn(o, host.hostname);
  }
  if (!(await wolFirmwareRunning(state.wolPid))) {
    await stopWolFirmware(o.name, stateDir, null);
    const wolPid = await startWolFirmware(o.name, stateDir);
    await updateState(stateDir, (s) => {
      s.wolPid = wolPid;
    });
  }
  const current = await readState(stateDir);
  if (!current) throw new Error(`the lab state file ${statePath(stateDir)} vanished during lab up`);
  return labInfo(current, stateDir);
}

export async function labDown(o: LabOptions): Promise<void> {
  requireRoot();
  validateLabName(o.name);
  const progress = o.onProgress ?? noop;
  const stateDir = resolve(o.stateDir);
  const state = await readLabState(o);
  progress(`removing lab "${o.name}"`);
  await teardown(o.name, stateDir, state);
  await rmdir(stateDir).catch(() => undefined); // only when empty: the caller may keep more there
  await ensureDevNull(progress);
}

/**
 * Removes everything a lab made, from its state file and from what is found by name (so it also
 * cleans after a crash, with a missing state file or stale PIDs). Safe to run again.
 */
async function teardown(name: string, stateDir: string, state: LabState | null): Promise<void> {
  const patterns = leftoverPatterns(name);
  // The firmware first, so nothing is powered on while the hosts go down.
  await stopWolFirmware(name, stateDir, state?.wolPid ?? null);

  const hosts: HostProcess[] = [...(state?.hosts ?? [])];
  for (const cgroup of await findCgroups(patterns.cgroup)) {
    if (cgroup !== wolCgroup(name) && !hosts.some((h) => h.cgroup === cgroup)) {
      hosts.push({ hostname: cgroup.replace(/^mko-lab-/, ''), cgroup, pid: null });
    }
  }
  await Promise.all(hosts.map((h) => stopHost(h, HOST_STOP_TIMEOUT_MS)));
  for (const h of hosts) await removeCgroup(h.cgroup);

  const realDir = await realpath(stateDir).catch(() => stateDir);
  const mounts = (await mountPoints()).filter((m) => m.startsWith(`${realDir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    const r = await execa('umount', [m], { reject: false });
    if (r.exitCode !== 0) await execa('umount', ['--lazy', m]);
  }

  const links = await linkNames();
  const vethNames = new Set([...(state?.hosts ?? []).map((h) => h.veth), ...links.filter((l) => patterns.veth.test(l))]);
  for (const veth of vethNames) if (links.includes(veth)) await deleteLink(veth);
  const namespaces = await netnsNames();
  for (const ns of namespaces.filter((n) => patterns.netns.test(n))) await deleteNetns(ns);
  for (const bridge of new Set([bridgeName(name), state?.bridge])) {
    if (bridge && links.includes(bridge)) await deleteLink(bridge);
  }

  await closeControlMasters(stateDir);
  if ((await mountPoints()).some((m) => m.startsWith(`${realDir}/`))) {
    throw new Error(`something is still mounted under ${realDir}: not removing the lab's files`);
  }
  // Never the shared lower dir (state.lowerDir, a cache beside the tarball); 'rootfs' is the lower
  // dir labs made before it was shared kept here.
  for (const p of ['hosts', 'rootfs', 'rootfs.partial', sshDir(stateDir), knownHostsPath(stateDir)]) {
    await rm(resolve(stateDir, p), { recursive: true, force: true });
  }
  await rm(statePath(stateDir), { force: true });
  await rm(`${statePath(stateDir)}.lock`, { force: true });
}
