// Wake-on-LAN without the lab: magic packets on real UDP sockets, wake operations on real SQLite,
// a real sshd for --wait, MACs from this machine's real hardware report, the secrets file, the
// status summary, and the built CLI refusing bad input without changing anything.
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, deleteNode, getNode, insertNode, validateNodeInput, type NodeInput } from '../fleet/index.js';
import { storeReports, type HardwareReport } from '../hardware/index.js';
import { buildInventory } from '../inventory/index.js';
import { parseMagicPacket } from '../lab/magic-packet.js';
import { getOperation } from '../ops/index.js';
import { dataDirFor, projectRoot } from '../paths.js';
import { getSecret, secretsFile } from '../secrets/index.js';
import { buildCli, mkoBin as mko, snapshotState } from '../test-support/cli.js';
import { dumpDb } from '../test-support/db-dump.js';
import { collectedReport } from '../test-support/hardware.js';
import { freePort, startSshd } from '../test-support/sshd.js';
import {
  collectMacs,
  configureWol,
  getWolSettings,
  wakeNode,
  wolStatus,
} from './index.js';
import { recordNic } from './settings.js';

const isRoot = process.getuid?.() === 0;
const MAC = '02:aa:bb:cc:dd:01';
const MAC_BYTES = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];

function addNode(db: Db, input: Partial<NodeInput> & { hostname: string; address: string }) {
  return insertNode(db, validateNodeInput({ sshUser: 'root', ...input }), null);
}

/** A UDP socket on loopback that keeps every datagram it gets. */
async function listener(): Promise<{ socket: Socket; port: number; packets: { at: number; data: Buffer }[] }> {
  const socket = createSocket('udp4');
  const packets: { at: number; data: Buffer }[] = [];
  socket.on('message', (data) => packets.push({ at: Date.now(), data }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, packets };
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let dbPath: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-wol-'));
  dbPath = path.join(dir, 'mko.db');
  db = openDb(dbPath);
  return () => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
});

describe('magic packets on the wire', () => {
  it('community.general.wakeonlan sends 20 copies of the MAC, and the lab firmware (as a NIC) accepts them', () => {
    const twenty = Buffer.from([...Array(6).fill(0xff), ...Array.from({ length: 20 }, () => MAC_BYTES).flat()]);
    expect(parseMagicPacket(twenty)).toEqual({ mac: MAC, password: null });
    twenty[twenty.length - 1] = 0x09;
    expect(parseMagicPacket(twenty)).toBeNull();
  });

});

// wake-node runs playbooks/wake.yml with the real ansible-playbook: the wol role's wake entry point
// and the mko.fleet.wake module send from this machine, to a UDP listener standing in for the NIC.
describe('wake-node over UDP, through the wol role, recorded as an operation', () => {
  it('sends 1 + retries packets with the SecureOn password to the configured address and port, and records them', async () => {
    const udp = await listener();
    try {
      const sshPort = await freePort(); // nothing listens: the node is "off"
      addNode(db, { hostname: 'nuc1', address: '127.0.0.1', sshPort });
      configureWol(db, dir, 'nuc1', { mac: MAC.toUpperCase().replace(/:/g, '-'), broadcast: '127.0.0.1', port: String(udp.port), secureon: '0a:0b:0c:0d' });
      db.prepare('UPDATE nodes SET wol_enabled = 1').run();
      let output = '';
      const started = Date.now();
      const result = await wakeNode(db, 'nuc1', { dbPath, dataDir: dir, retries: '2', delay: '0.2', onOutput: (chunk) => (output += chunk) });
      await until('three packets', () => udp.packets.length === 3);
      expect(udp.packets.map((p) => parseMagicPacket(p.data))).toEqual(Array(3).fill({ mac: MAC, password: '0a:0b:0c:0d' }));
      expect(udp.packets.map((p) => p.data.length)).toEqual([106, 106, 106]);
      // Spaced by the delay.
      expect((udp.packets[2]?.at ?? 0) - (udp.packets[0]?.at ?? 0)).toBeGreaterThanOrEqual(350);
      expect(result.nodes).toEqual([expect.objectContaining({ host: 'nuc1', outcome: 'sent', packets: 3, packetBytes: 106, method: 'ethernet' })]);
      expect(Date.parse(result.nodes[0]?.sentAt ?? '')).toBeGreaterThanOrEqual(started - 5);

      const op = getOperation(db, result.operationId);
      expect(op).toMatchObject({ kind: 'wake', target: 'nuc1', playbook: 'playbooks/wake.yml', status: 'succeeded', exitCode: 0 });
      expect(op.recap['nuc1']).toMatchObject({ changed: 1, failed: 0 });
      const said = `nuc1: sent: sent 3 magic packet(s) of 106 bytes for ${MAC} to 127.0.0.1:${udp.port} with SecureOn; not waited for`;
      expect(op.log).toContain(said);
      expect(output).toContain(said);
      // The password is in no record: not the operation, not the database, not the inventory, not the output.
      for (const text of [JSON.stringify(op), dumpDb(db), JSON.stringify(buildInventory(db, { dataDir: dir })), output]) {
        expect(text).not.toMatch(/0a:0b:0c:0d/i);
      }
      expect(buildInventory(db, { dataDir: dir })._meta.hostvars['nuc1']).toMatchObject({ mko_wol_method: 'ethernet', mko_wol_secureon: true });
      expect(getWolSettings(db, getNode(db, 'nuc1').id).lastWake).toMatchObject({ result: 'sent', operationId: result.operationId });
    } finally {
      udp.socket.close();
    }
  }, 60_000);

  it('a plain ansible-playbook run fails such a node, one line naming what is missing and the mko command', async () => {
    addNode(db, { hostname: 'nuc3', address: '127.0.0.1', sshPort: await freePort(), wolEnabled: true });
    configureWol(db, dir, 'nuc3', { mac: MAC, broadcast: '127.0.0.1', secureon: '0a:0b:0c:0d' });
    const plain = await execa('ansible-playbook', ['playbooks/wake.yml', '-e', 'mko_hosts_target=nuc3'], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_NOCOLOR: '1' },
      reject: false,
    });
    expect(plain.exitCode).toBe(2);
    expect(plain.stdout).toContain(
      'fatal: [nuc3]: FAILED! => {"changed": false, "msg": "nuc3: needs its SecureOn password, which mko keeps out of the inventory: run mko wol wake-node nuc3 (or pass wol_wake_secureon in a vault file)"}',
    );
  }, 60_000);

  it('refuses to guess an address: no broadcast configured means nothing is sent and the wake fails', async () => {
    addNode(db, { hostname: 'nuc2', address: '127.0.0.1', sshPort: await freePort(), wolMac: MAC, wolEnabled: true });
    const result = await wakeNode(db, 'nuc2', { dbPath, dataDir: dir });
    expect(result.ok).toBe(false);
    expect(result.nodes[0]).toMatchObject({ outcome: 'failed', packets: 0, detail: expect.stringMatching(/no broadcast address: mko wol configure nuc2 --broadcast/) });
    expect(getOperation(db, result.operationId)).toMatchObject({ status: 'failed', exitCode: 2 });
  }, 60_000);

  it('skips a node whose Wake-on-LAN is disabled, and says an RTC node cannot be woken on demand', async () => {
    addNode(db, { hostname: 'pi1', address: '127.0.0.1', sshPort: await freePort(), wolMac: MAC, wolBroadcast: '127.0.0.1' });
    expect((await wakeNode(db, 'pi1', { dbPath, dataDir: dir })).nodes[0]).toMatchObject({ outcome: 'skipped', detail: expect.stringMatching(/disabled/) });
    db.prepare('UPDATE nodes SET wol_enabled = 1').run();
    configureWol(db, dir, 'pi1', { method: 'rtc' });
    expect((await wakeNode(db, 'pi1', { dbPath, dataDir: dir })).nodes[0]).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/RTC alarm/) });
  }, 60_000);

  it.skipIf(!isRoot)('--wait: "already up" when a real sshd answers; else packets, then the wait until sshd sends its banner, and how long it took', async () => {
    const udp = await listener();
    const sshd = await startSshd();
    const pid = Number(readFileSync(path.join(sshd.dir, 'sshd.pid'), 'utf8'));
    try {
      addNode(db, { hostname: 'up1', address: '127.0.0.1', sshPort: sshd.port, wolMac: MAC, wolBroadcast: '127.0.0.1', wolPort: udp.port, wolEnabled: true });
      const up = await wakeNode(db, 'up1', { dbPath, dataDir: dir, wait: true });
      expect(up.nodes[0]).toMatchObject({ outcome: 'already up', packets: 0, detail: `SSH answers at 127.0.0.1:${sshd.port}` });
      expect(udp.packets).toHaveLength(0);

      // A stopped sshd still completes TCP handshakes (the kernel does) but sends no banner: the
      // node is not up until it runs again, 4 s after the first packet.
      process.kill(pid, 'SIGSTOP');
      const waking = wakeNode(db, 'up1', { dbPath, dataDir: dir, wait: true, retries: 1, delay: 0.5, timeout: 20 });
      await until('the first packet', () => udp.packets.length > 0, 20_000);
      await new Promise((r) => setTimeout(r, 4000));
      process.kill(pid, 'SIGCONT');
      const result = await waking;
      const woken = result.nodes[0];
      expect(woken).toMatchObject({ outcome: 'woken', packets: 2, detail: expect.stringMatching(/^SSH answered \d+\.\d s after: sent 2 magic packet\(s\) of 102 bytes/) });
      expect(woken?.seconds).toBeGreaterThanOrEqual(3.5);
      expect(woken?.seconds).toBeLessThan(10);
      expect(udp.packets.length).toBe(2);
      expect(Date.parse(woken?.upAt ?? '') - Date.parse(woken?.sentAt ?? '')).toBeCloseTo((woken?.seconds ?? 0) * 1000, -1);
    } finally {
      process.kill(pid, 'SIGCONT');
      await sshd.stop();
      udp.socket.close();
    }
  }, 90_000);
});

describe('configure, secrets and status', () => {
  it('keeps the SecureOn password in a 0600 secrets file, and can forget it', () => {
    addNode(db, { hostname: 'nuc1', address: '10.0.0.1' });
    const config = configureWol(db, dir, 'nuc1', { secureon: '01-02-03-04-05-06', mac: MAC, broadcast: '10.0.0.255' });
    expect(config).toMatchObject({ secureon: true, mac: MAC, broadcast: '10.0.0.255', method: 'ethernet' });
    expect(JSON.stringify(config)).not.toContain('01:02:03');
    const file = secretsFile(dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const handle = getWolSettings(db, getNode(db, 'nuc1').id).secureonSecret ?? '';
    expect(getSecret(dir, handle, 'test')).toBe('01:02:03:04:05:06');
    expect(dumpDb(db)).not.toContain('01:02:03:04');

    // Replacing the password drops the old one from the file.
    configureWol(db, dir, 'nuc1', { secureon: 'aa:bb:cc:dd' });
    expect(readFileSync(file, 'utf8')).not.toContain('01:02:03:04:05:06');
    configureWol(db, dir, 'nuc1', { secureon: null });
    expect(readFileSync(file, 'utf8')).not.toContain('aa:bb:cc:dd');
    expect(getWolSettings(db, getNode(db, 'nuc1').id).secureonSecret).toBeNull();

    // A removed node's password goes with it.
    const gone = addNode(db, { hostname: 'gone1', address: '10.0.0.2' });
    configureWol(db, dir, 'gone1', { secureon: '99:98:97:96' });
    expect(readFileSync(file, 'utf8')).toContain('99:98:97:96');
    deleteNode(db, dir, gone.id);
    expect(readFileSync(file, 'utf8')).not.toContain('99:98:97:96');
  });

  it('refuses a secrets file that others can read', () => {
    addNode(db, { hostname: 'nuc1', address: '10.0.0.1' });
    configureWol(db, dir, 'nuc1', { secureon: '01:02:03:04' });
    chmodSync(secretsFile(dir), 0o644);
    expect(() => configureWol(db, dir, 'nuc1', { secureon: '01:02:03:05' })).toThrow(/readable by others \(mode 644\): run chmod 600/);
  });

  it('says per node whether it can be woken, and per cluster Ready, Partial or Disabled', () => {
    addCluster(db, { name: 'home' });
    addCluster(db, { name: 'off' });
    addNode(db, { hostname: 'a1', address: '10.0.0.1', cluster: 'home', role: 'control-plane', wolMac: MAC, wolBroadcast: '10.0.0.255', wolEnabled: true });
    addNode(db, { hostname: 'a2', address: '10.0.0.2', cluster: 'home', wolMac: '02:aa:bb:cc:dd:02', wolBroadcast: '10.0.0.255', wolEnabled: true });
    addNode(db, { hostname: 'b1', address: '10.0.0.3', cluster: 'off' });
    const nic = { checkedAt: new Date().toISOString(), operationId: null, interface: 'eno1', persistence: 'link', detail: 'on' };
    recordNic(db, getNode(db, 'a1').id, { ...nic, supported: true, wakeOn: 'g' });
    recordNic(db, getNode(db, 'a2').id, { ...nic, supported: false, wakeOn: null, detail: 'eno1 does not support Wake-on-LAN' });

    let status = wolStatus(db);
    expect(status.clusters).toEqual([
      { cluster: 'home', state: 'Partial', ready: 1, enabled: 2, total: 2 },
      { cluster: 'off', state: 'Disabled', ready: 0, enabled: 0, total: 1 },
    ]);
    const a2 = status.nodes.find((n) => n.node === 'a2');
    expect(a2).toMatchObject({ ready: false, note: expect.stringMatching(/does not support Wake-on-LAN; it comes back when its power does/) });

    recordNic(db, getNode(db, 'a2').id, { ...nic, supported: true, wakeOn: 'g' });
    status = wolStatus(db, 'home');
    expect(status.clusters).toEqual([{ cluster: 'home', state: 'Ready', ready: 2, enabled: 2, total: 2 }]);
    expect(wolStatus(db, 'a1').clusters).toEqual([]);

    configureWol(db, dir, 'a2', { method: 'rtc' });
    expect(wolStatus(db, 'a2').nodes[0]).toMatchObject({ ready: false, note: expect.stringMatching(/RTC alarm .* otherwise it comes back when its power does/) });
  });

  it("collect-mac takes the MAC and broadcast of the interface carrying the node's address from the latest hardware report", async () => {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.split(/\s+/));
    const name = route.find((f) => f[1] === '00000000')?.[0] ?? '';
    const v4 = os.networkInterfaces()[name]?.find((a) => a.family === 'IPv4');
    if (!v4?.cidr) throw new Error('this machine has no default IPv4 route: the test needs one');
    const report = JSON.parse(await collectedReport(v4.address)) as HardwareReport;
    const [address, prefix] = v4.cidr.split('/').map(String);
    const mask = prefix === '0' ? 0 : (0xffffffff << (32 - Number(prefix))) >>> 0;
    const host = (address ?? '').split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const broadcast = [24, 16, 8, 0].map((shift) => (((host | ~mask) >>> 0) >>> shift) & 255).join('.');
    const node = addNode(db, { hostname: 'self', address: v4.address, wolMac: '02:00:00:00:00:99' });
    storeReports(db, [{ nodeId: node.id, report }], null);
    const result = await collectMacs(db, 'self', { dbPath, dataDir: dataDirFor(dbPath), source: 'hardware' });
    expect(result.hosts).toEqual([
      expect.objectContaining({ host: 'self', status: 'stored', source: 'hardware', mac: v4.mac, previousMac: '02:00:00:00:00:99', broadcast }),
    ]);
    expect(getNode(db, 'self').wol).toMatchObject({ mac: v4.mac, broadcast });
    expect(result.operationId).toBeNull(); // no playbook was needed

    addNode(db, { hostname: 'bare', address: '10.9.9.9' });
    const none = await collectMacs(db, 'bare', { dbPath, dataDir: dataDirFor(dbPath), source: 'hardware' });
    expect(none.hosts[0]).toMatchObject({ status: 'failed', reason: 'no hardware report: run mko hardware collect bare, or use --source facts' });
  });
});

describe('CLI', () => {
  let cliDir: string;
  let cliDb: string;
  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: cliDb }, reject: false, stdin: 'ignore' });
  const snapshot = () => snapshotState(cliDb, secretsFile(cliDir));

  beforeAll(async () => {
    await buildCli();
    cliDir = mkdtempSync(path.join(os.tmpdir(), 'mko-wol-cli-'));
    cliDb = path.join(cliDir, 'mko.db');
    const setup = openDb(cliDb);
    addCluster(setup, { name: 'home' });
    addNode(setup, { hostname: 'pi1', address: '192.168.1.10', cluster: 'home', role: 'control-plane' });
    setup.close();
    const first = await run('wol', 'configure', 'pi1', '--mac', MAC, '--broadcast', '192.168.1.255', '--secureon', '11:22:33:44');
    expect(first.exitCode, first.stderr).toBe(0);
  });
  afterAll(() => rmSync(cliDir, { recursive: true, force: true }));

  const cases: [string, string[], RegExp][] = [
    ['mac', ['wol', 'configure', 'pi1', '--mac', '00:11:22:33:44'], /^mko: invalid --mac "00:11:22:33:44": must be a MAC address like aa:bb:cc:dd:ee:ff$/],
    ['broadcast', ['wol', 'configure', 'pi1', '--broadcast', '192.168.1.256'], /^mko: invalid --broadcast "192.168.1.256": must be an IPv4 broadcast address/],
    ['port', ['wol', 'configure', 'pi1', '--port', '70000'], /^mko: invalid --port 70000: must be a UDP port from 1 to 65535/],
    ['port text', ['wol', 'configure', 'pi1', '--port', 'nine'], /^mko: invalid --port "nine": must be a number in decimal digits, e.g. 9$/],
    ['vm id', ['wol', 'configure', 'pi1', '--vmid', '42'], /^mko: invalid --vmid 42: must be a Proxmox VM id from 100 to 999999999$/],
    ['vm id text', ['wol', 'configure', 'pi1', '--vmid', 'abc'], /^mko: invalid --vmid "abc": must be a number in decimal digits/],
    ['method', ['wol', 'configure', 'pi1', '--method', 'usb'], /^mko: invalid --method "usb": must be ethernet, proxmox or rtc$/],
    ['proxmox without api', ['wol', 'configure', 'pi1', '--method', 'proxmox', '--proxmox-host', 'pve1', '--proxmox-node', 'pve1', '--vmid', '101'], /^mko: no proxmox host "pve1": see mko proxmox list/],
    ['proxmox incomplete', ['wol', 'configure', 'pi1', '--method', 'proxmox', '--vmid', '101'], /^mko: --method proxmox needs --proxmox-host, --proxmox-node for pi1$/],
    ['unknown node', ['wol', 'configure', 'ghost', '--mac', MAC], /^mko: no node "ghost"/],
    ['retries', ['wol', 'wake-node', 'pi1', '--retries', 'many'], /^mko: invalid --retries "many": must be a number in decimal digits, e.g. 2$/],
    ['delay', ['wol', 'wake-node', 'pi1', '--delay', '120'], /^mko: invalid --delay 120: must be seconds between packets, from 0 to 60$/],
    ['rtc seconds', ['wol', 'rtc-alarm', 'pi1', '--in', '5'], /^mko: invalid --in 5: must be whole seconds from 30/],
    ['source', ['wol', 'collect-mac', 'pi1', '--source', 'arp'], /^mko: invalid --source "arp": must be auto, hardware or facts$/],
  ];
  it.each(cases)('%s: one line on stderr, exit 1, database and secrets unchanged', async (_name, args, message) => {
    const before = snapshot();
    const result = await run(...args);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(snapshot()).toEqual(before);
  });

  it('never echoes a malformed SecureOn password', async () => {
    const before = snapshot();
    const result = await run('wol', 'configure', 'pi1', '--secureon', 'hunter2-secret');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe('mko: invalid --secureon: must be a SecureOn password of 4 or 6 bytes in hex, e.g. 01:02:03:04:05:06 (the value is not shown)');
    expect(snapshot()).toEqual(before);
  });

  it('reads the SecureOn password from stdin, and shows only that one is set', async () => {
    const piped = await execa(mko, ['wol', 'configure', 'pi1', '--secureon', '-'], { env: { MKO_DB: cliDb }, input: 'de:ad:be:ef:00:01\n', reject: false });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^secureon:\s+set \(not shown\)$/m);
    const outputs = [
      piped.stdout,
      (await run('wol', 'configure', 'pi1', '--json')).stdout,
      (await run('wol', 'status', '--json')).stdout,
      (await run('inventory', 'list')).stdout,
      (await execa(path.join(projectRoot, 'inventories', 'mko'), ['--list'], { env: { MKO_DB: cliDb } })).stdout,
      snapshot().db,
    ];
    for (const text of outputs) {
      expect(text).not.toMatch(/de:ad:be:ef|11:22:33:44/);
    }
    expect(snapshot().secrets).toContain('de:ad:be:ef:00:01');
  });

  it('prints the status table with the cluster summary, and --json', async () => {
    const table = await run('wol', 'status');
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NODE\s+CLUSTER\s+ENABLED\s+METHOD\s+MAC\s+BROADCAST\s+NIC\s+LAST WAKE\s+RESULT\s+READY$/);
    expect(table.stdout).toMatch(/^pi1\s+home\s+no\s+ethernet\s+02:aa:bb:cc:dd:01\s+192\.168\.1\.255:9\s+unchecked/m);
    expect(table.stdout).toContain('cluster home: Disabled (0 of 1 node(s) can be woken on demand, 0 enabled)');
    const json = JSON.parse((await run('wol', 'status', 'home', '--json')).stdout) as { clusters: unknown[] };
    expect(json.clusters).toEqual([{ cluster: 'home', state: 'Disabled', ready: 0, enabled: 0, total: 1 }]);
  });

  it('has an example in every --help', async () => {
    const commands = ['configure', 'enable', 'disable', 'collect-mac', 'status', 'wake-node', 'wake-cluster', 'rtc-alarm'];
    for (const command of commands) {
      const help = await run('wol', command, '--help');
      expect(help.exitCode, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
    }
  });
});
