// The one upgrade check is the microk8s role's preflight (mko cluster upgrade has none of its
// own). Its channel comparison, the role's own task text, run by ansible-playbook on localhost
// for each kind of channel a user may ask for, with the node's probed state as input: allowed
// moves pass, and each refusal names microk8s_channel and the fix.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../paths.js';

const role = path.join(projectRoot, 'roles', 'microk8s');
const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-channel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Task {
  name: string;
  [key: string]: unknown;
}
const preflight = parse(readFileSync(path.join(role, 'tasks', 'upgrade_preflight.yml'), 'utf8')) as Task[];
const channelCheck = preflight.find((t) => t.name === 'Check that the node can move to the channel');

interface Case {
  from: string;
  to: string;
  running?: boolean;
}

/** The role's channel check for each case, one play each; what it said, in order. */
async function check(cases: Case[]): Promise<{ failed: boolean; msg: string }[]> {
  const plays = cases.map((c) => ({
    name: `${c.from} -> ${c.to}`,
    hosts: 'localhost',
    gather_facts: false,
    vars_files: [path.join(role, 'vars', 'main.yml')],
    vars: {
      microk8s_channel: c.to,
      microk8s_probe: { installed: true, channel: c.from, running: c.running ?? true, said: 'microk8s is not running' },
    },
    tasks: [{ ...channelCheck, ignore_errors: true }],
  }));
  const playbook = path.join(dir, `check-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(playbook, stringify(plays));
  const result = await execa('ansible-playbook', ['-i', 'localhost,', '-c', 'local', playbook], {
    cwd: dir, // not the project's ansible.cfg: its callbacks would record this run
    env: { ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOCALHOST_WARNING: 'false' },
    reject: false,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as { plays: { tasks: { hosts: Record<string, { failed?: boolean; msg?: string }> }[] }[] };
  return report.plays.map((p) => {
    const host = p.tasks[0]?.hosts['localhost'] ?? {};
    return { failed: host.failed === true, msg: host.msg ?? '' };
  });
}

describe('the upgrade channel check (roles/microk8s/tasks/upgrade_preflight.yml)', () => {
  it('is in the role', () => {
    expect(channelCheck).toBeDefined();
  });

  it('allows the same or the next minor, and refuses the rest naming microk8s_channel and the fix', async () => {
    const [next, same, risk, skip, down, major, latest, stopped] = await check([
      { from: '1.31/stable', to: '1.32/stable' },
      { from: '1.31/stable', to: '1.31/stable' },
      { from: '1.31/stable', to: '1.31/candidate' },
      { from: '1.31/stable', to: '1.33/stable' },
      { from: '1.31/stable', to: '1.30/stable' },
      { from: '1.31/stable', to: '2.0/stable' },
      { from: 'latest/stable', to: '1.32/stable' },
      { from: '1.31/stable', to: '1.32/stable', running: false },
    ]);
    for (const ok of [next, same, risk]) expect(ok?.failed, ok?.msg).toBe(false);
    expect(skip).toEqual({ failed: true, msg: 'Refusing to upgrade: localhost tracks 1.31/stable; microk8s_channel=1.33/stable is more than one minor ahead: upgrade to 1.32/stable first. Nothing was changed.' });
    expect(down?.msg).toBe('Refusing to upgrade: localhost tracks 1.31/stable; microk8s_channel=1.30/stable is a downgrade: MicroK8s cannot be downgraded, give 1.31/stable or 1.32/stable. Nothing was changed.');
    expect(major?.msg).toMatch(/microk8s_channel=2\.0\/stable is another major version: MicroK8s moves one minor at a time, next 1\.32\/stable\./);
    expect(latest?.msg).toMatch(/tracks latest\/stable; microk8s_channel=1\.32\/stable is not comparable with it \(no minor version\)/);
    expect(stopped?.msg).toBe('Refusing to upgrade: localhost tracks 1.31/stable and is not running (microk8s is not running): start it first (microk8s start). Nothing was changed.');
  }, 60_000);
});
