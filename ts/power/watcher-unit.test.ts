// playbooks/watcher.yml for real: the systemd unit of the UPS watcher on a lab host that acts as
// the controller (lab hosts run systemd; the build machine does not). wun-n2 is the UPS host (real
// upsd, dummy-ups driver, set up by `mko ups setup`); wun-n1 gets a copy of the built mko (node,
// bin/, dist/, production node_modules, templates, migrations) and of the fleet database, written
// straight into its overlay root, and the playbook installs the unit there. The service's watcher
// must record the UPS going on battery in its own database, survive a restart, and go away again.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPaths } from '../lab/host.js';
import { migrationsDir, projectRoot, templatesDir } from '../paths.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { labUpsText, pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('wun');
const CONTROLLER = `${LAB}-n1`;
const UPS_HOST = `${LAB}-n2`;
const UNIT = 'mko-ups-monitor';
// Where the copies live on the controller host.
const REMOTE_ROOT = '/opt/mko';
const REMOTE_MKO = `${REMOTE_ROOT}/bin/mko`;
const REMOTE_DB = '/var/lib/mko/mko.db';
const PLAYBOOK = path.join(projectRoot, 'playbooks', 'watcher.yml');
const HANDLER_RAN = /RUNNING HANDLER \[(watcher : )?Restart mko-ups-monitor\] \*+\nchanged: /;

interface LabJson {
  adminKey: string;
  knownHosts: string;
  hosts: { hostname: string; address: string }[];
}
interface Recap {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
}
interface UpsEvent {
  ups: string;
  kind: string;
  status: string;
}

/** The controller's copy of mko: only what `mko ups monitor start` needs at run time. */
async function copyMko(root: string): Promise<void> {
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

describe.skipIf(!isRoot)('playbooks/watcher.yml: the mko-ups-monitor unit on a lab host as controller (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let lab: LabJson;

  const run = (args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, timeout: 600_000, stdin: 'ignore' });
  const ok = async (...args: string[]) => {
    const r = await run(args);
    expect(r.exitCode, `mko ${args.join(' ')}\n${r.stdout.slice(-3000)}\n${r.stderr}`).toBe(0);
    return r;
  };
  const address = (hostname: string): string => {
    const h = lab.hosts.find((x) => x.hostname === hostname);
    if (!h) throw new Error(`no lab host ${hostname}`);
    return h.address;
  };
  /** A shell command as root on a lab host. */
  const ssh = (hostname: string, command: string) =>
    execa(
      'ssh',
      ['-i', lab.adminKey, '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${address(hostname)}`, command],
      { reject: false, timeout: 60_000, stdin: 'ignore' },
    );
  const onController = async (command: string): Promise<string> => {
    const r = await ssh(CONTROLLER, command);
    expect(r.exitCode, `${CONTROLLER}: ${command}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** The copied mko on the controller, on the service's database. */
  const remoteMko = (args: string) => onController(`MKO_DB=${REMOTE_DB} ${REMOTE_MKO} ${args}`);
  const events = async (): Promise<UpsEvent[]> => JSON.parse(await remoteMko('ups events --json')) as UpsEvent[];
  const unitState = async (): Promise<Record<string, string>> => {
    const r = await ssh(CONTROLLER, `systemctl show -p ActiveState,SubState,UnitFileState,LoadState,MainPID ${UNIT}`);
    return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };
  /** Flip the dummy UPS: replace the .dev file on the UPS host (dummy-loop re-reads it every second). */
  async function setUps(status: string): Promise<void> {
    const text = labUpsText(status).replace(/\n/g, '\\n');
    const r = await ssh(
      UPS_HOST,
      `printf '${text}' > /etc/nut/dummy.dev.new && chown root:nut /etc/nut/dummy.dev.new && chmod 0640 /etc/nut/dummy.dev.new && mv /etc/nut/dummy.dev.new /etc/nut/dummy.dev`,
    );
    expect(r.exitCode, r.stderr).toBe(0);
  }
  /** ansible-playbook playbooks/watcher.yml against the controller host; its recap line. */
  async function playbook(extraVars: Record<string, string>, extraArgs: string[] = []): Promise<Recap & { output: string }> {
    const vars = { watcher_hosts: CONTROLLER, watcher_mko: REMOTE_MKO, watcher_db: REMOTE_DB, ...extraVars };
    const r = await execa('ansible-playbook', [PLAYBOOK, '-e', JSON.stringify(vars), ...extraArgs], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
      reject: false,
      timeout: 300_000,
      stdin: 'ignore',
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, output.slice(-4000)).toBe(0);
    const m = new RegExp(`^${CONTROLLER}\\s+: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`, 'm').exec(r.stdout);
    expect(m, output.slice(-4000)).not.toBeNull();
    const [ok, changed, unreachable, failed] = (m ?? []).slice(1).map(Number) as [number, number, number, number];
    return { ok, changed, unreachable, failed, output };
  }
  const waitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> => pollUntil(what, timeoutMs, probe, 500);
  /** The service's watcher runs (per its PID file, under the unit's main PID) and has polled the UPS. */
  const watcherPolling = (status: string) =>
    waitFor(`the service's watcher to poll the UPS (${status})`, 30_000, async () => {
      const unit = await unitState();
      if (unit['ActiveState'] !== 'active') return undefined;
      const r = await ssh(CONTROLLER, `MKO_DB=${REMOTE_DB} ${REMOTE_MKO} ups monitor status`);
      const pid = /^running: +yes \(pid (\d+)\)/m.exec(r.stdout)?.[1];
      return pid === unit['MainPID'] && new RegExp(`^rack\\s+\\S+\\s+${status}\\b`, 'm').test(r.stdout) ? unit : undefined;
    });

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-watcher-unit-'));
    dbPath = path.join(dir, 'mko.db');
    await run(['lab', 'down', '--name', LAB]);
    await ok('lab', 'up', '--name', LAB, '--nodes', '2');
    lab = JSON.parse((await ok('lab', 'status', '--name', LAB, '--json')).stdout) as LabJson;
    await ok('ups', 'add', 'rack', '--host', UPS_HOST, '--driver', 'dummy-ups', '--port', 'dummy.dev', '--option', 'mode=dummy-loop', '--option', 'pollinterval=1');
    await ok('ups', 'setup', 'rack', '--shutdown-cmd', '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko watcher-unit test: not shutting down)"');
    // mko and the database into the controller host's root (its overlay, mounted here).
    const root = hostPaths(path.join(dir, 'lab', LAB), CONTROLLER).merged;
    await copyMko(root);
    mkdirSync(path.join(root, path.dirname(REMOTE_DB).slice(1)), { recursive: true });
    const db = new Database(dbPath, { readonly: true });
    try {
      db.exec(`VACUUM INTO '${path.join(root, REMOTE_DB.slice(1))}'`);
    } finally {
      db.close();
    }
    // The copy works there before any unit is involved.
    expect(await remoteMko('ups status')).toMatch(new RegExp(`^rack\\s+${LAB}-n2\\s+OL\\b`, 'm'));
  }, 600_000);

  afterAll(() => tearDownLab(LAB, dbPath, dir), 300_000);

  it('--check before the first install changes nothing and does not fail on the unknown unit', async () => {
    const check = await playbook({}, ['--check']);
    expect(check.failed).toBe(0);
    expect(check.changed).toBe(1);
    expect(await unitState()).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    const file = await ssh(CONTROLLER, `test -e /etc/systemd/system/${UNIT}.service`);
    expect(file.exitCode).toBe(1);
  }, 120_000);

  it('installs, enables and starts the unit; the second run and --check change nothing', async () => {
    const first = await playbook({});
    expect(first.changed).toBe(2);
    // A freshly started unit is not restarted again by the handler.
    expect(first.output).not.toMatch(HANDLER_RAN);
    const unit = await watcherPolling('OL');
    expect(unit).toMatchObject({ ActiveState: 'active', SubState: 'running', UnitFileState: 'enabled' });
    const unitText = await onController(`cat /etc/systemd/system/${UNIT}.service`);
    expect(unitText).toContain(`Environment=MKO_DB=${REMOTE_DB}`);
    expect(unitText).toMatch(new RegExp(`^ExecStart=${REMOTE_MKO} ups monitor start\\s*$`, 'm'));

    const second = await playbook({});
    expect(second.changed).toBe(0);
    const check = await playbook({}, ['--check']);
    expect(check.changed).toBe(0);
    // Still the same process: nothing restarted it.
    expect((await unitState())['MainPID']).toBe(unit['MainPID']);
  }, 180_000);

  it('a changed unit restarts the running watcher', async () => {
    const before = await unitState();
    const changed = await playbook({ watcher_args: '--dead-time 10' });
    expect(changed.changed).toBe(2);
    expect(changed.output).toMatch(HANDLER_RAN);
    const after = await watcherPolling('OL');
    expect(after['MainPID']).not.toBe(before['MainPID']);
    expect(await onController(`systemctl show -p ExecStart ${UNIT}`)).toContain('--dead-time 10');
    expect((await playbook({ watcher_args: '--dead-time 10' })).changed).toBe(0);
  }, 180_000);

  it("the service's watcher records the UPS going on battery in its database", async () => {
    expect(await events()).toEqual([]);
    await setUps('OB DISCHRG');
    const recorded = await waitFor('a power_loss event', 30_000, async () => {
      const e = await events();
      return e.length > 0 ? e : undefined;
    });
    expect(recorded).toMatchObject([{ ups: 'rack', kind: 'power_loss', status: 'OB DISCHRG' }]);
  }, 120_000);

  it('systemctl restart: a new watcher takes over, without a second power_loss, and sees the power return', async () => {
    const before = await unitState();
    await onController(`systemctl restart ${UNIT}`);
    const after = await watcherPolling('OB');
    expect(after['MainPID']).not.toBe(before['MainPID']);
    await setUps('OL');
    const recorded = await waitFor('a power_restored event', 30_000, async () => {
      const e = await events();
      return e.some((x) => x.kind === 'power_restored') ? e : undefined;
    });
    expect(recorded.map((e) => e.kind).reverse()).toEqual(['power_loss', 'power_restored']);
    const journal = await onController(`journalctl -u ${UNIT} --no-pager -o cat`);
    expect(journal).toMatch(/watching rack \(\d+\.\d+\.\d+\.\d+:3493\)/);
  }, 120_000);

  it('watcher_state=absent: --check keeps it, then it is stopped and removed; a second absent run changes nothing', async () => {
    const check = await playbook({ watcher_state: 'absent' }, ['--check']);
    expect(check.changed).toBe(2);
    expect(await unitState()).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });

    const absent = await playbook({ watcher_state: 'absent' });
    expect(absent.changed).toBeGreaterThanOrEqual(2);
    expect(await unitState()).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect((await ssh(CONTROLLER, `test -e /etc/systemd/system/${UNIT}.service`)).exitCode).toBe(1);
    expect((await ssh(CONTROLLER, `test -e /etc/systemd/system/multi-user.target.wants/${UNIT}.service`)).exitCode).toBe(1);
    // The watcher is gone too (its PID file with it).
    expect(await remoteMko('ups monitor status')).toMatch(/^running: +no/m);
    expect((await ssh(CONTROLLER, 'pgrep -x node')).exitCode).toBe(1);

    const again = await playbook({ watcher_state: 'absent' });
    expect(again.changed).toBe(0);
    expect((await playbook({ watcher_state: 'absent' }, ['--check'])).changed).toBe(0);
  }, 180_000);
});
