// mko doctor on a real lab cluster (MicroK8s there is the lab's test double): a healthy cluster
// passes; then things are broken on purpose on the nodes (a voter's MicroK8s stopped, FORWARD set
// to DROP, a member gone from /etc/hosts, a certificate 5 days from expiry), each check fails and
// names its fix, the fixes are run as printed, and everything passes again. Thresholds are tested
// with variables (a full disk and a skewed clock cannot be made on shared-kernel lab hosts; the
// Python unit tests force those readings). Then the support bundle, and a node that is off.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import type { CheckResult } from '../health/checks.js';
import { getOperation } from '../ops/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { tearDownLab, testLabName } from '../test-support/lab.js';
import { resultsOf, runDoctor } from './index.js';

const isRoot = process.getuid?.() === 0;
const LAB = testLabName('dct');
const [N1, N2, N3] = [`${LAB}-n1`, `${LAB}-n2`, `${LAB}-n3`];
const UPS_PASSWORD = 'upsSecret-doctor-4711';

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
    for (const failure of failures.filter((r) => r.scope === 'node')) {
      const fix = failure.fix ?? '';
      const fixed = fix.startsWith('mko ')
        ? await execa(mkoBin, fix.split(' ').slice(1), { env, reject: false, all: true })
        : await execa('sh', ['-c', fix], { env: { ...process.env, ...env }, reject: false, all: true });
      expect(fixed.exitCode, `${fix}: ${fixed.all}`).toBe(0);
    }
    const repaired = await doctor(LAB, 0);
    expect(repaired.results.filter((r) => r.status === 'fail')).toEqual([]);
    expect(find(repaired.results, 'certs.expiry', N1).evidence).toMatch(/server\.crt 36[45]d/);
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
