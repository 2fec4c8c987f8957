// One lab host: an overlay over the shared lower rootfs, first-boot files, and the
// systemd-nspawn process that is the host's power (it exits when the host powers off).
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cgroupPids, createCgroup, killCgroup, removeCgroup } from './cgroup.js';
import { commandLine, isRunningAs, signal, spawnInCgroups, waitForExit } from './process.js';
import { addLoginUser } from './rootfs.js';
import { installStandin } from './standin/install.js';
import type { HostState } from './state.js';

export interface HostPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  console: string;
  /** exists once the first-boot files are written */
  provisioned: string;
  /** a former upper dir kept read-only between the shared lower dir and the upper (labSnapshot) */
  snapshot: string;
}

export function hostPaths(stateDir: string, hostname: string): HostPaths {
  const dir = join(stateDir, 'hosts', hostname);
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    merged: join(dir, 'merged'),
    console: join(dir, 'console.log'),
    provisioned: join(dir, 'provisioned'),
    snapshot: join(dir, 'snapshot'),
  };
}

/** Mount points (decoded) from /proc/self/mountinfo. */
export async function mountPoints(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export async function mountOverlay(lower: string, paths: HostPaths): Promise<void> {
  if ((await mountPoints()).includes(paths.merged)) return;
  for (const d of [paths.upper, paths.work, paths.merged]) await mkdir(d, { recursive: true });
  const lowers = existsSync(paths.snapshot) ? `${paths.snapshot}:${lower}` : lower;
  await execa('mount', [
    '-t', 'overlay', 'overlay',
    '-o', `lowerdir=${lowers},upperdir=${paths.upper},workdir=${paths.work}`,
    paths.merged,
  ]);
}

/** Unmounts the host's overlay (lazily when something still holds it). */
export async function unmountOverlay(paths: HostPaths): Promise<void> {
  if (!(await mountPoints()).includes(paths.merged)) return;
  const r = await execa('umount', [paths.merged], { reject: false });
  if (r.exitCode !== 0) await execa('umount', ['--lazy', paths.merged]);
}

const SSHD_DROP_IN = `# mko lab: one host key per host, written at first boot
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication yes
UseDNS no
`;

/**
 * First-boot files: hostname, /etc/hosts, host key, root's key, sshd drop-in, machine id, the
 * login user, and the snap/MicroK8s test double (snaps cannot run on lab hosts). All of it goes to
 * the host's upper dir: the lower dir is shared by every host.
 */
export async function provisionHost(
  paths: HostPaths,
  host: Pick<HostState, 'hostname' | 'address'>,
  adminPublicKey: string,
  login: { user: string; password: string },
): Promise<void> {
  if (existsSync(paths.provisioned)) return;
  const root = paths.merged;
  const at = (p: string) => join(root, p);
  await writeFile(at('etc/hostname'), `${host.hostname}\n`);
  await writeFile(
    at('etc/hosts'),
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${host.address}\t${host.hostname}\n`,
  );
  // No DNS server answers on the lab network: without one listed, lookups fail at once instead of
  // timing out against the build machine's resolver (which the rootfs inherited).
  await rm(at('etc/resolv.conf'), { force: true });
  await writeFile(at('etc/resolv.conf'), '# mko lab: no DNS server on the lab network; names come from /etc/hosts\n');
  const machineId = (await execa('systemd-id128', ['new'])).stdout.trim();
  await writeFile(at('etc/machine-id'), `${machineId}\n`, { mode: 0o444 });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${host.hostname}`, '-f', at('etc/ssh/ssh_host_ed25519_key')]);
  await mkdir(at('etc/ssh/sshd_config.d'), { recursive: true });
  await writeFile(at('etc/ssh/sshd_config.d/mko-lab.conf'), SSHD_DROP_IN);
  await mkdir(at('root/.ssh'), { recursive: true, mode: 0o700 });
  await chmod(at('root/.ssh'), 0o700);
  await writeFile(at('root/.ssh/authorized_keys'), adminPublicKey, { mode: 0o600 });
  await addLoginUser(root, login.user, login.password);
  await installStandin(root);
  await writeFile(paths.provisioned, `${new Date().toISOString()}\n`);
}

/** What is needed to find a host's process: also known for leftovers without a state file. */
export type HostProcess = Pick<HostState, 'hostname' | 'cgroup' | 'pid'>;

/** Markers that tell a host's nspawn process from anything else that got its PID. */
const nspawnMarkers = (hostname: string) => ['systemd-nspawn', `--machine=${hostname}`];

/** PID of the host's running nspawn: the recorded one, else found in the host's cgroup. */
export async function runningPid(host: HostProcess): Promise<number | null> {
  if (await isRunningAs(host.pid, nspawnMarkers(host.hostname))) return host.pid;
  for (const pid of await cgroupPids(host.cgroup)) {
    const argv = await commandLine(pid);
    // the nspawn process itself, not the container's processes under it
    if (argv?.[0]?.endsWith('systemd-nspawn') && argv.includes(`--machine=${host.hostname}`)) return pid;
  }
  return null;
}

/** Powers the host on: `nsenter --net=NS systemd-nspawn --boot ...` in the host's cgroups. */
export async function startHost(host: HostState, paths: HostPaths): Promise<number> {
  const command = [
    'nsenter', `--net=/run/netns/${host.netns}`,
    'systemd-nspawn', '-q', '-D', paths.merged, '--boot', `--machine=${host.hostname}`,
    `--hostname=${host.hostname}`, '--register=no', '--keep-unit', '--resolv-conf=off',
    // Its own network namespace only (nsenter above): iptables there, as on a real node (mko doctor).
    '--capability=CAP_NET_ADMIN',
  ];
  // cgroups a previous boot left (empty) are dropped, so each boot starts from a fresh tree
  if ((await cgroupPids(host.cgroup)).length === 0) await removeCgroup(host.cgroup);
  return spawnInCgroups(command, await createCgroup(host.cgroup), paths.console);
}

/**
 * Powers the host off: SIGTERM to nspawn is a clean poweroff; whatever still runs in the host's
 * cgroup after the timeout is killed.
 */
export async function stopHost(host: HostProcess, timeoutMs: number): Promise<void> {
  const pid = await runningPid(host);
  if (pid !== null) {
    signal(pid, 'SIGTERM');
    await waitForExit([pid], timeoutMs);
  }
  await killCgroup(host.cgroup);
}
