// mko doctor on a real lab cluster (MicroK8s there is the lab's test double): a healthy cluster
// passes; then things are broken on purpose on the nodes (a voter's MicroK8s stopped, FORWARD set
// to DROP, a member gone from /etc/hosts, a certificate 5 days from expiry), each check fails and
// names its fix, the fixes are run as printed, and everything passes again. Thresholds are tested
// with variables (a full disk and a skewed clock cannot be made on shared-kernel lab hosts; the
// Python unit tests force those readings). NUT is set up by mko (a real upsd with the dummy-ups
// driver on n1, upsmon everywhere): its services are stopped, upsmon's login is broken (a wrong
// password, a user upsd does not know), and mko's login user loses its passwordless sudo on one
// node; each is found and repaired by its printed fix. Then the support bundle, and a node that is off.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { listNodes } from '../fleet/index.js';
import type { LabInfo } from '../lab/index.js';
import type { CheckResult } from '../health/checks.js';
import { getOperation } from '../ops/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';
import { resultsOf, runDoctor } from './index.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('dct');
const [N1, N2, N3] = [`${LAB}-n1`, `${LAB}-n2`, `${LAB}-n3`];
const UPS_PASSWORD = 'upsSecret-doctor-4711';
/** What the broken upsmon.conf of a secondary says instead: a password too, kept out of every output. */
const WRONG_PASSWORD = 'wrongSecret-doctor-0815';
/** upsmon's SHUTDOWNCMD in the lab: nothing powers off when the dummy UPS says so. */
const SHUTDOWN_CMD = '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko doctor test: not shutting down)"';

interface DoctorJson {
  target: { name: string; kind: string };
  operation: number;
  healthy: boolean;
  results: CheckResult[];
  bundle?: { path: string; inspected: string[]; missing: string[] };
}

const NODE_CHECKS = ['ssh.reachable', 'ssh.sudo', 'hostname.valid', 'hosts.resolve', 'microk8s.services', 'certs.expiry', 'disk.space', 'disk.inodes', 'cgroup.memory', 'iptables.forward', 'snap.hold', 'nut.services', 'wol.state'];

describe.skipIf(!isRoot)('mko doctor on a lab cluster', () => {
  let dir = '';
  let dbPath = '';
  let env: Record<string, string>;
  let db: Db;
  const run = (...args: string[]) => execa(mkoBin, args, { env, reject: false, all: true, stdin: 'ignore' });
  const doctor = async (target: string, expectExit: number): Promise<DoctorJson> => {
    const result = await run('doctor', target, '--json');
    expect(result.exitCode, result.all).toBe(expectExit);
    return JSON.parse(result.stdout) as DoctorJson;
  };
  const failing = (report: DoctorJson): string[] => report.results.filter((r) => r.status === 'fail').map((r) => `${r.id} ${r.subject}`).sort();
  /** A fix exactly as printed: an mko command runs on the controller, anything else in sh. */
  const runFix = async (fix: string | null): Promise<void> => {
    const fixed = (fix ?? '').startsWith('mko ')
      ? await execa(mkoBin, (fix ?? '').split(' ').slice(1), { env, reject: false, all: true, stdin: 'ignore' })
      : await execa('sh', ['-c', fix ?? 'false'], { env: { ...process.env, ...env }, reject: false, all: true, stdin: 'ignore' });
    expect(fixed.exitCode, `${fix}: ${fixed.all}`).toBe(0);
  };
  /** mko doctor again until it passes: upsmon logs in again at its next poll (POLLFREQ 5 s) after upsd is back. */
  const doctorUntilHealthy = (what: string): Promise<DoctorJson> =>
    pollUntil(what, 120_000, async () => {
      const result = await run('doctor', LAB, '--json');
      return result.exitCode === 0 ? (JSON.parse(result.stdout) as DoctorJson) : undefined;
    }, 2000);
  const address = (host: string): string => listNodes(db, { cluster: LAB }).find((n) => n.hostname === host)?.address ?? `no address for ${host}`;
  const find = (results: CheckResult[], id: string, subject: string): CheckResult => {
    const found = results.find((r) => r.id === id && r.subject === subject);
    if (!found) throw new Error(`no ${id} result for ${subject} in ${results.map((r) => `${r.id}/${r.subject}`).join(' ')}`);
    return found;
  };
  /** A shell command on a node as root, through the fleet's own inventory. */
  const onNode = async (host: string, command: string): Promise<string> => {
    const result = await execa('ansible', [host, '-b', '-m', 'ansible.builtin.shell', '-a', command, '-o'], { env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') }, cwd: projectRoot, reject: false, all: true });
    expect(result.exitCode, result.all).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-doctor-'));
    dbPath = path.join(dir, 'mko.db');
    env = { MKO_DB: dbPath };
    const up = await run('lab', 'up', '--name', LAB, '--nodes', '3');
    expect(up.exitCode, up.all).toBe(0);
    // A UPS with a password mko keeps as a secret: the bundle must not carry it.
    const ups = await execa(mkoBin, ['ups', 'add', 'rack', '--host', N1, '--driver', 'dummy-ups', '--port', 'dummy.dev', '--user', 'upsmon', '--password', '-'], { env, input: UPS_PASSWORD, reject: false, all: true });
    expect(ups.exitCode, ups.all).toBe(0);
    // NUT as mko sets it up: driver, upsd and upsmon (primary) on n1, upsmon (secondary) on n2, n3.
    const nut = await run('ups', 'setup', 'rack', '--shutdown-cmd', SHUTDOWN_CMD);
    expect(nut.exitCode, nut.all).toBe(0);
    const setup = await run('cluster', 'setup', LAB);
    expect(setup.exitCode, setup.all).toBe(0);
    db = openDb(dbPath);
  }, 600_000);

  afterAll(async () => {
    db?.close();
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('passes a healthy cluster: every check of every node, the cluster checks, exit 0, results stored with the operation', async () => {
    const report = await doctor(LAB, 0);
    expect(report).toMatchObject({ target: { name: LAB, kind: 'cluster' }, healthy: true });
    for (const node of [N1, N2, N3]) {
      for (const id of NODE_CHECKS) expect(find(report.results, id, node).status, `${id} on ${node}`).not.toBe('fail');
      for (const id of ['ssh.reachable', 'ssh.sudo', 'hosts.resolve', 'microk8s.services', 'certs.expiry', 'iptables.forward', 'snap.hold', 'cgroup.memory']) {
        expect(find(report.results, id, node), `${id} on ${node}`).toMatchObject({ status: 'pass', fix: null });
      }
    }
    expect(find(report.results, 'certs.expiry', N1).evidence).toMatch(/server\.crt 36[45]d/);
    // NUT: upsd and upsmon on the UPS host, upsmon on the others, and all three logged in to upsd.
    expect(find(report.results, 'nut.services', N1)).toMatchObject({ status: 'pass', summary: 'NUT services running (netserver)', evidence: 'MODE=netserver; nut-monitor=active, nut-server=active', fix: null });
    for (const node of [N2, N3]) {
      expect(find(report.results, 'nut.services', node)).toMatchObject({ status: 'pass', summary: 'NUT services running (netclient)', evidence: 'MODE=netclient; nut-monitor=active', fix: null });
    }
    const logins = find(report.results, 'nut.upsmon_login', LAB);
    expect(logins).toMatchObject({ status: 'pass', scope: 'cluster', summary: 'upsmon logged in from every NUT node (3)', fix: null });
    expect(logins.evidence.replace(/^rack clients: /, '').split(', ').sort()).toEqual(['127.0.0.1', address(N2), address(N3)].sort());
    expect(find(report.results, 'dqlite.quorum', LAB)).toMatchObject({ status: 'pass', scope: 'cluster', summary: '3 of 3 voters up' });
    expect(find(report.results, 'clock.skew', LAB)).toMatchObject({ status: 'pass', scope: 'cluster' });
    for (const r of report.results) {
      expect(Object.keys(r).sort()).toEqual(['cheap', 'evidence', 'fix', 'id', 'scope', 'severity', 'status', 'subject', 'summary']);
    }
    // Stored with its operation, in the order printed; a read-only run: changed=0 on every node.
    expect(resultsOf(db, report.operation)).toEqual(report.results);
    const operation = getOperation(db, report.operation);
    expect(operation).toMatchObject({ kind: 'doctor', target: LAB, status: 'succeeded' });
    expect(Object.values(operation.recap).map((r) => r.changed)).toEqual([0, 0, 0]);

    // mko operation show gives a doctor run's checks back.
    const shown = await run('operation', 'show', String(report.operation));
    expect(shown.stdout).toMatch(new RegExp(`^Checks:\\nSTATUS\\s+CHECK\\s+SUBJECT\\s+SUMMARY$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^PASS\\s+certs\\.expiry\\s+${N2}\\s+every certificate \\(4\\) valid`, 'm'));
    const shownJson = JSON.parse((await run('operation', 'show', String(report.operation), '--json')).stdout) as { checks: CheckResult[] };
    expect(shownJson.checks).toEqual(report.results);

    const human = await run('doctor', LAB);
    expect(human.exitCode, human.all).toBe(0);
    expect(human.stdout).toMatch(/^STATUS\s+CHECK\s+SUBJECT\s+SUMMARY$/m);
    expect(human.stdout).toMatch(new RegExp(`^PASS\\s+dqlite\\.quorum\\s+${LAB}\\s+3 of 3 voters up$`, 'm'));
    expect(human.stdout).toContain(`${LAB}: healthy`);
  }, 300_000);

  it('fails what was broken, each with the fix that repairs it: run as printed, everything passes again', async () => {
    // n3's MicroK8s stopped (a voter down), FORWARD DROP on n2, n3 gone from n1's /etc/hosts, and
    // n1's server certificate replaced by one that expires in 5 days.
    await onNode(N3, '/snap/bin/microk8s stop');
    await onNode(N2, 'iptables -P FORWARD DROP');
    await onNode(N1, `sed -i '/ ${N3}$/d' /etc/hosts`);
    await onNode(N1, 'cd /var/snap/microk8s/current/certs && openssl req -new -nodes -newkey rsa:2048 -keyout server.key -subj /CN=127.0.0.1 -out server.csr 2>/dev/null && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -days 5 -out server.crt 2>/dev/null');

    const broken = await doctor(LAB, 2);
    expect(broken.healthy).toBe(false);
    const failures = broken.results.filter((r) => r.status === 'fail');
    expect(failures.map((r) => `${r.id} ${r.subject}`).sort()).toEqual(
      [`certs.expiry ${N1}`, `dqlite.quorum ${LAB}`, `hosts.resolve ${N1}`, `iptables.forward ${N2}`, `microk8s.services ${N3}`].sort(),
    );
    expect(find(broken.results, 'dqlite.quorum', LAB).summary).toMatch(/^quorum at risk: voter\(s\) [\d.]+:19001 down/);
    expect(find(broken.results, 'microk8s.services', N3).fix).toMatch(/^ssh .* mko@[\d.]+ 'sudo \/snap\/bin\/microk8s start'$/);
    expect(find(broken.results, 'iptables.forward', N2)).toMatchObject({ evidence: '-P FORWARD DROP' });
    expect(find(broken.results, 'iptables.forward', N2).fix).toMatch(/'sudo iptables -P FORWARD ACCEPT'$/);
    expect(find(broken.results, 'hosts.resolve', N1)).toMatchObject({ fix: `mko cluster configure-hosts ${LAB}` });
    expect(find(broken.results, 'hosts.resolve', N1).summary).toContain(`${N3} (want`);
    expect(find(broken.results, 'certs.expiry', N1).summary).toBe('server.crt expire(s) within 7 days');
    expect(find(broken.results, 'certs.expiry', N1).fix).toMatch(/'sudo \/snap\/bin\/microk8s refresh-certs --cert server\.crt'$/);
    const human = await run('doctor', LAB);
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toMatch(new RegExp(`^FAIL\\s+iptables\\.forward\\s+${N2}\\s+FORWARD policy DROP`, 'm'));
    expect(human.stdout).toContain(`  iptables.forward (${N2}): ssh `);

    expect(find(broken.results, 'dqlite.quorum', LAB).fix).toBe(`mko cluster startup ${LAB}`);
    // The node fixes, exactly as printed (a fix on the controller is an mko command). The voter's
    // own start repairs the quorum too: the cluster-wide startup sequence is not needed for that.
    for (const failure of failures.filter((r) => r.scope === 'node')) await runFix(failure.fix);
    const repaired = await doctor(LAB, 0);
    expect(repaired.results.filter((r) => r.status === 'fail')).toEqual([]);
    expect(find(repaired.results, 'certs.expiry', N1).evidence).toMatch(/server\.crt 36[45]d/);
  }, 400_000);

  it('nut.services: upsd stopped on the UPS host and upsmon on a secondary fail with their unit; the printed restarts bring them back', async () => {
    await onNode(N1, 'systemctl stop nut-server');
    await onNode(N3, 'systemctl stop nut-monitor');
    const broken = await doctor(LAB, 2);
    expect(failing(broken)).toEqual([`nut.services ${N1}`, `nut.services ${N3}`].sort());
    expect(find(broken.results, 'nut.services', N1)).toMatchObject({ summary: 'NUT service(s) not running: nut-server', evidence: 'MODE=netserver; nut-monitor=active, nut-server=inactive' });
    expect(find(broken.results, 'nut.services', N1).fix).toMatch(/^ssh .* -i \S+ mko@[\d.]+ 'sudo systemctl restart nut-server'$/);
    expect(find(broken.results, 'nut.services', N3)).toMatchObject({ summary: 'NUT service(s) not running: nut-monitor', evidence: 'MODE=netclient; nut-monitor=inactive' });
    expect(find(broken.results, 'nut.services', N3).fix).toMatch(/^ssh .* -i \S+ mko@[\d.]+ 'sudo systemctl restart nut-monitor'$/);
    expect(find(broken.results, 'nut.services', N2).status).toBe('pass');
    // With upsd stopped nobody can say who is logged in: unknown, not passed over in silence.
    expect(find(broken.results, 'nut.upsmon_login', LAB)).toMatchObject({
      status: 'unknown',
      summary: `upsd on ${N1} could not be asked for its clients: the upsmon logins of ${[N1, N2, N3].join(', ')} are not known`,
      evidence: `upsc -c rack@127.0.0.1 failed on ${N1}`,
    });

    for (const failure of broken.results.filter((r) => r.status === 'fail')) await runFix(failure.fix);
    const repaired = await doctorUntilHealthy('the NUT services and every upsmon login to be back');
    for (const node of [N1, N2, N3]) expect(find(repaired.results, 'nut.services', node).status).toBe('pass');
    expect(find(repaired.results, 'nut.upsmon_login', LAB)).toMatchObject({ status: 'pass', summary: 'upsmon logged in from every NUT node (3)' });
  }, 400_000);

  it('nut.driver: the UPS driver stopped on the UPS host fails (upsd: Driver not connected), though every NUT service runs; the printed restart brings it back', async () => {
    const healthy = await doctor(LAB, 0);
    expect(healthy.results.filter((r) => r.id === 'nut.driver').map((r) => [r.subject, r.status, r.summary, r.evidence])).toEqual([
      [N1, 'pass', 'the driver reads UPS rack (OL)', 'upsc rack@127.0.0.1 ups.status: OL'],
    ]);
    await onNode(N1, 'systemctl stop nut-driver@rack');
    const broken = await pollUntil('upsd to lose the driver', 60_000, async () => {
      const report = await doctor(LAB, 2).catch(() => undefined);
      return report && failing(report).length > 0 ? report : undefined;
    }, 2000);
    expect(failing(broken)).toEqual([`nut.driver ${N1}`]);
    for (const node of [N1, N2, N3]) expect(find(broken.results, 'nut.services', node).status).toBe('pass');
    const driver = find(broken.results, 'nut.driver', N1);
    expect(driver).toMatchObject({ severity: 'critical', summary: 'the driver of rack is not running', evidence: 'upsc rack@127.0.0.1 ups.status: Error: Driver not connected' });
    expect(driver.fix).toMatch(/^ssh .* -i \S+ mko@[\d.]+ 'sudo systemctl restart nut-driver@rack'$/);

    await runFix(driver.fix);
    const repaired = await doctorUntilHealthy('the UPS driver to be back');
    expect(find(repaired.results, 'nut.driver', N1).status).toBe('pass');
  }, 300_000);

  it('nut.upsmon_login: a wrong password and a user upsd does not know are refused by upsd; doctor names the nodes, the printed mko ups setup repairs them, no password is shown', async () => {
    // Only the password of n2's MONITOR line changes; n3's names a user upsd.users does not have.
    await onNode(N2, `sed -i -E 's/^(MONITOR \\S+ 1 \\S+) "[^"]*"/\\1 "${WRONG_PASSWORD}"/' /etc/nut/upsmon.conf && grep -c '"${WRONG_PASSWORD}"' /etc/nut/upsmon.conf && systemctl restart nut-monitor`);
    await onNode(N3, `sed -i -E 's/^(MONITOR \\S+ 1) \\S+ /\\1 nobody-here /' /etc/nut/upsmon.conf && grep -c ' nobody-here ' /etc/nut/upsmon.conf && systemctl restart nut-monitor`);
    // upsd really refuses them: upsmon says so in its journal, and keeps running.
    for (const node of [N2, N3]) {
      await pollUntil(`upsd to refuse upsmon's login on ${node}`, 30_000, async () =>
        /Login on UPS \[rack@[\d.]+:3493\] failed - got \[ERR ACCESS-DENIED\]/.test(await onNode(node, 'journalctl -u nut-monitor -n 20 --no-pager -o cat')));
    }
    const brokenRun = await run('doctor', LAB, '--json');
    expect(brokenRun.exitCode, brokenRun.all).toBe(2);
    const broken = JSON.parse(brokenRun.stdout) as DoctorJson;
    expect(failing(broken)).toEqual([`nut.upsmon_login ${LAB}`]);
    // upsmon runs on every node (nut.services passes): only the login check sees that it is of no use.
    for (const node of [N1, N2, N3]) expect(find(broken.results, 'nut.services', node).status).toBe('pass');
    expect(find(broken.results, 'nut.upsmon_login', LAB)).toMatchObject({
      severity: 'critical',
      summary: `upsmon not logged in to upsd from ${N2}, ${N3}`,
      evidence: 'rack clients: 127.0.0.1',
      fix: 'mko ups setup rack',
    });
    const human = await run('doctor', LAB);
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toMatch(new RegExp(`^FAIL\\s+nut\\.upsmon_login\\s+${LAB}\\s+upsmon not logged in to upsd from ${N2}, ${N3}$`, 'm'));
    expect(human.stdout).toContain(`  nut.upsmon_login (${LAB}): mko ups setup rack`);
    // Neither password (the stored one, the wrong one) in what doctor printed, stored or logged.
    const stored = JSON.stringify(resultsOf(db, broken.operation)) + getOperation(db, broken.operation).log;
    for (const text of [brokenRun.all ?? '', human.all ?? '', stored]) {
      for (const secret of [UPS_PASSWORD, WRONG_PASSWORD]) expect(text.includes(secret), `output holds ${secret}`).toBe(false);
    }

    // The fix as printed: it writes upsmon.conf anew on every node, the way the last setup did
    // (its SHUTDOWNCMD, not the role's default that powers the host off).
    await runFix(find(broken.results, 'nut.upsmon_login', LAB).fix);
    for (const node of [N1, N2, N3]) expect(await onNode(node, 'grep ^SHUTDOWNCMD /etc/nut/upsmon.conf'), node).toContain('mko doctor test: not shutting down');
    const repaired = await doctorUntilHealthy('upsmon to log in again on every node');
    const logins = find(repaired.results, 'nut.upsmon_login', LAB);
    expect(logins).toMatchObject({ status: 'pass', summary: 'upsmon logged in from every NUT node (3)' });
    expect(logins.evidence.replace(/^rack clients: /, '').split(', ').sort()).toEqual(['127.0.0.1', address(N2), address(N3)].sort());
  }, 400_000);

  it('ssh.sudo: without its sudoers drop-in mko cannot sudo on n2: that node fails (exit 2), the others are still checked; the printed fix, with the password typed at its sudo prompt, restores it', async () => {
    const lab = JSON.parse((await run('lab', 'status', '--name', LAB, '--json')).stdout) as LabInfo;
    await onNode(N2, `rm /etc/sudoers.d/90-mko-${lab.user}`);
    const brokenRun = await run('doctor', LAB, '--json');
    expect(brokenRun.exitCode, brokenRun.all).toBe(2);
    const broken = JSON.parse(brokenRun.stdout) as DoctorJson;
    expect(failing(broken)).toEqual([`ssh.sudo ${N2}`]);
    const sudo = find(broken.results, 'ssh.sudo', N2);
    expect(sudo).toMatchObject({ severity: 'critical', evidence: 'Missing sudo password' });
    expect(sudo.summary).toBe(`mko cannot run commands as root with sudo on ${N2}: give it passwordless sudo again (the fix asks for its password once)`);
    // The node's own login (known_hosts, key) with a terminal for sudo's prompt; the drop-in the
    // set-up instructions install, checked by visudo; it fails unless passwordless sudo works after.
    expect(sudo.fix).toMatch(new RegExp(`^ssh -t -o UserKnownHostsFile=\\S+ -o StrictHostKeyChecking=accept-new -i \\S+ mko@${address(N2).replace(/\./g, '\\.')} '`));
    expect(sudo.fix).toContain(`echo "mko ALL=(ALL:ALL) NOPASSWD: ALL" > "$f" && sudo visudo -cf "$f" && sudo install -m 0440 -o root -g root "$f" /etc/sudoers.d/90-mko-mko; rm -f "$f"; sudo -n true'`);
    // n2 has no other result; n1 and n3 are checked in full.
    expect(broken.results.filter((r) => r.subject === N2).map((r) => r.id)).toEqual(['ssh.sudo']);
    for (const node of [N1, N3]) {
      for (const id of NODE_CHECKS) expect(find(broken.results, id, node).status, `${id} on ${node}`).not.toBe('fail');
    }
    expect(find(broken.results, 'dqlite.quorum', LAB).status).toBe('pass');
    const human = await run('doctor', LAB);
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toMatch(new RegExp(`^FAIL\\s+ssh\\.sudo\\s+${N2}\\s+mko cannot run commands as root with sudo`, 'm'));
    expect(human.stdout).toContain(`  ssh.sudo (${N2}): ssh -t `);

    // The fix as printed, in a terminal (script gives it one), typing the user's password when sudo asks.
    const typed = execa('script', ['-qec', sudo.fix ?? 'false', '/dev/null'], { reject: false, all: true, timeout: 60_000 });
    let seen = '';
    typed.all?.on('data', (chunk: Buffer) => {
      if (!/password for /.test(seen) && /password for /.test((seen += chunk.toString()))) typed.stdin?.write(`${lab.userPassword}\n`);
    });
    const fixed = await typed;
    expect(fixed.exitCode, fixed.all).toBe(0);
    expect(fixed.all).toMatch(/\[sudo\] password for mko/);
    expect(fixed.all).not.toContain(lab.userPassword);
    const repaired = await doctor(LAB, 0);
    expect(find(repaired.results, 'ssh.sudo', N2)).toMatchObject({ status: 'pass', fix: null });
    expect(repaired.results.filter((r) => r.subject === N2).length).toBe(NODE_CHECKS.length);
  }, 400_000);

  it('takes thresholds as role variables, and runs only the cheap checks when asked', async () => {
    const ctx = { dbPath, dataDir: dataDirFor(dbPath) };
    const strict = await runDoctor(db, ctx, LAB, {
      vars: { diagnostics_disk_fail_percent: 100, diagnostics_inode_warn_percent: 100, diagnostics_inode_fail_percent: 0, diagnostics_cert_warn_days: 5000, diagnostics_clock_skew_fail_seconds: -1 },
    });
    expect(find(strict.results, 'disk.space', N1)).toMatchObject({ status: 'fail', summary: expect.stringMatching(/free \(below 100%\)$/) as unknown });
    expect(find(strict.results, 'disk.inodes', N1).status).toBe('warn');
    expect(find(strict.results, 'certs.expiry', N1)).toMatchObject({ status: 'warn', summary: expect.stringContaining('within 5000 days') as unknown });
    expect(find(strict.results, 'clock.skew', LAB).status).toBe('fail');

    const cheap = await runDoctor(db, ctx, LAB, { cheapOnly: true });
    expect(cheap.results.every((r) => r.cheap)).toBe(true);
    expect(cheap.results.some((r) => r.id === 'certs.expiry')).toBe(false);
    expect(cheap.results.filter((r) => r.id === 'microk8s.services')).toHaveLength(3);
    expect(resultsOf(db, cheap.operationId)).toEqual(cheap.results);
  }, 300_000);

  it('--bundle: a 0600 tarball with every node\'s inspection report and mko\'s records, and no secret', async () => {
    const result = await run('doctor', LAB, '--json', '--bundle');
    expect(result.exitCode, result.all).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorJson;
    const bundle = report.bundle;
    if (!bundle) throw new Error('no bundle in the JSON');
    expect(bundle.inspected.sort()).toEqual([N1, N2, N3]);
    expect(statSync(bundle.path).mode & 0o777).toBe(0o600);
    expect(path.dirname(bundle.path)).toBe(path.join(dataDirFor(dbPath), 'bundles'));

    const out = mkdtempSync(path.join(dir, 'bundle-'));
    await execa('tar', ['-xzf', bundle.path, '-C', out]);
    const [root] = readdirSync(out);
    const top = path.join(out, root ?? '');
    expect(readdirSync(path.join(top, 'mko')).sort()).toEqual(['clusters.json', 'doctor-results.json', 'nodes.json', 'operations.json']);
    const results = JSON.parse(readFileSync(path.join(top, 'mko', 'doctor-results.json'), 'utf8')) as { operation: number; results: CheckResult[] };
    expect(results).toEqual({ operation: report.operation, results: report.results });
    for (const node of [N1, N2, N3]) {
      const inner = path.join(out, `inspect-${node}`);
      await execa('mkdir', [inner]);
      await execa('tar', ['-xzf', path.join(top, 'nodes', node, 'inspection-report.tar.gz'), '-C', inner]);
      expect(readdirSync(path.join(inner, 'inspection-report'))).toEqual(expect.arrayContaining(['args', 'snap.microk8s.daemon-kubelite']));
    }
    // Every file, the inspection reports' contents included, searched for every secret mko holds.
    const keyLines = readdirSync(path.join(dataDirFor(dbPath), 'keys'))
      .filter((f) => !f.endsWith('.pub'))
      .flatMap((f) => readFileSync(path.join(dataDirFor(dbPath), 'keys', f), 'utf8').split('\n'))
      .map((l) => l.trim())
      .filter((l) => l.length >= 16);
    expect(keyLines.length).toBeGreaterThan(6);
    const everything = Buffer.from((await execa('sh', ['-c', 'find . -type f -exec cat {} +'], { cwd: out, encoding: 'buffer' })).stdout).toString('latin1');
    expect(everything).toContain('"id": "dqlite.quorum"');
    for (const secret of [UPS_PASSWORD, ...keyLines]) expect(everything.includes(secret), `bundle holds ${secret.slice(0, 12)}…`).toBe(false);
  }, 300_000);

  it('reports a node that is off as ssh.reachable fail (and its voter as down), not a crash', async () => {
    await execa('ansible', [N3, '-b', '-m', 'ansible.builtin.shell', '-a', '(sleep 1; poweroff) >/dev/null 2>&1 &'], { env: { ...env, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') }, cwd: projectRoot, reject: false });
    const ctx = { dbPath, dataDir: dataDirFor(dbPath) };
    let results: CheckResult[] = [];
    for (let i = 0; i < 20 && !results.some((r) => r.id === 'ssh.reachable' && r.status === 'fail'); i++) {
      results = (await runDoctor(db, ctx, LAB, { cheapOnly: true })).results;
    }
    expect(find(results, 'ssh.reachable', N3)).toMatchObject({ status: 'fail', fix: `mko node test-ssh ${N3}` });
    expect(find(results, 'dqlite.quorum', LAB).summary).toMatch(/^quorum at risk/);
    expect(find(results, 'ssh.reachable', N1).status).toBe('pass');
    const cli = await run('doctor', N3, '--json');
    expect(cli.exitCode, cli.all).toBe(2);
    expect((JSON.parse(cli.stdout) as DoctorJson).results).toEqual([expect.objectContaining({ id: 'ssh.reachable', subject: N3, status: 'fail' })]);
  }, 400_000);
});
