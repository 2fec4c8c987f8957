// playbooks/health.yml for real: the oneshot service and timer of `mko health watch --once` on a lab
// host that acts as the controller (ts/test-support/controller.ts, as the watcher and web units'
// tests). The service, started by hand, runs the copied mko on the copied database and succeeds;
// a changed interval restarts the running timer through its handler; a bad time span is refused
// before anything changes; absent removes both units.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../test-support/cli.js';
import { ControllerLab, REMOTE_DB, REMOTE_MKO } from '../test-support/controller.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('hlu');
const CONTROLLER = `${LAB}-n1`;
const UNIT = 'mko-health';
const HARDWARE = 'mko-hardware';
const HANDLER_RAN = /RUNNING HANDLER \[(health : )?Restart the mko timers\] \*+\n(changed|ok): /;

describe.skipIf(!isRoot)('playbooks/health.yml: the mko-health timer on a lab host as controller (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  const lab = new ControllerLab(LAB, CONTROLLER, () => dbPath);
  const playbook = (vars: Record<string, unknown>, extraArgs: string[] = [], expectFailure = false) =>
    lab.playbook('health.yml', { health_hosts: CONTROLLER, health_mko: REMOTE_MKO, health_db: REMOTE_DB, ...vars }, extraArgs, expectFailure);
  const timer = () => lab.unitState(`${UNIT}.timer`);
  const exists = async (file: string) => (await lab.ssh(CONTROLLER, `test -e ${file}`)).exitCode === 0;

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-health-unit-'));
    dbPath = path.join(dir, 'mko.db');
    await lab.up(1);
    await lab.ok('cluster', 'add', 'home');
    await lab.install(dir);
    // The controller's copy of the fleet without the lab's own node: the controller host has no
    // ansible-playbook, so a pass with a node to check would fail there (exit 2, unit failed).
    await lab.remoteMko(`node remove ${CONTROLLER} --yes`);
  }, 600_000);

  afterAll(() => tearDownLab(LAB, dbPath, dir), 300_000);

  it('--check before the first install changes nothing and does not fail on the unknown timer', async () => {
    const check = await playbook({}, ['--check']);
    expect(check.failed).toBe(0);
    expect(check.changed).toBe(2);
    expect(await timer()).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect(await exists(`/etc/systemd/system/${UNIT}.timer`)).toBe(false);
  }, 120_000);

  it('installs the service and the timer, enables and starts the timer; the service runs mko on the database; a second run and --check change nothing', async () => {
    const first = await playbook({});
    expect(first.changed).toBe(3);
    expect(first.output).not.toMatch(HANDLER_RAN);
    expect(await timer()).toMatchObject({ ActiveState: 'active', SubState: 'waiting', UnitFileState: 'enabled' });
    const service = await lab.onController(`cat /etc/systemd/system/${UNIT}.service`);
    expect(service).toContain('Type=oneshot');
    expect(service).toContain(`Environment=MKO_DB=${REMOTE_DB}`);
    expect(service).toMatch(new RegExp(`^ExecStart=${REMOTE_MKO} health watch --once$`, 'm'));
    const timerText = await lab.onController(`cat /etc/systemd/system/${UNIT}.timer`);
    expect(timerText).toMatch(/^OnUnitActiveSec=5min$/m);
    expect(timerText).toMatch(/^OnActiveSec=1min$/m);

    // One pass now, as the timer would start it: a fleet without nodes is an empty pass, not a failure.
    const started = await lab.ssh(CONTROLLER, `systemctl start ${UNIT}.service`);
    expect(started.exitCode, `${started.stderr}\n${await lab.onController(`journalctl -u ${UNIT}.service --no-pager -o cat`)}`).toBe(0);
    const ran = await lab.onController(`systemctl show -p Result,ExecMainStatus ${UNIT}.service`);
    expect(ran).toContain('Result=success');
    expect(ran).toContain('ExecMainStatus=0');
    const journal = await pollUntil('the pass in the journal', 30_000, async () => {
      const text = await lab.onController(`journalctl -u ${UNIT}.service --no-pager -o cat`);
      return text.includes('nothing checked') ? text : undefined;
    });
    expect(journal).toMatch(/^\S+Z no nodes to check yet \(mko node add\): nothing checked$/m);

    // The scheduled hardware collection beside it: its own timer, daily, the whole fleet.
    expect(await lab.unitState(`${HARDWARE}.timer`)).toMatchObject({ ActiveState: 'active', SubState: 'waiting', UnitFileState: 'enabled' });
    expect(await lab.onController(`cat /etc/systemd/system/${HARDWARE}.service`)).toMatch(new RegExp(`^ExecStart=${REMOTE_MKO} hardware collect$`, 'm'));
    expect(await lab.onController(`cat /etc/systemd/system/${HARDWARE}.timer`)).toMatch(/^OnUnitActiveSec=1d$/m);
    const collected = await lab.ssh(CONTROLLER, `systemctl start ${HARDWARE}.service`);
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(await lab.onController(`journalctl -u ${HARDWARE}.service --no-pager -o cat`)).toContain('No nodes to collect from: add some with mko node add');

    expect((await playbook({})).changed).toBe(0);
    expect((await playbook({}, ['--check'])).changed).toBe(0);
  }, 300_000);

  it('a changed interval rewrites the timer and restarts it through the handler; the next run changes nothing', async () => {
    const changed = await playbook({ health_timer_interval: '2min' });
    expect(changed.changed).toBe(2);
    expect(changed.output).toMatch(HANDLER_RAN);
    expect(await lab.onController(`systemctl show -p TimersMonotonic ${UNIT}.timer`)).toMatch(/OnUnitActiveUSec=2min/);
    expect(await timer()).toMatchObject({ ActiveState: 'active' });
    expect((await playbook({ health_timer_interval: '2min' })).changed).toBe(0);
  }, 300_000);

  it('refuses a time span systemd would not read, before changing anything', async () => {
    const refused = await playbook({ health_timer_interval: '5 minutes please' }, [], true);
    expect(refused.failed).toBe(1);
    expect(refused.output).toMatch(/mko-health: interval \\?"5 minutes please\\?", first \\?"1min\\?" and timeout \\?"15min\\?" must each be a systemd time span/);
    expect(await lab.onController(`cat /etc/systemd/system/${UNIT}.timer`)).toMatch(/^OnUnitActiveSec=2min$/m);
  }, 120_000);

  it('health_state=absent: --check keeps them, then both units are stopped and removed; a second absent run changes nothing', async () => {
    const check = await playbook({ health_state: 'absent' }, ['--check']);
    expect(check.changed).toBeGreaterThanOrEqual(2);
    expect(await timer()).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });

    const absent = await playbook({ health_state: 'absent' });
    expect(absent.changed).toBeGreaterThanOrEqual(2);
    expect(await timer()).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect(await exists(`/etc/systemd/system/${UNIT}.timer`)).toBe(false);
    expect(await exists(`/etc/systemd/system/${UNIT}.service`)).toBe(false);
    expect(await lab.unitState(`${HARDWARE}.timer`)).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect(await exists(`/etc/systemd/system/${HARDWARE}.timer`)).toBe(false);
    expect(await exists(`/etc/systemd/system/${HARDWARE}.service`)).toBe(false);

    expect((await playbook({ health_state: 'absent' })).changed).toBe(0);
    expect((await playbook({ health_state: 'absent' }, ['--check'])).changed).toBe(0);
  }, 300_000);
});
