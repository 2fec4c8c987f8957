// Roles on a two-host lab (a control plane node and a worker). A join that cannot reach the
// primary once, then can: the microk8s role tries again (bounded, microk8s_retries), the attempt
// shows as Ansible's retry, and the node ends up in the cluster; the MicroK8s test double is told
// to refuse the joiner's first connection (its test hook, ts/lab/standin/README.md), as a
// restarting cluster agent does. Then the scale role (playbooks/scale.yml, the power rules'
// scale_down and scale_up) on a deployment of that cluster.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterGroup } from '../inventory/groups.js';
import { projectRoot } from '../paths.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('jrt');
const FAIL_FILE = '/var/snap/microk8s/common/mko-standin-fail-joins';

describe.skipIf(!isRoot)('roles on a two-host lab', () => {
  let dir: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, all: true, stdin: 'ignore' });
  const onHost = (host: string, command: string) =>
    execa('ansible', [host, '-b', '-m', 'ansible.builtin.shell', '-a', command, '-o'], { env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') }, cwd: projectRoot });

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-join-retry-'));
    env = { MKO_DB: path.join(dir, 'mko.db') };
    const up = await run('lab', 'up', '--name', LAB, '--nodes', '2');
    expect(up.exitCode, up.all).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await run('lab', 'down', '--name', LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a join that fails once is tried again and succeeds; a second setup changes nothing', async () => {
    await onHost(`${LAB}-n2`, `mkdir -p ${path.dirname(FAIL_FILE)} && echo 1 > ${FAIL_FILE}`);
    const setup = await run('cluster', 'setup', LAB, '--verbose');
    expect(setup.exitCode, setup.all).toBe(0);
    // Ansible's own retry line: one failed attempt, three left.
    expect(setup.stdout).toMatch(new RegExp(`FAILED - RETRYING: \\[[^\\]]*\\]: Join the cluster from ${LAB}-n2 \\(3 retries left\\)`));
    expect(setup.stdout.match(/FAILED - RETRYING: .*Join the cluster/g)).toHaveLength(1);
    // The double's hook was used up by that one attempt.
    expect((await onHost(`${LAB}-n2`, `cat ${FAIL_FILE}`)).stdout).toMatch(/\(stdout\) 0$/m);
    const status = await run('cluster', 'status', LAB, '--json');
    const nodes = (JSON.parse(status.stdout) as { nodes: { hostname: string; ready: boolean | null; haRole: string | null }[] }).nodes;
    expect(nodes.find((n) => n.hostname === `${LAB}-n2`)).toMatchObject({ ready: true, haRole: 'worker' });

    const again = await run('cluster', 'setup', LAB, '--verbose');
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toMatch(/changed=0/);
    expect(again.stdout).not.toMatch(/changed=[1-9]/);
  }, 900_000);

  it('scale.yml scales a deployment down and back up, reports before and after, and a second run changes nothing', async () => {
    const kubectl = `/snap/bin/microk8s kubectl`;
    await onHost(`${LAB}-n1`, `${kubectl} create deployment web --image=nginx --replicas=3`);
    const replicas = async () => (await onHost(`${LAB}-n1`, `${kubectl} get deployment/web -o jsonpath={.spec.replicas}`)).stdout.replace(/^.*\(stdout\) /s, '').trim();
    const scale = (action: string, workload: Record<string, unknown>) =>
      execa('ansible-playbook', ['playbooks/scale.yml', '-e', `mko_target=${clusterGroup(LAB)}`, '-e', `scale_action=${action}`, '-e', `scale_report_dir=${dir}`, '-e', JSON.stringify({ scale_workloads: [workload] })], {
        env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') },
        cwd: projectRoot,
        reject: false,
        all: true,
      });
    const report = () => JSON.parse(readFileSync(path.join(dir, 'scale.json'), 'utf8')) as unknown;
    const web = { namespace: 'default', kind: 'deployment', name: 'web' };

    const down = await scale('down', web);
    expect(down.exitCode, down.all).toBe(0);
    expect(down.stdout).toMatch(/changed=1 /);
    expect(report()).toEqual({ schema: 1, action: 'down', workloads: [{ ...web, before: 3, after: 0 }] });
    expect(await replicas()).toBe('0');
    const again = await scale('down', web);
    expect(again.stdout).toMatch(/changed=0 /);

    const up = await scale('up', { ...web, replicas: 3 });
    expect(up.exitCode, up.all).toBe(0);
    expect(report()).toEqual({ schema: 1, action: 'up', workloads: [{ ...web, before: 0, after: 3 }] });
    expect(await replicas()).toBe('3');

    const bad = await scale('up', web);
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout).toContain('scale_workloads must be a non-empty list of {namespace, kind (deployment or statefulset), name}, each with replicas when scale_action is up');
  }, 300_000);
});
