// The cluster lifecycle through the built CLI, on a real lab (MicroK8s there is the lab's test
// double): setup forms HA, status reads every node, upgrade refusals touch nothing, a node leaves
// the cluster and /etc/hosts follows, reset wipes a node.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLabName } from '../test-support/lab.js';
import { projectRoot } from '../paths.js';

const isRoot = process.getuid?.() === 0;
const mko = path.join(projectRoot, 'bin', 'mko');
const LAB = testLabName('cst');

interface StatusRow {
  hostname: string;
  reachable: boolean;
  installed: boolean | null;
  ready: boolean | null;
  haRole: string | null;
  channel: string | null;
}

describe.skipIf(!isRoot)('cluster lifecycle commands on the lab', () => {
  let dir: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, all: true, stdin: 'ignore' });
  const status = async (): Promise<StatusRow[]> => {
    const result = await run('cluster', 'status', LAB, '--json');
    expect(result.exitCode, result.all).toBe(0);
    return (JSON.parse(result.stdout) as { nodes: StatusRow[] }).nodes;
  };
  const hostsFile = async (host: string): Promise<string> =>
    (await execa('ansible', [host, '-m', 'ansible.builtin.command', '-a', 'cat /etc/hosts', '-o'], { env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') }, cwd: projectRoot })).stdout;

  beforeAll(async () => {
    await execa('npm', ['run', 'build'], { cwd: projectRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-cluster-'));
    env = { MKO_DB: path.join(dir, 'mko.db') };
    const up = await run('lab', 'up', '--name', LAB, '--nodes', '4');
    expect(up.exitCode, up.all).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await run('lab', 'down', '--name', LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the cluster up: HA with 3 voters and a Ready worker, kubeconfig 0600', async () => {
    const check = await run('cluster', 'setup', LAB, '--check');
    expect(check.exitCode, check.all).toBe(0);
    expect((await status()).every((s) => s.installed === false)).toBe(true);

    const setup = await run('cluster', 'setup', LAB);
    expect(setup.exitCode, setup.all).toBe(0);
    const rows = await status();
    expect(rows.filter((s) => s.haRole === 'voter').map((s) => s.hostname).sort()).toEqual([`${LAB}-n1`, `${LAB}-n2`, `${LAB}-n3`]);
    expect(rows.find((s) => s.hostname === `${LAB}-n4`)?.haRole).toBe('worker');
    expect(rows.every((s) => s.ready)).toBe(true);

    const table = (await run('cluster', 'status', LAB)).stdout;
    expect(table).toMatch(/^NODE\s+REACHABLE\s+MICROK8S/);
    const kubeconfig = (await run('cluster', 'kubeconfig', LAB)).stdout.trim();
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
  }, 600_000);

  it('refuses a two-minor upgrade and a downgrade before touching a node', async () => {
    // The role's preflight play is the one check: it runs on every node, refuses, and names the fix.
    for (const [channel, says] of [
      ['1.33/stable', 'microk8s_channel=1.33/stable is more than one minor ahead: upgrade to 1.32/stable first'],
      ['1.30/stable', 'microk8s_channel=1.30/stable is a downgrade: MicroK8s cannot be downgraded, give 1.31/stable or 1.32/stable'],
    ] as const) {
      const refused = await run('cluster', 'upgrade', LAB, '--channel', channel, '--verbose');
      expect(refused.exitCode, refused.all).toBe(2);
      expect(refused.stdout).toContain(says);
      expect(refused.stdout).not.toContain('Drain the node');
    }
    expect((await status()).every((s) => s.channel === '1.31/stable')).toBe(true);
    expect(JSON.parse((await run('cluster', 'show', LAB, '--json')).stdout)).toMatchObject({ channel: '1.31/stable' });
  }, 300_000);

  it('upgrades one minor and records the new channel', async () => {
    const upgraded = await run('cluster', 'upgrade', LAB, '--channel', '1.32/stable');
    expect(upgraded.exitCode, upgraded.all).toBe(0);
    expect((await status()).every((s) => s.channel === '1.32/stable' && s.ready)).toBe(true);
    expect(JSON.parse((await run('cluster', 'show', LAB, '--json')).stdout)).toMatchObject({ channel: '1.32/stable' });
  }, 600_000);

  it('takes a worker out of the cluster and out of every /etc/hosts', async () => {
    expect(await hostsFile(`${LAB}-n1`)).toContain(`${LAB}-n4`);
    const removed = await run('node', 'remove', `${LAB}-n4`, '--from-cluster', '--yes');
    expect(removed.exitCode, removed.all).toBe(0);
    expect(JSON.parse((await run('node', 'show', `${LAB}-n4`, '--json')).stdout)).toMatchObject({ cluster: null });
    expect(await hostsFile(`${LAB}-n1`)).not.toContain(`${LAB}-n4`);
    expect((await status()).map((s) => s.hostname)).not.toContain(`${LAB}-n4`);
  }, 600_000);

  it('resets a node only when confirmed and HA allows it, and a second reset changes nothing', async () => {
    expect((await run('node', 'reset', `${LAB}-n3`)).exitCode).toBe(1); // no terminal, no --yes
    const guarded = await run('node', 'reset', `${LAB}-n3`, '--yes', '--verbose');
    expect(guarded.exitCode).toBe(2);
    expect(guarded.stdout).toContain('only 2 member(s) would remain');
    expect((await status()).find((s) => s.hostname === `${LAB}-n3`)?.haRole).toBe('voter');
    const reset = await run('node', 'reset', `${LAB}-n3`, '--yes', '--force');
    expect(reset.exitCode, reset.all).toBe(0);
    const again = await run('node', 'reset', `${LAB}-n3`, '--yes', '--force', '--verbose');
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${LAB}-n3\\s+: ok=\\d+\\s+changed=0 `));
    expect((await status()).find((s) => s.hostname === `${LAB}-n3`)?.installed).toBe(false);
  }, 600_000);
});
