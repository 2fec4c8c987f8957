// Hardware reports: the schema against a real report from this machine's collector, the store
// on real SQLite, the Wake-on-LAN MAC choice, the summary, and collection through the real
// ansible-playbook (a stand-in playbook with the same contract, then playbooks/hardware.yml).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, deleteNodeRows, getNode, insertNode, validateNodeInput, type NodeInput } from '../fleet/index.js';
import { getOperation } from '../ops/index.js';
import { addNotifier, collectAndRecord, latestStates } from '../health/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { collectedReport } from '../test-support/hardware.js';
import { freePort } from '../test-support/sshd.js';
import { dumpDb } from '../test-support/db-dump.js';
import {
  collectHardware,
  diffReports,
  formatChange,
  latestReport,
  listReports,
  parseReport,
  wakeMac,
  storeReports,
  summarizeReport,
  type HardwareReport,
} from './index.js';

const collector = path.join(projectRoot, 'collections', 'ansible_collections', 'mko', 'fleet', 'plugins', 'module_utils', 'hardware_collect.py');
const hardwarePlaybook = path.join(projectRoot, 'playbooks', 'hardware.yml');
const mko = path.join(projectRoot, 'bin', 'mko');

/** This machine's default-route interface, from /proc/net/route and Node (not from the collector). */
function defaultInterface(): { name: string; ipv4: string; mac: string } {
  const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
  const name = route.map((l) => l.split(/\s+/)).find((f) => f[1] === '00000000')?.[0];
  const v4 = name ? os.networkInterfaces()[name]?.find((a) => a.family === 'IPv4') : undefined;
  if (!name || !v4) throw new Error('this machine has no default IPv4 route: the MAC tests need one');
  return { name, ipv4: v4.address, mac: v4.mac };
}

let realText: string;
const real = (): HardwareReport => JSON.parse(realText) as HardwareReport;

beforeAll(async () => {
  // A genuine report of this machine, from the collector the hardware role ships.
  expect(existsSync(collector), `${collector} is missing: the hardware role ships it`).toBe(true);
  realText = (await execa('python3', [collector])).stdout;
});

function addNode(db: Db, input: Partial<NodeInput> & { hostname: string; address: string }) {
  return insertNode(db, validateNodeInput({ sshUser: 'root', ...input }), null);
}

describe('schema', () => {
  it("accepts this machine's real report, whose facts match what Node sees", () => {
    const checked = parseReport(realText);
    expect(checked.ok, checked.ok ? '' : checked.error).toBe(true);
    const r = real();
    expect(r.hostname).toBe(os.hostname().split('.')[0]);
    expect(r.os.kernel).toBe(os.release());
    expect(r.cpu.threads).toBe(os.cpus().length);
    expect(Math.abs((r.memory.total_mb ?? 0) - os.totalmem() / 2 ** 20)).toBeLessThan(2);
    const eth = defaultInterface();
    const nic = r.network.find((n) => n.name === eth.name);
    expect(nic?.mac).toBe(eth.mac);
    expect(nic?.addresses.map((a) => a.address)).toContain(eth.ipv4);
    expect(r.disks.filesystems.map((f) => f.mount)).toContain('/');
  });

  it('accepts keys it does not know yet, at the top and inside sections', () => {
    const r = real() as HardwareReport & Record<string, unknown>;
    const newer = { ...r, bios: { vendor: 'x' }, cpu: { ...r.cpu, flags: ['sse'] } };
    expect(parseReport(JSON.stringify(newer)).ok).toBe(true);
  });

  const broken: [string, (r: Record<string, any>) => void, string][] = [
    ['a missing section', (r) => delete r['memory'], 'memory: missing'],
    ['a missing key', (r) => delete r['cpu']['cores'], 'cpu.cores: missing'],
    ['a string for a number', (r) => (r['memory']['total_mb'] = '24 GB'), 'memory.total_mb: must be number or null'],
    ['a float for an integer', (r) => (r['cpu']['threads'] = 2.5), 'cpu.threads: must be integer or null'],
    ['a null where a name is required', (r) => (r['disks']['devices'][0]['name'] = null), 'disks.devices[0].name: must be string'],
    ['a string for a list', (r) => (r['network'] = 'eth0'), 'network: must be array'],
    ['a wrong type deep in a list', (r) => (r['network'][0]['addresses'] = [{ address: '10.0.0.1', prefix: '24', family: 'inet' }]), 'network[0].addresses[0].prefix: must be integer or null'],
    ['another schema version', (r) => (r['schema'] = 2), 'schema: must be 1'],
    ['a time that is not ISO 8601', (r) => (r['collected_at'] = 'yesterday'), 'collected_at: must be an ISO 8601 time'],
    ['a boolean for a section', (r) => (r['volumes'] = true), 'volumes: must be object'],
  ];
  it.each(broken)('rejects %s, naming the field', (_label, mutate, message) => {
    const r = JSON.parse(realText) as Record<string, any>;
    mutate(r);
    const checked = parseReport(JSON.stringify(r));
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.error).toContain(message);
      expect(checked.error).not.toContain('\n');
    }
  });

  it('rejects text that is not JSON', () => {
    const checked = parseReport(realText.slice(0, 40));
    expect(checked).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
  });
});

describe('store', () => {
  let db: Db;
  beforeEach(() => {
    db = openDb(':memory:');
  });
  const at = (iso: string): HardwareReport => ({ ...real(), collected_at: iso });

  it('keeps every report; latest is the newest collected, whatever the order stored', () => {
    const node = addNode(db, { hostname: 'n1', address: '10.0.0.1' });
    const other = addNode(db, { hostname: 'n2', address: '10.0.0.2' });
    storeReports(db, [{ nodeId: node.id, report: at('2026-11-21T08:00:00Z') }], null);
    storeReports(db, [{ nodeId: node.id, report: at('2026-11-21T09:30:00+02:00') }], null); // 07:30Z: older
    storeReports(db, [{ nodeId: other.id, report: at('2026-11-22T00:00:00Z') }], null);
    const history = listReports(db, node.id);
    expect(history.map((h) => h.collectedAt)).toEqual(['2026-11-21T08:00:00.000Z', '2026-11-21T07:30:00.000Z']);
    expect(latestReport(db, node.id)?.report.collected_at).toBe('2026-11-21T08:00:00Z');
    expect(latestReport(db, node.id)?.id).toBe(history[0]?.id);
    expect(latestReport(db, addNode(db, { hostname: 'n3', address: '10.0.0.3' }).id)).toBeUndefined();
  });

  it("a node's reports go when the node goes", () => {
    const node = addNode(db, { hostname: 'n1', address: '10.0.0.1' });
    storeReports(db, [{ nodeId: node.id, report: real() }], null);
    deleteNodeRows(db, node.id);
    expect((db.prepare('SELECT count(*) AS n FROM hardware_reports').get() as { n: number }).n).toBe(0);
  });

  it('stores a run in one transaction: one bad row and nothing is stored, no MAC filled', () => {
    const node = addNode(db, { hostname: 'n1', address: '10.0.0.1' });
    const before = dumpDb(db);
    expect(() =>
      storeReports(
        db,
        [
          { nodeId: node.id, report: real(), wolMac: '02:00:00:00:00:01' },
          { nodeId: 9999, report: real() },
        ],
        null,
      ),
    ).toThrow(/FOREIGN KEY/);
    expect(dumpDb(db)).toBe(before);
  });

  it('fills the Wake-on-LAN MAC only when the node has none', () => {
    const bare = addNode(db, { hostname: 'bare', address: '10.0.0.1' });
    const set = addNode(db, { hostname: 'set', address: '10.0.0.2', wolMac: 'aa:bb:cc:dd:ee:ff' });
    const first = storeReports(
      db,
      [
        { nodeId: bare.id, report: real(), wolMac: '02:00:00:00:00:01' },
        { nodeId: set.id, report: real(), wolMac: '02:00:00:00:00:02' },
      ],
      null,
    );
    expect(first.map((o) => o.wolMacFilled)).toEqual(['02:00:00:00:00:01', null]);
    expect(getNode(db, 'bare').wol.mac).toBe('02:00:00:00:00:01');
    expect(getNode(db, 'set').wol.mac).toBe('aa:bb:cc:dd:ee:ff');
    // Once set, a later report with another MAC leaves it alone.
    const again = storeReports(db, [{ nodeId: bare.id, report: real(), wolMac: '02:00:00:00:00:09' }], null);
    expect(again[0]?.wolMacFilled).toBeNull();
    expect(getNode(db, 'bare').wol.mac).toBe('02:00:00:00:00:01');
  });
});

// Which NIC wakes a node is the collection's call (module_utils/wake_nic.py, tested there); the
// report carries it as wake_nic and mko only reads it.
describe('wakeMac', () => {
  it("reads the MAC of the report's wake_nic, normalised; none without one", () => {
    const nic = { interface: 'eth0', mac: 'AA-BB-CC-00-11-22', address: '10.0.0.5', broadcast: '10.0.0.255' };
    expect(wakeMac({ ...real(), wake_nic: nic })).toBe('aa:bb:cc:00:11:22');
    expect(wakeMac({ ...real(), wake_nic: null })).toBeNull();
    expect(wakeMac({ ...real(), wake_nic: { ...nic, mac: null } })).toBeNull();
    const { wake_nic: _gone, ...older } = { ...real(), wake_nic: nic };
    expect(wakeMac(older)).toBeNull();
    expect(parseReport(JSON.stringify({ ...real(), wake_nic: { ...nic, mac: 7 } }))).toMatchObject({ ok: false });
  });
});

describe('diff', () => {
  /** A report with one disk, one filesystem, one RAID array and one NIC, to change piece by piece. */
  const base = (): HardwareReport => {
    const r = real();
    return {
      ...r,
      memory: { ...r.memory, total_mb: 8000, available_mb: 6000 },
      cpu: { ...r.cpu, load: [0.1, 0.2, 0.3], temperature_c: 50, usage_percent: 5 },
      os: { ...r.os, uptime_seconds: 100 },
      disks: {
        devices: [{ name: 'nvme0n1', size_bytes: 512110190592, type: 'disk', model: 'WD Blue', rotational: false, children: [] }],
        filesystems: [{ source: '/dev/nvme0n1p2', fstype: 'ext4', size_bytes: 1000, used_bytes: 400, avail_bytes: 600, mount: '/' }],
      },
      raid: { mdstat: 'md0 : active raid1', arrays: [{ name: 'md0', level: 'raid1', state: 'clean', devices: ['sda1', 'sdb1'] }] },
      network: [{ name: 'eth0', mac: '02:00:00:00:00:01', addresses: [{ address: '10.0.0.5', prefix: 24, family: 'ipv4' }], speed_mbps: 1000, state: 'up' }],
    };
  };

  it('finds nothing between readings that moved: load, temperature, free memory, uptime, a few points of disk use', () => {
    const later = base();
    later.cpu = { ...later.cpu, load: [3, 2, 1], temperature_c: 71, usage_percent: 90 };
    later.memory = { ...later.memory, available_mb: 100 };
    later.os = { ...later.os, uptime_seconds: 99999 };
    later.disks.filesystems[0] = { ...later.disks.filesystems[0]!, used_bytes: 490, avail_bytes: 510 };
    expect(diffReports(base(), later)).toEqual([]);
  });

  it('names what was added, removed and changed, section by section', () => {
    const later = base();
    later.memory = { ...later.memory, total_mb: 4000 };
    later.disks.devices.push({ name: 'sda', size_bytes: 2000398934016, type: 'disk', model: 'Seagate', rotational: true, children: [] });
    later.disks.filesystems[0] = { ...later.disks.filesystems[0]!, used_bytes: 950, avail_bytes: 50 };
    later.raid.arrays[0] = { ...later.raid.arrays[0]!, state: 'clean, degraded', devices: ['sda1'] };
    later.network = [{ ...later.network[0]!, speed_mbps: 100 }];
    later.network.push({ name: 'wlan0', mac: null, addresses: [], speed_mbps: null, state: 'down' });
    expect(diffReports(base(), later).map(formatChange)).toEqual([
      '~ memory total: 7.8 GiB -> 3.9 GiB',
      '+ disk sda: size 1.8 TiB, model Seagate, type disk',
      '~ filesystem / used: 40% -> 95%',
      '~ raid md0 state: clean -> clean, degraded',
      '~ raid md0 devices: sda1, sdb1 -> sda1',
      '~ network eth0 speed Mb/s: 1000 -> 100',
      '+ network wlan0: state down',
    ]);
    expect(diffReports(later, base()).map(formatChange)).toContain('- disk sda: size 1.8 TiB, model Seagate, type disk');
  });
});

describe('summary', () => {
  it("states this machine's key facts", () => {
    const r = real();
    const text = summarizeReport(r);
    const eth = defaultInterface();
    expect(text).toContain(`${r.hostname}, collected ${r.collected_at}`);
    expect(text).toMatch(new RegExp(`^OS:\\s+${r.os.distribution} ${r.os.version}, kernel ${os.release()}, ${os.arch() === 'x64' ? 'x86_64' : ''}`, 'm'));
    expect(text).toContain(r.cpu.model ?? 'unknown model');
    expect(text).toContain(`${os.cpus().length} threads`);
    expect(text).toMatch(/^Memory:\s+\d+(\.\d)? GiB total/m);
    const root = r.disks.filesystems.find((f) => f.mount === '/');
    const used = Math.ceil(((root?.used_bytes ?? 0) / ((root?.used_bytes ?? 0) + (root?.avail_bytes ?? 1))) * 100);
    expect(text).toMatch(new RegExp(`^  / ${root?.fstype} on ${root?.source}, .*, ${used}% used`, 'm'));
    expect(text).toMatch(new RegExp(`^  ${eth.name} up, ${eth.mac}, ${eth.ipv4.replace(/\./g, '\\.')}/\\d+`, 'm'));
    for (const label of ['Disks', 'Filesystems', 'LVM', 'RAID', 'Network', 'GPUs', 'Thermal', 'Volumes']) {
      expect(text).toMatch(new RegExp(`^${label}:`, 'm'));
    }
  });

  it('lists RAID, LVM, GPUs, sensors and volumes when a node has them', () => {
    const r: HardwareReport = {
      ...real(),
      raid: { mdstat: 'md0 : active raid1 sdb1[1] sda1[0]', arrays: [{ name: 'md0', level: 'raid1', state: 'active', devices: ['sda1', 'sdb1'] }] },
      lvm: {
        pvs: [{ name: '/dev/md0', vg: 'data', size_bytes: 2 ** 40, free_bytes: 0 }],
        vgs: [{ name: 'data', pv_count: 1, lv_count: 1, size_bytes: 2 ** 40, free_bytes: 2 ** 39 }],
        lvs: [{ name: 'images', vg: 'data', size_bytes: 2 ** 39, path: '/dev/data/images', attr: '-wi-ao----' }],
      },
      gpus: [{ slot: '01:00.0', vendor: 'NVIDIA Corporation', model: 'GA106', nvidia: { name: 'RTX 3060', memory_total_mb: 12288, temperature_c: 41 } }],
      thermal: { zones: [{ name: 'thermal_zone0', type: 'cpu-thermal', temp_c: 45.2 }], fans: [{ name: 'fan1', rpm: 1200 }] },
      volumes: { docker: [{ name: 'pgdata', driver: 'local', mountpoint: '/var/lib/docker/volumes/pgdata/_data' }], kubernetes: { persistent_volumes: [{ name: 'pv1' }], persistent_volume_claims: [], storage_classes: [] } },
    };
    expect(parseReport(JSON.stringify(r)).ok).toBe(true);
    const text = summarizeReport(r);
    expect(text).toMatch(/^RAID:\s+md0 raid1 active \(sda1, sdb1\)/m);
    expect(text).toMatch(/^LVM:\s+VG data 1 TiB \(512 GiB free\), LVs data\/images 512 GiB, PVs \/dev\/md0/m);
    expect(text).toMatch(/^GPUs:\s+01:00\.0 NVIDIA Corporation GA106 12 GiB/m);
    expect(text).toMatch(/^Thermal:\s+cpu-thermal 45\.2 °C, fan1 1200 rpm/m);
    expect(text).toMatch(/^Volumes:\s+docker 1 \(pgdata\), kubernetes 1 PV, 0 PVC/m);
  });
});

describe('collect through ansible-playbook', () => {
  let dir: string;
  let dbPath: string;
  let db: Db;

  beforeAll(async () => {
    const built = path.join(projectRoot, 'dist', 'inventory', 'script.js');
    if (!existsSync(built)) await execa('npm', ['run', 'build'], { cwd: projectRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-hw-'));
    dbPath = path.join(dir, 'mko.db');
    db = openDb(dbPath);
  });
  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores good reports in one go, rejects a bad one by field, reports an unreachable node', async () => {
    const eth = defaultInterface();
    addCluster(db, { name: 'mixed' });
    addNode(db, { hostname: 'hw-good', address: eth.ipv4, cluster: 'mixed' });
    addNode(db, { hostname: 'hw-bad', address: '127.0.0.2', cluster: 'mixed' });
    addNode(db, { hostname: 'hw-gone', address: '127.0.0.1', sshPort: await freePort(), cluster: 'mixed' });
    const fixtures = path.join(dir, 'fixtures');
    const bad = JSON.parse(realText) as Record<string, any>;
    bad['cpu']['cores'] = 'two';
    await execa('mkdir', ['-p', fixtures]);
    writeFileSync(path.join(fixtures, 'hw-good.json'), await collectedReport(eth.ipv4));
    writeFileSync(path.join(fixtures, 'hw-bad.json'), JSON.stringify(bad));
    // The hardware role's contract, minus the collecting: each host's JSON lands in the directory.
    const playbook = path.join(dir, 'stand-in.yml');
    writeFileSync(
      playbook,
      `- name: Stand-in for the hardware playbook
  hosts: all
  gather_facts: false
  vars:
    ansible_connection: "{{ 'ssh' if inventory_hostname == 'hw-gone' else 'local' }}"
  tasks:
    - name: Reach the node
      ansible.builtin.ping:
    - name: Check the report directory is private
      ansible.builtin.stat:
        path: "{{ hardware_report_dir }}"
      register: report_dir
      failed_when: report_dir.stat.mode != '0700'
    - name: Write the report
      ansible.builtin.copy:
        src: ${fixtures}/{{ inventory_hostname }}.json
        dest: "{{ hardware_report_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
`,
    );
    const result = await collectHardware(db, 'mixed', { dbPath, dataDir: dataDirFor(dbPath), playbook });
    expect(result.target).toEqual({ name: 'mixed', kind: 'cluster' });
    const byHost = Object.fromEntries(result.hosts.map((h) => [h.host, h]));
    expect(byHost['hw-good']).toMatchObject({ status: 'stored', wolMacFilled: eth.mac });
    expect(byHost['hw-bad']).toMatchObject({ status: 'rejected', reason: 'cpu.cores: must be integer or null' });
    expect(byHost['hw-gone']).toMatchObject({ status: 'unreachable', reason: expect.stringMatching(/ssh|connect/i) });
    const op = getOperation(db, result.operationId);
    expect(op).toMatchObject({ kind: 'hardware', target: 'mixed', status: 'failed', exitCode: 4 });
    const rows = db.prepare('SELECT node_id, operation_id FROM hardware_reports').all();
    expect(rows).toEqual([{ node_id: getNode(db, 'hw-good').id, operation_id: result.operationId }]);
    expect(getNode(db, 'hw-bad').wol.mac).toBeNull();
  });

  it('a changed report is health check hardware.changes: warn with the changes as evidence, an event to the notifiers, pass again once nothing new', async () => {
    const eth = defaultInterface();
    addNode(db, { hostname: 'hw-diff', address: eth.ipv4, sshPort: 2223 });
    const fixtures = path.join(dir, 'diff-fixtures');
    await execa('mkdir', ['-p', fixtures]);
    const report = JSON.parse(await collectedReport(eth.ipv4)) as HardwareReport;
    const grown: HardwareReport = { ...report, disks: { ...report.disks, devices: [...report.disks.devices, { name: 'sdz', size_bytes: 1024 ** 4, type: 'disk', model: 'USB', rotational: true, children: [] }] } };
    const playbook = path.join(dir, 'diff-stand-in.yml');
    writeFileSync(
      playbook,
      `- name: Stand-in for the hardware playbook (the report given as a file)
  hosts: all
  gather_facts: false
  vars:
    ansible_connection: local
  tasks:
    - name: Write the report
      ansible.builtin.copy:
        src: ${fixtures}/report.json
        dest: "{{ hardware_report_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
`,
    );
    const sent = path.join(dir, 'sent.jsonl');
    addNotifier(db, dataDirFor(dbPath), { name: 'log', command: '/bin/sh', args: ['-c', `cat >> ${sent}; echo >> ${sent}`] });
    const collect = async (r: HardwareReport) => {
      writeFileSync(path.join(fixtures, 'report.json'), JSON.stringify({ ...r, collected_at: new Date().toISOString() }));
      return collectAndRecord(db, 'hw-diff', { dbPath, dataDir: dataDirFor(dbPath), playbook });
    };
    const state = () => latestStates(db, { subject: 'hw-diff' }).find((s) => s.id === 'hardware.changes');

    const first = await collect(report);
    expect(first.events).toEqual([]);
    expect(state()).toMatchObject({ status: 'pass', summary: 'first hardware report: nothing to compare yet' });
    const second = await collect(grown);
    expect(second.events.map((e) => [e.check, e.from, e.to])).toEqual([['hardware.changes', 'pass', 'warn']]);
    expect(state()).toMatchObject({ status: 'warn', evidence: '+ disk sdz: size 1 TiB, model USB, type disk', fix: 'mko hardware show hw-diff --diff' });
    expect(second.deliveries).toEqual([expect.objectContaining({ ok: true })]);
    const delivered = readFileSync(sent, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(delivered).toEqual([expect.objectContaining({ type: 'health.event', event: expect.objectContaining({ subject: 'hw-diff', check: 'hardware.changes', to: 'warn' }) })]);
    const third = await collect(grown);
    expect(third.events.map((e) => [e.from, e.to])).toEqual([['warn', 'pass']]);
    expect(state()?.summary).toMatch(/^no hardware change since the previous report \(report \d+\)$/);
  });

  it.skipIf(!existsSync(hardwarePlaybook))(
    'collects this machine with playbooks/hardware.yml (skipped while that playbook does not exist), then shows it through the CLI',
    async () => {
      const eth = defaultInterface();
      // The same machine as hw-good above, told apart by port (the local connection ignores it).
      addNode(db, { hostname: 'hw-local', address: eth.ipv4, sshPort: 2222 });
      const env = { ANSIBLE_TRANSPORT: 'local' };
      const first = await collectHardware(db, 'hw-local', { dbPath, dataDir: dataDirFor(dbPath), env });
      expect(first.hosts).toEqual([expect.objectContaining({ host: 'hw-local', status: 'stored', wolMacFilled: eth.mac, changes: null })]);
      expect(getOperation(db, first.operationId)).toMatchObject({ kind: 'hardware', status: 'succeeded' });
      const second = await collectHardware(db, 'hw-local', { dbPath, dataDir: dataDirFor(dbPath), env });
      expect(second.hosts[0]).toMatchObject({ status: 'stored', wolMacFilled: null });
      // Two real reports of one machine a few seconds apart: its load, temperatures, free memory and
      // uptime moved, and none of that is a change. Labs of tests running beside this one add and
      // remove their bridges and veths (mko-*, mv-*) on this machine: those are real changes.
      const changes = second.hosts[0]?.status === 'stored' ? second.hosts[0].changes : undefined;
      expect(changes?.filter((c) => !(c.section === 'network' && /^(mko|mv)-/.test(c.item))).map(formatChange)).toEqual([]);
      const history = listReports(db, getNode(db, 'hw-local').id);
      expect(history).toHaveLength(2);
      expect(latestReport(db, getNode(db, 'hw-local').id)?.operationId).toBe(second.operationId);

      await buildCli();
      const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath, ...env }, reject: false });
      const shown = await run('hardware', 'show', 'hw-local');
      expect(shown.exitCode, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(`kernel ${os.release()}`);
      expect(shown.stdout).toContain(eth.mac);
      const raw = JSON.parse((await run('hardware', 'show', 'hw-local', '--json')).stdout) as HardwareReport;
      expect(parseReport(JSON.stringify(raw)).ok).toBe(true);
      const listed = (await run('hardware', 'show', 'hw-local', '--history')).stdout.split('\n');
      expect(listed[0]).toMatch(/^ID\s+COLLECTED\s+STORED\s+OPERATION/);
      expect(listed).toHaveLength(3);
      // --verbose: the run's full log instead of the progress line.
      const collected = await run('hardware', 'collect', 'hw-local', '--verbose');
      expect(collected.exitCode, collected.stdout).toBe(0);
      expect(collected.stdout).toContain('PLAY RECAP');
      expect(collected.stdout).toMatch(/^HOST\s+STATUS\s+CPU\s+MEMORY\s+DISKS\s+MAC FILLED\s+CHANGES$/m);
      expect(collected.stdout).toMatch(/^hw-local\s+stored\s+\d+ x /m);
    },
  );
});

/** Build dist/ when any TypeScript source is newer than it (the CLI tests run the built mko). */
async function buildCli(): Promise<void> {
  const main = path.join(projectRoot, 'dist', 'cli', 'main.js');
  const newer = existsSync(main)
    ? (await execa('find', ['ts', '-name', '*.ts', '-newer', main, '-print', '-quit'], { cwd: projectRoot })).stdout.trim()
    : 'missing';
  if (newer) await execa('npm', ['run', '--silent', 'build'], { cwd: projectRoot });
  expect(statSync(main).isFile()).toBe(true);
}

describe('CLI', () => {
  let dir: string;
  let dbPath: string;
  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-hw-cli-'));
    dbPath = path.join(dir, 'mko.db');
    const db = openDb(dbPath);
    const node = addNode(db, { hostname: 'pi1', address: '10.0.0.1' });
    addNode(db, { hostname: 'pi2', address: '10.0.0.2' });
    storeReports(db, [{ nodeId: node.id, report: { ...real(), collected_at: '2026-11-20T10:00:00Z' } }], null);
    storeReports(db, [{ nodeId: node.id, report: real() }], null);
    const pi3 = addNode(db, { hostname: 'pi3', address: '10.0.0.3' });
    const grown = real();
    grown.disks.devices.push({ name: 'sdx\u001b[2J', size_bytes: 1024 ** 4, type: 'disk', model: 'USB', rotational: true, children: [] });
    storeReports(db, [{ nodeId: pi3.id, report: { ...real(), collected_at: '2026-11-20T10:00:00Z' } }], null);
    storeReports(db, [{ nodeId: pi3.id, report: { ...grown, collected_at: '2026-11-21T10:00:00Z' } }], null);
    storeReports(db, [{ nodeId: pi3.id, report: { ...grown, collected_at: '2026-11-22T10:00:00Z' } }], null);
    db.close();
  });

  it('--diff: what changed from the report before the latest, or from the one named with --against', async () => {
    const same = await run('hardware', 'show', 'pi1', '--diff');
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stdout.trim()).toBe(`pi1: no hardware changes from report 1 (2026-11-20T10:00:00.000Z) to report 2 (${new Date(real().collected_at).toISOString()})`);
    expect((await run('hardware', 'show', 'pi3', '--diff')).stdout).toContain('pi3: no hardware changes from report 4');
    const grew = await run('hardware', 'show', 'pi3', '--diff', '--against', '3');
    expect(grew.exitCode, grew.stderr).toBe(0);
    // The disk's name came from the node: its escape sequence is shown, not sent to the terminal.
    expect(grew.stdout.split('\n')).toEqual([
      'pi3: 1 change from report 3 (2026-11-20T10:00:00.000Z) to report 5 (2026-11-22T10:00:00.000Z)',
      '  + disk sdx\\x1b[2J: size 1 TiB, model USB, type disk',
    ]);
    const json = JSON.parse((await run('hardware', 'show', 'pi3', '--diff', '--against', '3', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ node: 'pi3', before: { id: 3 }, after: { id: 5 }, changes: [{ section: 'disk', item: 'sdx\u001b[2J', kind: 'added' }] });
  });

  it('--diff says in one line why it cannot compare', async () => {
    for (const [args, message] of [
      [['pi2', '--diff'], 'mko: no hardware report for pi2 yet: run mko hardware collect pi2, twice, to compare'],
      [['pi3', '--diff', '--against', '99'], 'mko: --against 99: pi3 has no report 99; mko hardware show pi3 --history lists them'],
      [['pi3', '--diff', '--against', '1'], 'mko: --against 1: pi3 has no report 1; mko hardware show pi3 --history lists them'],
      [['pi3', '--against', '3'], 'mko: --against needs --diff: mko hardware show pi3 --diff --against 3'],
      [['pi3', '--diff', '--against', 'x'], 'mko: invalid --against "x": must be a number in decimal digits, e.g. 10'],
    ] as const) {
      const result = await run('hardware', 'show', ...args);
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr.trim(), args.join(' ')).toBe(message);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the latest report, the raw JSON and the history', async () => {
    const shown = await run('hardware', 'show', 'pi1');
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(summarizeReport(real(), 'pi1'));
    expect(shown.stdout.split('\n')[0]).toBe(`pi1 (hostname ${real().hostname}), collected ${real().collected_at}`);
    expect(JSON.parse((await run('hardware', 'show', 'pi1', '--json')).stdout)).toEqual(real());
    const history = JSON.parse((await run('hardware', 'show', 'pi1', '--history', '--json')).stdout) as { collectedAt: string }[];
    expect(history.map((h) => h.collectedAt)).toEqual([new Date(real().collected_at).toISOString(), '2026-11-20T10:00:00.000Z']);
  });

  it('says so in one line when there is nothing to show or nothing to collect from', async () => {
    const none = await run('hardware', 'show', 'pi2');
    expect(none.exitCode).toBe(1);
    expect(none.stderr.trim()).toBe('mko: no hardware report for pi2 yet: run mko hardware collect pi2');
    expect((await run('hardware', 'show', 'pi2', '--history')).stdout).toContain('No hardware reports for pi2 yet');
    const ghost = await run('hardware', 'collect', 'ghost');
    expect(ghost.exitCode).toBe(1);
    expect(ghost.stderr.trim()).toBe('mko: no node or cluster "ghost": see mko node list and mko cluster list');
  });

  it('has an example in every --help', async () => {
    for (const command of ['hardware collect', 'hardware show']) {
      const help = await run(...command.split(' '), '--help');
      expect(help.exitCode, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
    }
  });
});
