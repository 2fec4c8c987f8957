// playbooks/web.yml for real: the systemd unit of `mko web` on a lab host that acts as the
// controller (the shared set-up of ts/test-support/controller.ts, as the watcher unit's test).
// The service must answer /api/v1/health (on loopback, then from the lab bridge once it listens
// there), restart through its handler when its arguments change, run the UPS watcher inside with
// web_with_watcher, refuse what would not start, and go away again.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../test-support/cli.js';
import { ControllerLab, REMOTE_DB, REMOTE_MKO } from '../test-support/controller.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('wbu');
const CONTROLLER = `${LAB}-n1`;
const UNIT = 'mko-web';
const PORT = 8080;
const HANDLER_RAN = /RUNNING HANDLER \[(web : )?Restart mko-web\] \*+\nchanged: /;

interface Health {
  ok: boolean;
  watcher: { running: boolean; pid?: number };
}

describe.skipIf(!isRoot)('playbooks/web.yml: the mko-web unit on a lab host as controller (skipped unless root)', () => {
  let dir = '';
  let dbPath = '';
  let token = '';
  const lab = new ControllerLab(LAB, CONTROLLER, () => dbPath);
  const playbook = (vars: Record<string, unknown>, extraArgs: string[] = [], expectFailure = false) =>
    lab.playbook('web.yml', { web_hosts: CONTROLLER, web_mko: REMOTE_MKO, web_db: REMOTE_DB, ...vars }, extraArgs, expectFailure);
  const unitState = () => lab.unitState(UNIT);
  /** /api/v1/health asked on the controller itself (the server listens on its loopback). */
  const healthOnController = async (auth: boolean): Promise<{ status: number; body: string }> => {
    const header = auth ? `, headers={'Authorization': 'Bearer ${token}'}` : '';
    const r = await lab.ssh(
      CONTROLLER,
      `python3 -c "import urllib.request, urllib.error
try:
    r = urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:${PORT}/api/v1/health'${header}), timeout=5); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())"`,
    );
    if (r.exitCode !== 0) return { status: 0, body: r.stderr };
    const [status = '0', ...body] = r.stdout.split('\n');
    return { status: Number(status), body: body.join('\n') };
  };
  /** The unit is active and its server answers on the controller's loopback. */
  const serving = () =>
    pollUntil('mko web to answer on the controller', 30_000, async () => {
      const unit = await unitState();
      if (unit['ActiveState'] !== 'active') return undefined;
      const health = await healthOnController(true);
      return health.status === 200 ? { unit, health: JSON.parse(health.body) as Health } : undefined;
    }, 500);

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-web-unit-'));
    dbPath = path.join(dir, 'mko.db');
    await lab.up(1);
    await lab.ok('cluster', 'add', 'home');
    token = (JSON.parse((await lab.ok('web', 'token', 'create', '--name', 'lab', '--scope', 'read', '--json')).stdout) as { token: string }).token;
    await lab.install(dir);
    expect(await lab.remoteMko('web token list')).toMatch(/^\d+\s+lab\s+read\b/m);
  }, 600_000);

  afterAll(() => tearDownLab(LAB, dbPath, dir), 300_000);

  it('--check before the first install changes nothing and does not fail on the unknown unit', async () => {
    const check = await playbook({}, ['--check']);
    expect(check.failed).toBe(0);
    expect(check.changed).toBe(1);
    expect(await unitState()).toMatchObject({ LoadState: 'not-found', ActiveState: 'inactive' });
    expect((await lab.ssh(CONTROLLER, `test -e /etc/systemd/system/${UNIT}.service`)).exitCode).toBe(1);
  }, 120_000);

  it('installs, enables and starts the unit, which answers /api/v1/health; the second run and --check change nothing', async () => {
    const first = await playbook({});
    expect(first.changed).toBe(2);
    expect(first.output).not.toMatch(HANDLER_RAN);
    const { unit, health } = await serving();
    expect(unit).toMatchObject({ ActiveState: 'active', SubState: 'running', UnitFileState: 'enabled' });
    expect(health).toMatchObject({ ok: true, watcher: { running: false } });
    expect((await healthOnController(false)).status).toBe(401);
    const unitText = await lab.onController(`cat /etc/systemd/system/${UNIT}.service`);
    expect(unitText).toContain(`Environment=MKO_DB=${REMOTE_DB}`);
    expect(unitText).toMatch(new RegExp(`^ExecStart=${REMOTE_MKO} web serve --host 127\\.0\\.0\\.1 --port ${PORT}$`, 'm'));
    expect(await lab.remoteMko('web status')).toMatch(new RegExp(`^mko web is running: http://127\\.0\\.0\\.1:${PORT}/ \\(pid ${unit['MainPID']},`));

    expect((await playbook({})).changed).toBe(0);
    expect((await playbook({}, ['--check'])).changed).toBe(0);
    expect((await unitState())['MainPID']).toBe(unit['MainPID']);
  }, 300_000);

  it('refuses an address beyond loopback on a database without a token, before changing anything', async () => {
    const refused = await playbook({ web_host: '0.0.0.0', web_db: '/var/lib/mko/none.db' }, [], true);
    expect(refused.failed).toBe(1);
    expect(refused.output).toMatch(/web_host=0\.0\.0\.0 would make mko web reachable from other machines, and \/var\/lib\/mko\/none\.db holds no \(unrevoked\) token/);
    expect(refused.output).toContain(`MKO_DB=/var/lib/mko/none.db ${REMOTE_MKO} web token create --name <name> --scope admin`);
    expect(await lab.onController(`cat /etc/systemd/system/${UNIT}.service`)).toContain('--host 127.0.0.1');
  }, 120_000);

  it('changed arguments restart the running server through the handler: on 0.0.0.0 it answers from the lab bridge', async () => {
    const before = await unitState();
    const changed = await playbook({ web_host: '0.0.0.0' });
    expect(changed.changed).toBe(2);
    expect(changed.output).toMatch(HANDLER_RAN);
    const after = await pollUntil('the restarted mko web to answer on the bridge', 30_000, async () => {
      const unit = await unitState();
      if (unit['ActiveState'] !== 'active' || unit['MainPID'] === before['MainPID']) return undefined;
      const response = await fetch(`http://${lab.address(CONTROLLER)}:${PORT}/api/v1/health`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      return response?.status === 200 ? { unit, body: (await response.json()) as Health } : undefined;
    }, 500);
    expect(after.body).toMatchObject({ ok: true });
    expect((await fetch(`http://${lab.address(CONTROLLER)}:${PORT}/api/v1/health`)).status).toBe(401);
    expect((await playbook({ web_host: '0.0.0.0' })).changed).toBe(0);
  }, 300_000);

  it('web_with_watcher runs the watcher in the service, and refuses an installed separate watcher unit', async () => {
    await lab.onController('printf "[Service]\\nExecStart=/bin/true\\n" > /etc/systemd/system/mko-ups-monitor.service');
    const refused = await playbook({ web_with_watcher: true }, [], true);
    expect(refused.output).toMatch(/web_with_watcher=true runs the UPS watcher inside mko web, but the separate watcher unit\s+mko-ups-monitor is installed/);
    await lab.onController('rm /etc/systemd/system/mko-ups-monitor.service');

    const before = await unitState();
    const changed = await playbook({ web_with_watcher: true });
    expect(changed.changed).toBe(2);
    expect(changed.output).toMatch(HANDLER_RAN);
    const watching = await pollUntil('the service to run the watcher', 30_000, async () => {
      const { unit, health } = await serving();
      return unit['MainPID'] !== before['MainPID'] && health.watcher.running ? { unit, health } : undefined;
    }, 500);
    expect(String(watching.health.watcher.pid)).toBe(watching.unit['MainPID']);
    expect(await lab.onController(`systemctl show -p ExecStart ${UNIT}`)).toContain('--with-watcher');
    expect((await playbook({ web_with_watcher: true })).changed).toBe(0);
  }, 300_000);

  it('web_state=absent: --check keeps it, then it is stopped and removed; a second absent run changes nothing', async () => {
    await lab.expectUnitRemoved(UNIT, (args) => playbook({ web_state: 'absent' }, args), async () =>
      expect(await lab.remoteMko('web status')).toBe('mko web is not running (start it with mko web serve)'));
  }, 300_000);
});
