import { beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { dumpDb } from '../test-support/db-dump.js';
import {
  addCluster,
  assignNode,
  findCluster,
  findNode,
  getCluster,
  insertNode,
  listClusters,
  listNodes,
  removeCluster,
  updateCluster,
  updateNode,
  setKeyStatus,
  validateNodeInput,
  clusterFlags,
  nodeFlags,
  type ClusterInput,
  type NodeInput,
} from './index.js';

let db: Db;
beforeEach(() => {
  db = openDb(':memory:');
});

function addNode(input: Partial<NodeInput> & { hostname: string; address: string }) {
  return insertNode(db, validateNodeInput({ sshUser: 'ubuntu', ...input }), null);
}

/** The call fails with a one-line UserError naming `flag`, and the database is exactly as before. */
function expectRefused(action: () => unknown, flag: string): string {
  const before = dumpDb(db);
  let error: unknown;
  try {
    action();
  } catch (e) {
    error = e;
  }
  expect(error, `expected a UserError naming ${flag}`).toBeInstanceOf(UserError);
  const message = (error as UserError).message;
  expect(message).not.toContain('\n');
  // The flag as a word: "--port" must not be satisfied by "--wol-port".
  expect(message).toMatch(new RegExp(`(^|[\\s(])${flag}([\\s:,)]|$)`));
  expect(dumpDb(db)).toBe(before);
  return message;
}

describe('clusters', () => {
  it('add, list, find by id or case-insensitive name', () => {
    const home = addCluster(db, { name: 'Home', channel: '1.30/stable', priority: 5 });
    const lab = addCluster(db, { name: 'lab', addons: [{ name: 'dns', args: '' }, { name: 'metallb', args: '10.0.0.10-10.0.0.20' }] });
    expect(home).toMatchObject({ name: 'Home', channel: '1.30/stable', priority: 5, nodeCount: 0, isDefault: false, ha: true });
    expect(lab.channel).toBe('1.31/stable');
    expect(lab.addons).toEqual([
      { name: 'dns', args: '' },
      { name: 'metallb', args: '10.0.0.10-10.0.0.20' },
    ]);
    expect(listClusters(db).map((c) => c.name)).toEqual(['Home', 'lab']);
    expect(findCluster(db, 'home')?.id).toBe(home.id);
    expect(findCluster(db, 'HOME')?.id).toBe(home.id);
    expect(findCluster(db, home.id)?.name).toBe('Home');
    expect(findCluster(db, String(lab.id))?.name).toBe('lab');
    expect(findCluster(db, 'nope')).toBeUndefined();
    expect(() => getCluster(db, 'nope')).toThrow(UserError);
  });

  it('digits always name an id: a name made of digits is refused, and an old row with one is reached by its id only', () => {
    expect(() => addCluster(db, { name: '2024' })).toThrow(/invalid cluster name "2024": must not be digits only/);
    // A row an older mko let in: its number-name no longer shadows, or is shadowed by, an id.
    const legacy = Number(db.prepare("INSERT INTO clusters (name) VALUES ('999')").run().lastInsertRowid);
    expect(findCluster(db, '999')).toBeUndefined();
    expect(findCluster(db, String(legacy))?.name).toBe('999');
  });

  it('there is at most one default cluster', () => {
    const a = addCluster(db, { name: 'a', isDefault: true });
    expect(a.isDefault).toBe(true);
    const b = addCluster(db, { name: 'b', isDefault: true });
    expect(b.isDefault).toBe(true);
    expect(getCluster(db, 'a').isDefault).toBe(false);
    updateCluster(db, 'a', { isDefault: true });
    expect(listClusters(db).filter((c) => c.isDefault).map((c) => c.name)).toEqual(['a']);
    // The schema itself refuses a second default, whatever code writes it.
    expect(() => db.prepare('UPDATE clusters SET is_default = 1').run()).toThrow(/UNIQUE/);
  });

  it('remove is refused while nodes are assigned, unless detach', () => {
    addCluster(db, { name: 'home' });
    addNode({ hostname: 'pi1', address: '192.168.1.10', cluster: 'home', role: 'control-plane' });
    addNode({ hostname: 'pi2', address: '192.168.1.11', cluster: 'HOME' });
    expect(getCluster(db, 'home').nodeCount).toBe(2);
    const message = expectRefused(() => removeCluster(db, 'home'), '--detach-nodes');
    expect(message).toContain('2 node(s)');
    const removed = removeCluster(db, 'home', { detach: true });
    expect(removed.name).toBe('home');
    expect(findCluster(db, 'home')).toBeUndefined();
    expect(listNodes(db).map((n) => [n.hostname, n.cluster, n.clusterId])).toEqual([
      ['pi1', null, null],
      ['pi2', null, null],
    ]);
  });

  it('an empty cluster is removed without detach', () => {
    addCluster(db, { name: 'empty' });
    removeCluster(db, 'EMPTY');
    expect(listClusters(db)).toEqual([]);
  });
});

describe('nodes', () => {
  it('add, list, find by id or case-insensitive hostname', () => {
    addCluster(db, { name: 'home' });
    const pi1 = addNode({ hostname: 'Pi1', address: '192.168.1.10', cluster: 'home', role: 'control-plane', sshPort: 2222 });
    const v6 = addNode({ hostname: 'v6.lan', address: 'fd00::10', wolMac: 'AA-BB-CC-DD-EE-FF', wolEnabled: true });
    const vm = addNode({ hostname: 'vm1', address: '192.168.1.20', cluster: 'home', proxmoxHost: 'pve.lan', proxmoxNode: 'pve', proxmoxVmid: 101 });
    expect(pi1).toMatchObject({ hostname: 'Pi1', sshPort: 2222, role: 'control-plane', cluster: 'home', sshKeyPath: null });
    expect(v6.address).toBe('fd00::10');
    expect(v6.wol).toEqual({ mac: 'aa:bb:cc:dd:ee:ff', broadcast: null, port: 9, enabled: true });
    expect(vm.proxmox).toEqual({ host: 'pve.lan', node: 'pve', vmid: 101 });
    expect(vm.role).toBe('worker');

    expect(findNode(db, 'pi1')?.id).toBe(pi1.id);
    expect(findNode(db, 'PI1')?.id).toBe(pi1.id);
    expect(findNode(db, pi1.id)?.hostname).toBe('Pi1');
    expect(findNode(db, String(vm.id))?.hostname).toBe('vm1');
    expect(findNode(db, 'ghost')).toBeUndefined();

    // Cluster members first (control planes before workers), then unassigned nodes.
    expect(listNodes(db).map((n) => n.hostname)).toEqual(['Pi1', 'vm1', 'v6.lan']);
    expect(listNodes(db, { cluster: 'HOME' }).map((n) => n.hostname)).toEqual(['Pi1', 'vm1']);
    expect(listNodes(db, { role: 'control-plane' }).map((n) => n.hostname)).toEqual(['Pi1']);
  });

  it('the same address on another port is a different node', () => {
    addNode({ hostname: 'a', address: '10.0.0.1' });
    const b = addNode({ hostname: 'b', address: '10.0.0.1', sshPort: 2222 });
    expect(b.sshPort).toBe(2222);
  });

  it('assign and unassign', () => {
    addCluster(db, { name: 'home' });
    addCluster(db, { name: 'lab' });
    addNode({ hostname: 'pi1', address: '192.168.1.10' });
    const assigned = assignNode(db, 'PI1', 'home', 'control-plane');
    expect(assigned).toMatchObject({ cluster: 'home', role: 'control-plane' });
    expect(getCluster(db, 'home').nodeCount).toBe(1);
    const moved = assignNode(db, 'pi1', 'lab');
    expect(moved).toMatchObject({ cluster: 'lab', role: 'control-plane' });
    const unassigned = assignNode(db, 'pi1', null);
    expect(unassigned).toMatchObject({ cluster: null, clusterId: null, role: 'control-plane' });
    expect(getCluster(db, 'lab').nodeCount).toBe(0);
  });

  it('assign refuses a bad role, an unknown node or cluster, and changes nothing', () => {
    addCluster(db, { name: 'home' });
    addNode({ hostname: 'pi1', address: '192.168.1.10' });
    const message = expectRefused(() => assignNode(db, 'pi1', 'home', 'master' as never), '--role');
    expect(message).toContain('"master"');
    expect(message).not.toMatch(/must be must be/);
    const before = dumpDb(db);
    expect(() => assignNode(db, 'pi1', 'nowhere')).toThrow(UserError);
    expect(() => assignNode(db, 'ghost', 'home')).toThrow(UserError);
    expect(dumpDb(db)).toBe(before);
  });
});

describe('node update', () => {
  it('changes address, user, port and labels; a verified key is to be tested again where the node now is', () => {
    const pi1 = addNode({ hostname: 'pi1', address: '192.168.1.10', labels: { rack: 'a' } });
    addNode({ hostname: 'pi2', address: '192.168.1.11' });
    setKeyStatus(db, pi1.id, 'verified');
    expect(updateNode(db, 'pi1', { labels: { rack: 'b' } })).toMatchObject({ labels: { rack: 'b' }, sshKeyStatus: 'verified' });
    expect(updateNode(db, 'PI1', { address: '192.168.1.40', sshPort: 2222, sshUser: 'pi' })).toMatchObject({
      address: '192.168.1.40',
      sshPort: 2222,
      sshUser: 'pi',
      labels: { rack: 'b' },
      sshKeyStatus: 'deployed',
      sshTestedAt: null,
    });
  });

  it('refuses an address another node has, nothing to change, and bad values, changing nothing', () => {
    addNode({ hostname: 'pi1', address: '192.168.1.10' });
    addNode({ hostname: 'pi2', address: '192.168.1.11' });
    expect(expectRefused(() => updateNode(db, 'pi1', { address: '192.168.1.11' }), '--ip')).toBe('--ip 192.168.1.11 is already used by node pi2: each node needs its own address');
    expectRefused(() => updateNode(db, 'pi1', { sshPort: 70000 }), '--port');
    expectRefused(() => updateNode(db, 'pi1', { labels: { '{{x}}': '1' } }), '--label');
    expectRefused(() => updateNode(db, 'pi1', { labels: { note: 'two\nlines' } }), '--label');
    const before = dumpDb(db);
    expect(() => updateNode(db, 'pi1', {})).toThrow('nothing to change: give --ip, --port, --user or --label');
    expect(() => updateNode(db, 'pi1', { hostname: 'x' } as never)).toThrow(UserError);
    expect(dumpDb(db)).toBe(before);
  });
});

describe('bad input is refused with the flag named and the database unchanged', () => {
  beforeEach(() => {
    addCluster(db, { name: 'home' });
    addNode({ hostname: 'pi1', address: '192.168.1.10', cluster: 'home' });
  });

  const node = (over: Partial<NodeInput>) => () =>
    insertNode(db, validateNodeInput({ hostname: 'pi9', address: '192.168.1.99', sshUser: 'ubuntu', ...over }), null);
  const cluster = (over: Partial<ClusterInput>) => () => addCluster(db, { name: 'lab', ...over });

  const cases: [string, () => unknown, string][] = [
    ['hostname with underscore', node({ hostname: 'pi_9' }), nodeFlags.hostname],
    ['hostname starting with a hyphen', node({ hostname: '-pi9' }), nodeFlags.hostname],
    ['IPv4 with three parts', node({ address: '1.2.3' }), nodeFlags.address],
    ['address that is a name', node({ address: 'pi9.lan' }), nodeFlags.address],
    ['port 0', node({ sshPort: 0 }), nodeFlags.sshPort],
    ['port 70000', node({ sshPort: 70000 }), nodeFlags.sshPort],
    ['role master', node({ role: 'master' as never }), nodeFlags.role],
    ['user with capitals', node({ sshUser: 'Root' }), nodeFlags.sshUser],
    ['MAC with non-hex digits', node({ wolMac: 'zz:bb:cc:dd:ee:ff' }), nodeFlags.wolMac],
    ['MAC too short', node({ wolMac: 'aa:bb:cc:dd:ee' }), nodeFlags.wolMac],
    ['MAC too long', node({ wolMac: 'aa:bb:cc:dd:ee:ff:00' }), nodeFlags.wolMac],
    ['WoL broadcast IPv6', node({ wolBroadcast: 'fd00::ff' }), nodeFlags.wolBroadcast],
    ['WoL port 0', node({ wolPort: 0 }), nodeFlags.wolPort],
    ['vmid 5', node({ proxmoxVmid: 5 }), nodeFlags.proxmoxVmid],
    ['label key with a space', node({ labels: { 'bad key': 'x' } }), nodeFlags.labels],
    ['node cluster name with a space', node({ cluster: 'home lab' }), nodeFlags.cluster],
    ['unknown cluster', node({ cluster: 'nowhere' }), nodeFlags.cluster],
    ['duplicate hostname', node({ hostname: 'pi1' }), nodeFlags.hostname],
    ['duplicate hostname in other case', node({ hostname: 'PI1' }), nodeFlags.hostname],
    ['duplicate address and port', node({ address: '192.168.1.10' }), nodeFlags.address],
    ['missing address', () => insertNode(db, validateNodeInput({ hostname: 'x', sshUser: 'u' } as NodeInput), null), nodeFlags.address],
    ['channel without risk', cluster({ channel: '1.31' }), clusterFlags.channel],
    ['channel without track', cluster({ channel: 'stable' }), clusterFlags.channel],
    ['cluster name with a space', cluster({ name: 'home lab' }), clusterFlags.name],
    ['cluster name starting with "-"', cluster({ name: '-lab' }), clusterFlags.name],
    ['duplicate cluster name', cluster({ name: 'HOME' }), clusterFlags.name],
    ['addon args with a shell metacharacter', cluster({ addons: [{ name: 'metallb', args: '1.2.3.4;reboot' }] }), clusterFlags.addons],
  ];

  it('errors speak in the CLI\'s own flags', () => {
    expect(nodeFlags).toMatchObject({ hostname: '--hostname', address: '--ip', sshPort: '--port', role: '--role', wolMac: '--mac', proxmoxVmid: '--vmid', cluster: '--cluster' });
    expect(clusterFlags).toMatchObject({ channel: '--channel', addons: '--addons' });
    // `mko cluster add <name>` takes the name as a positional argument.
    expect(clusterFlags.name).toBe('cluster name');
  });

  it.each(cases)('%s', (_label, action, flag) => {
    expectRefused(action, flag);
  });

  it('the value the user gave is quoted back', () => {
    expect(expectRefused(node({ address: '1.2.3' }), '--ip')).toContain('"1.2.3"');
    expect(expectRefused(node({ sshPort: 70000 }), '--port')).toContain('70000');
  });

  it('IPv6 addresses are accepted', () => {
    const added = node({ address: '2001:db8::1' })() as ReturnType<typeof insertNode>;
    expect(added.address).toBe('2001:db8::1');
  });
});
