// The scenario harness itself, on fixture scenarios against a real lab: a good scenario passes
// every step, a non-idempotent one and one that breaks in check mode are caught, and a scenario
// that runs after others on the same lab finds none of what they wrote.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLabName } from '../test-support/lab.js';
import { openDb, type Db } from '../db/index.js';
import { listScenarios, runScenarios, type ScenarioResult } from './harness.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('hns');

function scenario(root: string, name: string, tasks: string, verify?: string, { hosts = 'all', molecule = '' } = {}): void {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'molecule.yml'), `driver:\n  name: delegated\nplatforms:\n  - name: h1\n  - name: h2\n${molecule}`);
  writeFileSync(path.join(dir, 'converge.yml'), `- name: Converge\n  hosts: "${hosts}"\n  become: true\n  gather_facts: false\n  tasks:\n${tasks}`);
  if (verify) writeFileSync(path.join(dir, 'verify.yml'), `- name: Verify\n  hosts: all\n  become: true\n  gather_facts: false\n  tasks:\n${verify}`);
}

describe.skipIf(!isRoot)('scenario harness', () => {
  let dir: string;
  let db: Db;
  let results: ScenarioResult[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-harness-'));
    const root = path.join(dir, 'molecule');
    scenario(
      root,
      'good',
      '    - name: Write a file\n      ansible.builtin.copy:\n        dest: /etc/mko-good\n        content: "ok\\n"\n        mode: "0644"\n',
      '    - name: Read it back\n      ansible.builtin.command: grep -qx ok /etc/mko-good\n      changed_when: false\n',
    );
    scenario(root, 'not-idempotent', '    - name: Always changes\n      ansible.builtin.command: date\n');
    scenario(
      root,
      'breaks-check',
      '    - name: Probe a file nobody makes, even in check mode\n      ansible.builtin.command: cat /etc/mko-missing\n      changed_when: false\n      check_mode: false\n',
    );
    // Runs after "good" (scenarios of one size share a lab, in name order): its file must be gone.
    scenario(
      root,
      'starts-fresh',
      '    - name: Find nothing an earlier scenario wrote\n      ansible.builtin.command: test ! -e /etc/mko-good\n      changed_when: false\n',
    );
    // Like the project's scenarios: molecule.yml names a default group, the harness's lab group wins.
    const elsewhere = 'provisioner:\n  inventory:\n    group_vars:\n      all:\n        mko_scenario_group: cluster_elsewhere\n';
    const noop = '    - name: Do nothing\n      ansible.builtin.command: "true"\n      changed_when: false\n';
    scenario(root, 'own-group', noop, undefined, { hosts: '{{ mko_scenario_group }}', molecule: elsewhere });
    scenario(root, 'plays-nowhere', noop, undefined, { hosts: '{{ mko_scenario_group }}__none' });
    db = openDb(path.join(dir, 'mko.db'));
    results = await runScenarios(listScenarios(root), { db, dbPath: path.join(dir, 'mko.db'), dataDir: dir, labName: LAB });
  }, 600_000);

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes a good scenario through every step', () => {
    const good = results.find((r) => r.name === 'good');
    expect(good?.error).toBeUndefined();
    expect(good?.steps).toEqual({ syntax: 'passed', check: 'passed', prepare: 'skipped', converge: 'passed', idempotence: 'passed', verify: 'passed' });
  });

  it('fails a scenario whose second converge changes something', () => {
    const bad = results.find((r) => r.name === 'not-idempotent');
    expect(bad?.steps.idempotence).toBe('failed');
    expect(bad?.error).toMatch(new RegExp(`idempotence: second converge changed things: ${LAB}-n1 changed=1`));
  });

  it('fails a scenario that breaks in check mode', () => {
    const bad = results.find((r) => r.name === 'breaks-check');
    expect(bad?.steps.check).toBe('failed');
    expect(bad?.steps.converge).toBe('not run');
  });

  it("plays on the lab's own cluster group, whatever group molecule.yml names", () => {
    const own = results.find((r) => r.name === 'own-group');
    expect(own?.error).toBeUndefined();
    expect(own?.steps.converge).toBe('passed');
  });

  it('fails a scenario whose plays match no host of the lab: it would test nothing', () => {
    const nowhere = results.find((r) => r.name === 'plays-nowhere');
    expect(nowhere?.steps.check).toBe('failed');
    expect(nowhere?.error).toBe(`check: check mode failed: no host of cluster_${LAB} played (check the hosts: of its plays)`);
  });

  it('starts each scenario on the lab as it was after onboarding, although scenarios share it', () => {
    const good = results.find((r) => r.name === 'good');
    const fresh = results.find((r) => r.name === 'starts-fresh');
    expect(Math.min(...(fresh?.operations ?? []))).toBeGreaterThan(Math.max(...(good?.operations ?? [])));
    expect(fresh?.error).toBeUndefined();
    expect(fresh?.steps.converge).toBe('passed');
  });

  it('records every step as an operation and removes the lab afterwards', () => {
    const kinds = (db.prepare("SELECT kind FROM operations WHERE kind LIKE 'scenario:%'").all() as { kind: string }[]).map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['scenario:syntax', 'scenario:check', 'scenario:converge', 'scenario:idempotence', 'scenario:verify']));
    expect(db.prepare("SELECT count(*) AS n FROM nodes").get()).toEqual({ n: 0 });
  });
});
