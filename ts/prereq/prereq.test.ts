// The prerequisites playbook, for real, against this machine (local connection): the report's
// shape, facts knowable here, ports this test holds itself, the Raspberry Pi cgroup fix on a
// scratch cmdline.txt, and the CLI's table and exit codes.
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { getOperation } from '../ops/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { freePort } from '../test-support/sshd.js';
import { runPrerequisites, type PrereqReport } from './index.js';

const mko = path.join(projectRoot, 'bin', 'mko');
const local = { target: 'localhost', limit: 'localhost', hosts: ['localhost'] };
const localArgs = ['-i', 'localhost,', '-c', 'local'];
const FIXED_CHECKS = ['os', 'arch', 'memory', 'memory-recommended', 'disk', 'disk-recommended', 'packages', 'snapd', 'time-sync', 'cgroup'];

let dir: string;
let dbPath: string;
let db: Db;

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-prereq-'));
  dbPath = path.join(dir, 'mko.db');
  db = openDb(dbPath);
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function check(report: PrereqReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${report.checks.map((c) => c.name).join(', ')}`);
  return found;
}

describe('check mode on this machine', () => {
  let tcp: net.Server;
  let udp: dgram.Socket;
  let heldTcp: number;
  let heldUdp: number;
  let free: number;
  let report: PrereqReport;
  let result: Awaited<ReturnType<typeof runPrerequisites>>;

  beforeAll(async () => {
    // 25000 is MicroK8s's cluster agent port: held here by this test's own process.
    heldTcp = 25000;
    tcp = net.createServer();
    await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(heldTcp, '127.0.0.1', resolve));
    udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    heldUdp = udp.address().port;
    free = await freePort();
    result = await runPrerequisites(db, local, {
      fix: false,
      dbPath,
      dataDir: dataDirFor(dbPath),
      extraArgs: localArgs,
      vars: {
        prerequisites_ports: [
          { port: heldTcp, proto: 'tcp' },
          { port: free, proto: 'tcp' },
          { port: heldUdp, proto: 'udp' },
        ],
      },
    });
    const host = result.hosts[0];
    if (host?.status !== 'reported') throw new Error(`no report: ${JSON.stringify(host)}\n${getOperation(db, result.operationId).log}`);
    report = host.report;
  });
  afterAll(async () => {
    await new Promise((resolve) => tcp?.close(resolve));
    udp?.close();
  });

  it('writes a report with every check, each {name, hard, ok, detail, fixed}', () => {
    expect(report).toMatchObject({ schema: 1, host: 'localhost', fix: false, check_mode: true, reboot_required: false });
    expect(report.checks.map((c) => c.name)).toEqual([...FIXED_CHECKS, `port ${heldTcp}/tcp`, `port ${free}/tcp`, `port ${heldUdp}/udp`]);
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'fixed', 'hard', 'name', 'ok']);
      expect(c.fixed).toBe(false);
    }
    expect(check(report, 'time-sync').hard).toBe(false);
    expect(check(report, 'memory-recommended').hard).toBe(false);
  });

  it('knows this machine: OS, architecture, memory, packages, not a Raspberry Pi', () => {
    const release = readFileSync('/etc/os-release', 'utf8');
    const version = /^VERSION_ID="?([^"\n]+)/m.exec(release)?.[1] ?? '';
    const debian = /^ID=debian$/m.test(release);
    expect(check(report, 'os')).toMatchObject({ ok: debian && Number(version) >= 11 });
    expect(check(report, 'os').detail).toMatch(new RegExp(`^${debian ? 'Debian' : ''}.*${version}`));
    expect(check(report, 'arch')).toMatchObject({ ok: true, detail: os.arch() === 'x64' ? 'x86_64' : 'aarch64' });
    const memTotalMib = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024);
    expect(check(report, 'memory')).toMatchObject({ ok: memTotalMib >= 540, detail: expect.stringMatching(new RegExp(`^${memTotalMib} MiB`)) });
    const dpkg = dpkgInstalled(['python3', 'python3-apt', 'sudo', 'iproute2']);
    expect(check(report, 'packages').ok).toBe(dpkg);
    expect(check(report, 'cgroup')).toMatchObject({ ok: true, detail: 'not a Raspberry Pi: not needed' });
    const snap = existsSync('/usr/bin/snap') || existsSync('/snap/bin/snap');
    if (!snap) expect(check(report, 'snapd')).toMatchObject({ ok: false, hard: true, detail: expect.stringContaining('snapd is not installed') });
  });

  it('passes a free port and fails ports held by another process, naming it', () => {
    expect(check(report, `port ${free}/tcp`)).toMatchObject({ ok: true, hard: true, detail: 'free' });
    // The holder is named by its command name (vitest retitles its workers) and pid.
    const byThisProcess = new RegExp(`^in use by ${process.title.slice(0, 15).replace(/[()]/g, '\\$&')} \\(pid ${process.pid}\\)$`);
    expect(check(report, `port ${heldTcp}/tcp`)).toMatchObject({ ok: false, hard: true, detail: expect.stringMatching(byThisProcess) });
    expect(check(report, `port ${heldUdp}/udp`)).toMatchObject({ ok: false, detail: expect.stringMatching(byThisProcess) });
  });

  it('fails the run after writing the report, in --check, recorded as an operation', () => {
    expect(report.passed).toBe(false);
    expect(result.passed).toBe(false);
    const op = getOperation(db, result.operationId);
    expect(op).toMatchObject({ kind: 'prerequisites-check', status: 'failed', exitCode: 2 });
    expect(op.args).toContain('--check');
    expect(op.recap['localhost']).toMatchObject({ changed: 0, failed: 1 });
    expect(op.log).toMatch(new RegExp(`does not meet MicroK8s's prerequisites: .*port ${heldTcp}/tcp, port ${heldUdp}/udp`));
  });
});

/** Whether all these Debian packages are installed, asked of dpkg directly. */
function dpkgInstalled(packages: string[]): boolean {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8').split('\n\n');
  return packages.every((p) => status.some((s) => s.startsWith(`Package: ${p}\n`) && /^Status: install ok installed$/m.test(s)));
}

describe('fix mode on a scratch Raspberry Pi cmdline.txt', () => {
  it('adds the missing cgroup flags once, says a reboot is needed, and a second run changes nothing', async () => {
    const cmdline = path.join(dir, 'cmdline.txt');
    writeFileSync(cmdline, 'console=tty1 root=PARTUUID=6c586e13-02 cgroup_memory=1 rootwait\n');
    const options = {
      fix: true,
      dbPath,
      dataDir: dataDirFor(dbPath),
      // apt is not exercised here: this machine must not get snapd installed by a test.
      extraArgs: [...localArgs, '--skip-tags', 'prerequisites_install'],
      vars: {
        prerequisites_cgroup_check: 'always',
        prerequisites_cmdline_files: [path.join(dir, 'absent.txt'), cmdline],
        prerequisites_ports: [],
        prerequisites_fail: false,
      },
    };
    const first = await runPrerequisites(db, local, options);
    const firstReport = first.hosts[0]?.status === 'reported' ? first.hosts[0].report : undefined;
    expect(firstReport).toMatchObject({ fix: true, check_mode: false, reboot_required: true });
    expect(firstReport && check(firstReport, 'cgroup')).toMatchObject({
      ok: true,
      fixed: true,
      detail: `cgroup_enable=memory cgroup_memory=1 set in ${cmdline}; reboot needed to take effect`,
    });
    expect(readFileSync(cmdline, 'utf8')).toBe('console=tty1 root=PARTUUID=6c586e13-02 cgroup_memory=1 rootwait cgroup_enable=memory\n');
    expect(getOperation(db, first.operationId)).toMatchObject({ kind: 'prerequisites-install', exitCode: 0 });
    expect(getOperation(db, first.operationId).recap['localhost']?.changed).toBe(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('cmdline.txt.'))).toHaveLength(1); // the backup

    const second = await runPrerequisites(db, local, options);
    expect(getOperation(db, second.operationId).recap['localhost']?.changed).toBe(0);
    const secondReport = second.hosts[0]?.status === 'reported' ? second.hosts[0].report : undefined;
    expect(secondReport && check(secondReport, 'cgroup')).toMatchObject({ ok: true, fixed: false });
    expect(readFileSync(cmdline, 'utf8')).toBe('console=tty1 root=PARTUUID=6c586e13-02 cgroup_memory=1 rootwait cgroup_enable=memory\n');
  });
});

describe('CLI', () => {
  let env: Record<string, string>;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, stdin: 'ignore' });

  beforeAll(async () => {
    const main = path.join(projectRoot, 'dist', 'cli', 'main.js');
    const stale = existsSync(main) ? (await execa('find', ['ts', '-name', '*.ts', '-newer', main, '-print', '-quit'], { cwd: projectRoot })).stdout.trim() : 'missing';
    if (stale) await execa('npm', ['run', '--silent', 'build'], { cwd: projectRoot });
    // The node is this machine; ANSIBLE_TRANSPORT=local makes Ansible reach it without SSH.
    env = { MKO_DB: dbPath, ANSIBLE_TRANSPORT: 'local' };
    insertNode(db, validateNodeInput({ hostname: 'here', address: '127.0.0.1', sshUser: 'root' }), null);
  });

  it('prints NODE / CHECK / RESULT / DETAIL per node and exits 2 exactly when a hard check fails', async () => {
    const json = await run('system', 'check-prerequisites', 'here', '--json');
    const result = JSON.parse(json.stdout) as { passed: boolean; hosts: { host: string; report: PrereqReport }[] };
    const hardFailure = result.hosts[0]?.report.checks.some((c) => c.hard && !c.ok);
    expect(result.passed).toBe(!hardFailure);
    expect(json.exitCode).toBe(hardFailure ? 2 : 0);

    // --verbose: the run's log on stdout before the table (without it, a progress line on stderr).
    const text = await run('system', 'check-prerequisites', 'here', '--verbose');
    expect(text.exitCode).toBe(json.exitCode);
    expect(text.stdout).toContain('PLAY RECAP');
    const lines = text.stdout.split('\n');
    const header = lines.findIndex((l) => /^NODE\s+CHECK\s+RESULT\s+DETAIL$/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^here\s+os\s+ok\s+/);
    expect(text.stdout).toMatch(/^here\s+arch\s+ok\s+x86_64$|^here\s+arch\s+ok\s+aarch64$/m);
    const hardFailures = result.hosts[0]?.report.checks.filter((c) => c.hard && !c.ok).length ?? 0;
    expect(text.stdout.trimEnd().split('\n').pop()).toMatch(
      hardFailures > 0 ? new RegExp(`^here: ${hardFailures} hard check\\(s\\) failed \\(operation \\d+\\)$`) : /^here: every hard check passed on 1 node\(s\)/,
    );
    for (const c of result.hosts[0]?.report.checks ?? []) {
      const word = c.ok ? 'ok' : c.hard ? 'FAIL' : 'warn';
      const row = lines.find((l) => new RegExp(`^here\\s+${c.name}\\s{2,}`).test(l));
      expect(row, c.name).toMatch(new RegExp(`\\s${word}\\s`));
      // Free space moves between the two runs; every other detail is the same.
      if (!c.detail.includes('MiB free')) expect(row?.endsWith(c.detail), c.name).toBe(true);
    }
  });

  it('answers an unknown target in one line with exit 1, and has examples in --help', async () => {
    const ghost = await run('system', 'check-prerequisites', 'ghost');
    expect(ghost.exitCode).toBe(1);
    expect(ghost.stderr.trim()).toBe('mko: no node or cluster "ghost": see mko node list and mko cluster list');
    for (const command of ['check-prerequisites', 'install-prerequisites']) {
      const help = await run('system', command, '--help');
      expect(help.exitCode, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
    }
  });
});
