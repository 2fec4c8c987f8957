// A lab host that plays the controller, for the tests of playbooks that install mko's own systemd
// units (watcher.yml, web.yml): lab hosts run systemd, the build machine does not. The host gets
// a copy of the built mko (node, bin/, dist/, production node_modules, templates, migrations) and
// of the fleet database, written straight into its overlay root; playbooks run against it.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { expect } from 'vitest';
import { hostPaths } from '../lab/host.js';
import { migrationsDir, projectRoot, templatesDir } from '../paths.js';
import { mkoBin } from './cli.js';

/** Where the copies live on the controller host. */
export const REMOTE_ROOT = '/opt/mko';
export const REMOTE_MKO = `${REMOTE_ROOT}/bin/mko`;
export const REMOTE_DB = '/var/lib/mko/mko.db';

export interface LabJson {
  adminKey: string;
  knownHosts: string;
  hosts: { hostname: string; address: string }[];
}

export interface Recap {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
}

/** The controller's copy of mko: only what mko needs at run time. */
export async function copyMko(root: string): Promise<void> {
  const target = path.join(root, REMOTE_ROOT.slice(1));
  rmSync(target, { recursive: true, force: true });
  // The node running this test (linked against libc, libstdc++, libm and libgcc_s only: the lab's
  // bookworm rootfs has them).
  cpSync(process.execPath, path.join(root, 'usr', 'local', 'bin', 'node'));
  for (const part of ['bin', 'dist', 'package.json']) cpSync(path.join(projectRoot, part), path.join(target, part), { recursive: true });
  cpSync(templatesDir, path.join(target, 'templates'), { recursive: true });
  cpSync(migrationsDir, path.join(target, 'ts', 'db', 'migrations'), { recursive: true });
  // Production packages as installed (top-level directories; nested ones come with their parent).
  const listed = (await execa('npm', ['ls', '--omit=dev', '--parseable', '--all'], { cwd: projectRoot, reject: false })).stdout;
  const modules = path.join(projectRoot, 'node_modules');
  const packages = listed
    .split('\n')
    .map((p) => path.relative(modules, p.trim()))
    .filter((p) => p && !p.startsWith('..') && !p.includes('node_modules'));
  expect(packages).toEqual(expect.arrayContaining(['better-sqlite3', 'yargs', 'execa']));
  for (const p of packages) {
    if (p === 'better-sqlite3') continue;
    cpSync(path.join(modules, p), path.join(target, 'node_modules', p), { recursive: true });
  }
  // better-sqlite3 without its sources and other platforms' addons: the JS and this one's N-API build.
  const sqlite = path.join(modules, 'better-sqlite3');
  const sqliteTarget = path.join(target, 'node_modules', 'better-sqlite3');
  for (const part of ['package.json', 'lib', path.join('prebuilds', `${process.platform}-${process.arch}.node`)]) {
    cpSync(path.join(sqlite, part), path.join(sqliteTarget, part), { recursive: true });
  }
}

/** One lab host as the controller: ssh to it, mko on it, playbooks against it, its units' state. */
export class ControllerLab {
  lab!: LabJson;

  constructor(
    readonly name: string,
    readonly controller: string,
    readonly dbPath: () => string,
  ) {}

  run(args: string[]) {
    return execa(mkoBin, args, { env: { MKO_DB: this.dbPath() }, reject: false, timeout: 600_000, stdin: 'ignore' });
  }

  async ok(...args: string[]) {
    const r = await this.run(args);
    expect(r.exitCode, `mko ${args.join(' ')}\n${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    return r;
  }

  /** `mko lab up` with this many hosts (after a `lab down` of any leftover). */
  async up(nodes: number): Promise<void> {
    await this.run(['lab', 'down', '--name', this.name]);
    await this.ok('lab', 'up', '--name', this.name, '--nodes', String(nodes));
    this.lab = JSON.parse((await this.ok('lab', 'status', '--name', this.name, '--json')).stdout) as LabJson;
  }

  /** The built mko and a snapshot of the fleet database into the controller's root (its overlay, mounted here). */
  async install(dir: string): Promise<void> {
    const root = hostPaths(path.join(dir, 'lab', this.name), this.controller).merged;
    await copyMko(root);
    mkdirSync(path.join(root, path.dirname(REMOTE_DB).slice(1)), { recursive: true });
    const db = new Database(this.dbPath(), { readonly: true });
    try {
      db.exec(`VACUUM INTO '${path.join(root, REMOTE_DB.slice(1))}'`);
    } finally {
      db.close();
    }
  }

  address(hostname: string): string {
    const h = this.lab.hosts.find((x) => x.hostname === hostname);
    if (!h) throw new Error(`no lab host ${hostname}`);
    return h.address;
  }

  /** A shell command as root on a lab host. */
  ssh(hostname: string, command: string) {
    return execa(
      'ssh',
      ['-i', this.lab.adminKey, '-o', `UserKnownHostsFile=${this.lab.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${this.address(hostname)}`, command],
      { reject: false, timeout: 60_000, stdin: 'ignore' },
    );
  }

  async onController(command: string): Promise<string> {
    const r = await this.ssh(this.controller, command);
    expect(r.exitCode, `${this.controller}: ${command}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  }

  /** The copied mko on the controller, on the service's database. */
  remoteMko(args: string): Promise<string> {
    return this.onController(`MKO_DB=${REMOTE_DB} ${REMOTE_MKO} ${args}`);
  }

  async unitState(unit: string): Promise<Record<string, string>> {
    const r = await this.ssh(this.controller, `systemctl show -p ActiveState,SubState,UnitFileState,LoadState,MainPID ${unit}`);
    return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** ansible-playbook against the controller; its recap line. `expectFailure` wants exit 2 (a host failed). */
  async playbook(file: string, vars: Record<string, unknown>, extraArgs: string[] = [], expectFailure = false): Promise<Recap & { output: string }> {
    const r = await execa('ansible-playbook', [path.join(projectRoot, 'playbooks', file), '-e', JSON.stringify(vars), ...extraArgs], {
      cwd: projectRoot,
      env: { MKO_DB: this.dbPath(), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
      reject: false,
      timeout: 300_000,
      stdin: 'ignore',
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, output.slice(-4000)).toBe(expectFailure ? 2 : 0);
    const m = new RegExp(`^${this.controller}\\s+: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`, 'm').exec(r.stdout);
    expect(m, output.slice(-4000)).not.toBeNull();
    const [ok, changed, unreachable, failed] = (m ?? []).slice(1).map(Number) as [number, number, number, number];
    return { ok, changed, unreachable, failed, output };
  }

  /**
   * The `absent` run of a playbook that installs one of mko's units (`absent` runs it with the
   * test's own variables, the controller among them, plus state absent): --check keeps the unit, the
   * real run stops and removes it (`gone` checks what the service leaves, e.g. no mko process), and
   * a second run, real or --check, changes nothing.
   */
  async expectUnitRemoved(unit: string, absent: (extraArgs?: string[]) => Promise<Recap>, gone: () => Promise<void>): Promise<void> {
    expect((await absent(['--check'])).changed).toBe(2);
    expect(await this.unitState(unit)).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });

    expect((await absent()).changed).toBeGreaterThanOrEqual(2);
    expect(await this.unitState(unit)).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect((await this.ssh(this.controller, `test -e /etc/systemd/system/${unit}.service`)).exitCode).toBe(1);
    expect((await this.ssh(this.controller, `test -e /etc/systemd/system/multi-user.target.wants/${unit}.service`)).exitCode).toBe(1);
    await gone();
    expect((await this.ssh(this.controller, 'pgrep -x node')).exitCode).toBe(1);

    expect((await absent()).changed).toBe(0);
    expect((await absent(['--check'])).changed).toBe(0);
  }
}
