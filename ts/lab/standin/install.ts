// The MicroK8s test double on a lab host: `snap`, a snapd that only exists, and the stand-in that
// `snap install microk8s` deploys. Written into the host's overlay when the host is provisioned;
// MicroK8s itself is not installed here: only `snap install microk8s` does that, as on a real host.
import { chmod, copyFile, mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../paths.js';

export const STANDIN_SOURCE = join(projectRoot, 'ts', 'lab', 'standin');

/** [file under ts/lab/standin, path on the host, mode] */
const FILES: ReadonlyArray<readonly [string, string, number]> = [
  ['snap', 'usr/bin/snap', 0o755],
  ['snapd', 'usr/lib/snapd/snapd', 0o755],
  ['snapd.service', 'usr/lib/systemd/system/snapd.service', 0o644],
  ['apps-bin-path.sh', 'etc/profile.d/apps-bin-path.sh', 0o644],
  ['microk8s/microk8s', 'usr/lib/mko-standin/microk8s/microk8s', 0o755],
  ['microk8s/mk8s_agent.py', 'usr/lib/mko-standin/microk8s/mk8s_agent.py', 0o755],
  ['microk8s/mk8s_state.py', 'usr/lib/mko-standin/microk8s/mk8s_state.py', 0o644],
  ['microk8s/kubectl', 'usr/lib/mko-standin/microk8s/kubectl', 0o755],
];

/** Copies the double into a host's root filesystem and enables its snapd.service. */
export async function installStandin(root: string): Promise<void> {
  for (const [source, target, mode] of FILES) {
    const to = join(root, target);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(join(STANDIN_SOURCE, source), to);
    await chmod(to, mode);
  }
  const wants = join(root, 'etc/systemd/system/multi-user.target.wants/snapd.service');
  await mkdir(dirname(wants), { recursive: true });
  await rm(wants, { force: true });
  await symlink('/usr/lib/systemd/system/snapd.service', wants);
}
