// playbooks/watcher.yml for real: the systemd unit of the UPS watcher on a lab host that acts as
// the controller (lab hosts run systemd; the build machine does not). wun-n2 is the UPS host (real
// upsd, dummy-ups driver, set up by `mko ups setup`); wun-n1 gets a copy of the built mko (node,
// bin/, dist/, production node_modules, templates, migrations) and of the fleet database, written
// straight into its overlay root, and the playbook installs the unit there. The service's watcher
// must record the UPS going on battery in its own database, survive a restart, and go away again.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../test-support/cli.js';
import { ControllerLab, REMOTE_DB, REMOTE_MKO } from '../test-support/controller.js';
import { labUpsText, pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('wun');
const CONTROLLER = `${LAB}-n1`;
const UPS_HOST = `${LAB}-n2`;
const UNIT = 'mko-ups-monitor';
const HANDLER_RAN = /RUNNING HANDLER \[(watcher : )?Restart mko-ups-monitor\] \*+\nchanged: /;

interface UpsEvent {
  ups: string;
  kind: string;
  status: string;
}

describe.skipIf(!isRoot)('playbooks/watcher.yml: the mko-ups-monitor unit on a lab host as controller (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  const lab = new ControllerLab(LAB, CONTROLLER, () => dbPath);
  const ok = (...args: string[]) => lab.ok(...args);
  const ssh = (hostname: string, command: string) => lab.ssh(hostname, command);
  const onController = (command: string) => lab.onController(command);
  const remoteMko = (args: string) => lab.remoteMko(args);
  const events = async (): Promise<UpsEvent[]> => JSON.parse(await remoteMko('ups events --json')) as UpsEvent[];
  const unitState = () => lab.unitState(UNIT);
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
  const playbook = (extraVars: Record<string, string>, extraArgs: string[] = []) =>
    lab.playbook('watcher.yml', { watcher_hosts: CONTROLLER, watcher_mko: REMOTE_MKO, watcher_db: REMOTE_DB, ...extraVars }, extraArgs);
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
    await lab.up(2);
    await ok('ups', 'add', 'rack', '--host', UPS_HOST, '--driver', 'dummy-ups', '--port', 'dummy.dev', '--option', 'mode=dummy-loop', '--option', 'pollinterval=1');
    await ok('ups', 'setup', 'rack', '--shutdown-cmd', '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko watcher-unit test: not shutting down)"');
    await lab.install(dir);
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
    // The watcher is gone too (its PID file with it).
    await lab.expectUnitRemoved(UNIT, (args) => playbook({ watcher_state: 'absent' }, args), async () => expect(await remoteMko('ups monitor status')).toMatch(/^running: +no/m));
  }, 180_000);
});
