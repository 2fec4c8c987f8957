// Stored strings reach Ansible as data, never as templates. Each path a value takes into Ansible
// (host variables, group variables, extra variables, the exported YAML inventory) carries a
// payload that would create a marker file if Ansible templated it: the built CLI, the real
// inventory script, ansible and ansible-playbook over real SSH to a loopback sshd.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { writeExtraVarsFile } from '../ops/extra-vars.js';
import { runPlaybook } from '../ops/index.js';
import { inventoryScript, projectRoot } from '../paths.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { createUser, pasteAsUser, removeUser, startSshd, type Sshd, type TestUser } from '../test-support/sshd.js';
import { markUnsafe } from './unsafe.js';

const isRoot = process.getuid?.() === 0;

describe('markUnsafe', () => {
  it('wraps every string however deep, leaves numbers, booleans, null and keys alone', () => {
    expect(markUnsafe({ a: 'x', n: 1, b: false, z: null, list: ['y', { k: 'v' }], nested: { deep: ['{{ 1 }}'] } })).toEqual({
      a: { __ansible_unsafe: 'x' },
      n: 1,
      b: false,
      z: null,
      list: [{ __ansible_unsafe: 'y' }, { k: { __ansible_unsafe: 'v' } }],
      nested: { deep: [{ __ansible_unsafe: '{{ 1 }}' }] },
    });
  });

  it('refuses a key that Ansible would read as a marker', () => {
    expect(() => markUnsafe({ labels: { __ansible_vault: 'x' } })).toThrow(/__ansible_vault/);
  });

  it('writes extra variables 0600, as JSON ansible-core reads with the unsafe marks', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-us-vars-'));
    try {
      const file = path.join(dir, 'extra-vars.json');
      writeExtraVarsFile(file, { nut_port: '{{ x }}', nut_upsd_port: 3493 });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ nut_port: { __ansible_unsafe: '{{ x }}' }, nut_upsd_port: 3493 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const user: TestUser = { name: 'mkous-node', password: 'pw-mkous-1', sudoGroup: true };

describe.skipIf(!isRoot)('stored templates reach Ansible verbatim and run nothing', () => {
  let sshd: Sshd;
  let dir: string;
  let env: Record<string, string>;
  const marker = (name: string): string => path.join(dir, `marker-${name}`);
  /** What would run `touch <marker>` on the controller if Ansible templated it. */
  const payload = (name: string): string => `{{ lookup('pipe', 'touch ${marker(name)}') }}`;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, all: true });
  const ansible = (inventory: string, ...args: string[]) =>
    execa('ansible', ['-i', inventory, 'n1', ...args], { cwd: projectRoot, env: { ...env, ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' }, reject: false, all: true });
  const sql = (statement: string, ...params: unknown[]): void => {
    const db = new Database(env['MKO_DB'] as string);
    try {
      db.prepare(statement).run(...params);
    } finally {
      db.close();
    }
  };
  const noMarkers = (): void => {
    for (const name of ['label', 'addon', 'port', 'description', 'option', 'extra']) expect(existsSync(marker(name)), `marker-${name} was created: Ansible templated a stored value`).toBe(false);
  };

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-us-'));
    env = { MKO_DB: path.join(dir, 'mko.db'), ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'cp') };
    sshd = await startSshd();
    await createUser(user);
    expect((await run('cluster', 'add', 'home')).exitCode).toBe(0);
    const added = await run('node', 'add', '--hostname', 'n1', '--ip', '127.0.0.1', '--port', String(sshd.port), '--user', user.name, '--cluster', 'home', '--label', `note=${payload('label')}`);
    expect(added.exitCode, added.all).toBe(0);
    const start = added.stdout.indexOf('then paste:\n\n') + 'then paste:\n\n'.length;
    const pasted = await pasteAsUser(user, added.stdout.slice(start, added.stdout.indexOf('\n\n', start)));
    expect(pasted.output).toContain('passwordless sudo');
    // What an older mko, or anyone who can write the database, may have stored.
    sql("UPDATE clusters SET addons = ? WHERE name = 'home'", JSON.stringify([{ name: 'metallb', args: payload('addon') }]));
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await removeUser(user.name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('host and group variables from the inventory script: ansible -m debug shows the literal strings', async () => {
    const label = await ansible(inventoryScript, '-m', 'debug', '-a', 'var=mko_labels.note');
    expect(label.exitCode, label.all).toBe(0);
    expect(label.stdout).toContain(`"mko_labels.note": "${payload('label')}"`);
    const addons = await ansible(inventoryScript, '-m', 'debug', '-a', 'var=mko_microk8s_addons[0].args');
    expect(addons.exitCode, addons.all).toBe(0);
    expect(addons.stdout).toContain(`"mko_microk8s_addons[0].args": "${payload('addon')}"`);
    noMarkers();
  });

  it('the exported YAML inventory tags them !unsafe, and Ansible keeps them literal', async () => {
    const file = path.join(dir, 'hosts.yml');
    expect((await run('inventory', 'export', '-o', file)).exitCode).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain(`note: !unsafe "${payload('label')}"`);
    const label = await ansible(file, '-m', 'debug', '-a', 'var=mko_labels.note');
    expect(label.stdout, label.all).toContain(`"mko_labels.note": "${payload('label')}"`);
    const addons = await ansible(file, '-m', 'debug', '-a', 'var=mko_microk8s_addons');
    expect(addons.stdout, addons.all).toContain(payload('addon'));
    noMarkers();
  });

  it('a playbook over SSH writes host, group and extra variables to the node verbatim', async () => {
    const book = path.join(dir, 'write.yml');
    writeFileSync(
      book,
      `- name: Write variables
  hosts: n1
  gather_facts: false
  tasks:
    - name: Write each value to a file on the node
      ansible.builtin.copy:
        content: "{{ item.value }}"
        dest: "~/{{ item.name }}.txt"
        mode: "0600"
      loop:
        - { name: label, value: "{{ mko_labels.note }}" }
        - { name: addon, value: "{{ mko_microk8s_addons[0].args }}" }
        - { name: extra, value: "{{ planted.list[0] }}" }
`,
    );
    const db = openDb(env['MKO_DB'] as string);
    try {
      const result = await runPlaybook(db, { kind: 'test', target: 'n1', playbook: book, dbPath: env['MKO_DB'] as string, env, extraVars: { planted: { list: [payload('extra')] } } });
      expect(result.status, result.output).toBe('succeeded');
    } finally {
      db.close();
    }
    for (const name of ['label', 'addon', 'extra']) expect(readFileSync(`/home/${user.name}/${name}.txt`, 'utf8')).toBe(payload(name));
    noMarkers();
  });

  it('ups add refuses a template where none belongs, keeps free text, and ups setup --check runs none of them', async () => {
    const port = await run('ups', 'add', 'u1', '--host', 'n1', '--port', "{{lookup('pipe','id')}}");
    expect(port.exitCode).toBe(1);
    expect(port.stderr).toMatch(/^mko: invalid --port [^\n]*"\{\{", "\{%" and "\{#"[^\n]*$/);
    const addons = await run('cluster', 'add', 'c2', '--addons', 'dns:{{7*7}}');
    expect(addons.exitCode).toBe(1);
    expect(addons.stderr).toMatch(/^mko: invalid --addons [^\n]*template\)$/);

    const added = await run('ups', 'add', 'u1', '--host', 'n1', '--driver', 'dummy-ups', '--port', 'dummy.dev', '--description', payload('description'), '--option', `mode=${payload('option')}`);
    expect(added.exitCode, added.all).toBe(0);
    sql("UPDATE upses SET port = ? WHERE name = 'u1'", payload('port'));
    // The nut role reads nut_port in its first checks, then renders ups.conf (shown by --diff).
    // This host has no systemd, so the run fails later, at the first service handler.
    const setup = await run('ups', 'setup', 'u1', '--check', '--verbose');
    expect(setup.all).toContain('TASK [nut : Write ups.conf]');
    expect(setup.all).toContain(`+  port = "${payload('port')}"`);
    expect(setup.all).toContain(`+  desc = "${payload('description')}"`);
    expect(setup.all).toContain(`+  mode = "${payload('option')}"`);
    noMarkers();
  }, 300_000);
});
