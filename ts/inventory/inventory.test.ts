import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, insertNode, validateNodeInput, type KeyRecord, type NodeInput } from '../fleet/index.js';
import { inventoryScript, projectRoot } from '../paths.js';
import { generateNodeKey } from '../ssh/keys.js';
import { buildInventory, clusterGroup, clusterRoleGroup, FLEET_GROUPS, markUnsafe, toYamlInventory, type Inventory, type InventoryGroup } from './index.js';

const ANSIBLE_GROUP = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Deterministic PRNG so a failing generated name can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const AWKWARD = [
  'home', 'Home', 'home-lab', 'home_lab', 'Home.Lab', 'home.lab', 'home--lab', 'a--b', 'a-b', 'a_b', 'a.b', 'a__b',
  'control_plane', 'control-plane', 'workers', 'wol', 'virtual', 'ups_hosts', 'unassigned', 'all', 'ungrouped',
  'cluster_home', 'cluster-home', 'home__control_plane', 'home__workers', 'x__0123456789ab', '0', '1', '123', '-', '_', '.',
  'a-', '-a', 'a.', '..', 'A1-b2_C3.d4',
];

function generatedNames(count: number): string[] {
  const random = mulberry32(0x6d6b6f);
  const alphabet = 'aAbB019-._';
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random() * 8);
    let name = '';
    for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
    names.push(name);
  }
  return names;
}

describe('group names', () => {
  const names = [...AWKWARD, ...generatedNames(20_000)];

  it('are valid Ansible group names, including for awkward cluster names', () => {
    for (const name of names) {
      expect(clusterGroup(name), name).toMatch(ANSIBLE_GROUP);
      expect(clusterRoleGroup(name, 'control-plane'), name).toMatch(ANSIBLE_GROUP);
      expect(clusterRoleGroup(name, 'worker'), name).toMatch(ANSIBLE_GROUP);
    }
    for (const group of Object.values(FLEET_GROUPS)) expect(group).toMatch(ANSIBLE_GROUP);
  });

  it('plain names keep a readable group', () => {
    expect(clusterGroup('home')).toBe('cluster_home');
    expect(clusterGroup('Home-Lab')).toBe('cluster_home_lab');
    expect(clusterRoleGroup('home', 'control-plane')).toBe('cluster_home__control_plane');
    expect(clusterRoleGroup('home', 'worker')).toBe('cluster_home__workers');
  });

  it('names that differ only in case share a group (cluster names are case-insensitive)', () => {
    for (const name of names) expect(clusterGroup(name.toUpperCase())).toBe(clusterGroup(name.toLowerCase()));
  });

  it('are injective: no two clusters, roles or fleet groups share a group', () => {
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBeGreaterThan(10_000);
    const owner = new Map<string, string>();
    const claim = (group: string, who: string): void => {
      const previous = owner.get(group);
      if (previous !== undefined && previous !== who) {
        throw new Error(`group ${group} is claimed by both ${previous} and ${who}`);
      }
      owner.set(group, who);
    };
    for (const group of [...Object.values(FLEET_GROUPS), 'all', 'ungrouped']) claim(group, `fleet ${group}`);
    for (const name of names) {
      const lower = name.toLowerCase();
      claim(clusterGroup(name), `cluster ${lower}`);
      claim(clusterRoleGroup(name, 'control-plane'), `control planes of ${lower}`);
      claim(clusterRoleGroup(name, 'worker'), `workers of ${lower}`);
    }
    expect(owner.get('cluster_home_lab')).toBe('cluster home-lab');
    expect(clusterGroup('home_lab')).not.toBe(clusterGroup('home-lab'));
    expect(clusterGroup('home.lab')).not.toBe(clusterGroup('home_lab'));
    expect(clusterGroup('a--b')).not.toBe(clusterGroup('a-b'));
  });
});

interface Fleet {
  dir: string;
  dbFile: string;
  db: Db;
  keyPath: string;
  nodes: NodeInput[];
}

/** A fleet with awkward cluster names, every node kind, a real key and YAML-1.1-looking values. */
async function makeFleet(): Promise<Fleet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mko-inv-'));
  const dbFile = path.join(dir, 'mko.db');
  const db = openDb(dbFile);
  addCluster(db, { name: 'home', channel: '1.30/stable', addons: [{ name: 'dns', args: '' }] });
  addCluster(db, { name: 'home-lab', ha: false });
  addCluster(db, { name: 'home_lab' });
  addCluster(db, { name: 'Home.Lab', active: false });
  addCluster(db, { name: 'a--b' });
  const key = await generateNodeKey(dir, 'pi1');
  const record: KeyRecord = { path: key.path, type: key.type, fingerprint: key.fingerprint, status: 'generated' };
  const nodes: NodeInput[] = [
    { hostname: 'pi1', address: '192.168.1.10', sshUser: 'ubuntu', cluster: 'home', role: 'control-plane', sshPort: 2222 },
    { hostname: 'pi2', address: '192.168.1.11', sshUser: 'ubuntu', cluster: 'home', wolMac: '10:20:30:40:50:59', wolEnabled: true, wolBroadcast: '192.168.1.255' },
    { hostname: 'vm1', address: 'fd00::21', sshUser: 'debian', cluster: 'home-lab', role: 'control-plane', proxmoxHost: 'pve.lan', proxmoxNode: 'pve', proxmoxVmid: 101 },
    { hostname: 'vm2', address: '10.0.0.22', sshUser: 'debian', cluster: 'home_lab', proxmoxVmid: 102, labels: { on: 'yes', when: '1:30', date: '2024-01-01', n: '0777', nothing: '~' } },
    { hostname: 'box', address: '10.0.0.23', sshUser: 'root', cluster: 'home.lab' },
    { hostname: 'odd', address: '10.0.0.24', sshUser: 'root', cluster: 'A--B', role: 'control-plane' },
    { hostname: 'spare', address: '10.0.0.30', sshUser: 'ubuntu', wolMac: 'aa:bb:cc:dd:ee:01', wolEnabled: false },
    { hostname: 'yes', address: '10.0.0.31', sshUser: 'ubuntu', wolMac: 'aa:bb:cc:dd:ee:02', wolEnabled: true },
  ];
  for (const input of nodes) insertNode(db, validateNodeInput(input), input.hostname === 'pi1' ? record : null);
  return { dir, dbFile, db, keyPath: key.path, nodes };
}

function groupsOf(inventory: Inventory): Record<string, InventoryGroup> {
  const { _meta: _ignored, ...groups } = inventory;
  return groups as Record<string, InventoryGroup>;
}

describe('buildInventory', () => {
  let fleet: Fleet;
  let inventory: Inventory;
  beforeAll(async () => {
    fleet = await makeFleet();
    inventory = buildInventory(fleet.db, { dataDir: fleet.dir });
  });
  afterAll(() => {
    fleet.db.close();
    rmSync(fleet.dir, { recursive: true, force: true });
  });

  it('groups hosts per cluster, per cluster role and fleet-wide', () => {
    const groups = groupsOf(inventory);
    const hosts = (group: string): string[] => [...(groups[group]?.hosts ?? ['<missing group>'])].sort();
    expect(hosts('control_plane')).toEqual(['odd', 'pi1', 'vm1']);
    expect(hosts('workers')).toEqual(['box', 'pi2', 'spare', 'vm2', 'yes']);
    expect(hosts('wol')).toEqual(['pi2', 'yes']);
    expect(hosts('virtual')).toEqual(['vm1', 'vm2']);
    expect(hosts('ups_hosts')).toEqual([]);
    expect(hosts('unassigned')).toEqual(['spare', 'yes']);
    expect(hosts(clusterRoleGroup('home', 'control-plane'))).toEqual(['pi1']);
    expect(hosts(clusterRoleGroup('home', 'worker'))).toEqual(['pi2']);
    expect(hosts(clusterRoleGroup('home-lab', 'control-plane'))).toEqual(['vm1']);
    expect(hosts(clusterRoleGroup('home_lab', 'worker'))).toEqual(['vm2']);
    expect(hosts(clusterRoleGroup('Home.Lab', 'worker'))).toEqual(['box']);
    expect(hosts(clusterRoleGroup('a--b', 'control-plane'))).toEqual(['odd']);
    const clusterGroups = ['home', 'home-lab', 'home_lab', 'Home.Lab', 'a--b'].map(clusterGroup);
    expect(new Set(clusterGroups).size).toBe(5);
    for (const name of ['home', 'home-lab', 'home_lab', 'Home.Lab', 'a--b']) {
      expect(groups[clusterGroup(name)]?.children).toEqual([clusterRoleGroup(name, 'control-plane'), clusterRoleGroup(name, 'worker')]);
      expect(groups[clusterGroup(name)]?.vars?.['mko_cluster_name']).toBe(name);
    }
    expect(groups[clusterGroup('home')]?.vars).toMatchObject({
      mko_microk8s_channel: '1.30/stable',
      mko_microk8s_addons: [{ name: 'dns', args: '' }],
      mko_ha: true,
      mko_cluster_active: true,
    });
    expect(groups[clusterGroup('home-lab')]?.vars?.['mko_ha']).toBe(false);
    expect(groups[clusterGroup('Home.Lab')]?.vars?.['mko_cluster_active']).toBe(false);
    expect(groups['all']?.children).toEqual(expect.arrayContaining([...clusterGroups, ...Object.values(FLEET_GROUPS)]));
    for (const group of Object.keys(groups)) expect(group).toMatch(ANSIBLE_GROUP);
  });

  it('gives each host its connection settings and mko_* variables', () => {
    const vars = inventory._meta.hostvars;
    expect(Object.keys(vars).sort()).toEqual(fleet.nodes.map((n) => n.hostname).sort());
    expect(vars['pi1']).toMatchObject({
      ansible_host: '192.168.1.10',
      ansible_user: 'ubuntu',
      ansible_port: 2222,
      ansible_ssh_private_key_file: fleet.keyPath,
      mko_role: 'control-plane',
      mko_cluster: 'home',
      mko_virtual: false,
      mko_wol_enabled: false,
    });
    expect(vars['pi2']).toMatchObject({ ansible_port: 22, mko_wol_enabled: true, mko_wol_mac: '10:20:30:40:50:59', mko_wol_broadcast: '192.168.1.255', mko_wol_port: 9 });
    expect(vars['pi2']).not.toHaveProperty('ansible_ssh_private_key_file');
    expect(vars['vm1']).toMatchObject({ ansible_host: 'fd00::21', mko_virtual: true, mko_proxmox_host: 'pve.lan', mko_proxmox_node: 'pve', mko_proxmox_vmid: 101 });
    expect(vars['vm2']?.['mko_labels']).toEqual({ on: 'yes', when: '1:30', date: '2024-01-01', n: '0777', nothing: '~' });
    expect(vars['box']?.['mko_cluster']).toBe('Home.Lab');
    expect(vars['spare']).toMatchObject({ mko_cluster: null, mko_wol_mac: 'aa:bb:cc:dd:ee:01', mko_wol_enabled: false });
    expect(typeof vars['pi1']?.['mko_node_id']).toBe('number');
    const common = String((groupsOf(inventory)['all']?.vars ?? {})['ansible_ssh_common_args']);
    expect(common).toContain(path.join(fleet.dir, 'known_hosts'));
    expect(common).toContain('StrictHostKeyChecking=accept-new');
  });

  it('references the private key by path, never by content', () => {
    const json = JSON.stringify(inventory);
    expect(json).toContain(fleet.keyPath);
    const body = readFileSync(fleet.keyPath, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'));
    expect(body.length).toBeGreaterThan(0);
    for (const line of body) expect(json).not.toContain(line);
    expect(json).not.toContain('PRIVATE KEY');
  });
});

/** Stale or missing dist/ would test old code: build when any source is newer than the script. */
async function ensureBuilt(): Promise<void> {
  const script = path.join(projectRoot, 'dist', 'inventory', 'script.js');
  const newestSource = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return newestSource(full);
        return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? statSync(full).mtimeMs : 0;
      }),
    );
  if (existsSync(script) && statSync(script).mtimeMs >= newestSource(path.join(projectRoot, 'ts'))) return;
  await execa('npm', ['run', 'build'], { cwd: projectRoot });
}

/** Sort host and child lists so two inventories compare by content, not order. */
function normalized(listing: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(listing).map(([name, value]) => {
      if (name === '_meta') return [name, value];
      const group = value as { hosts?: string[]; children?: string[] };
      return [name, { ...group, ...(group.hosts ? { hosts: [...group.hosts].sort() } : {}), ...(group.children ? { children: [...group.children].sort() } : {}) }];
    }),
  );
}

describe('end to end with the real inventory script and ansible-inventory', () => {
  let fleet: Fleet;
  let inventory: Inventory;
  // A script that fails to parse must fail the test, not quietly give Ansible an empty inventory.
  const ansibleEnv = (dbFile: string) => ({ MKO_DB: dbFile, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', ANSIBLE_NOCOLOR: '1' });
  const ansibleInventory = (source: string, dbFile: string) =>
    execa('ansible-inventory', ['-i', source, '--list'], { cwd: projectRoot, env: ansibleEnv(dbFile) });

  beforeAll(async () => {
    await ensureBuilt();
    fleet = await makeFleet();
    inventory = buildInventory(fleet.db, { dataDir: fleet.dir });
  });
  afterAll(() => {
    fleet.db.close();
    rmSync(fleet.dir, { recursive: true, force: true });
  });

  it('ansible-inventory --list shows every host, group and host variable', async () => {
    const result = await ansibleInventory(inventoryScript, fleet.dbFile);
    expect(result.stderr).not.toMatch(/invalid characters|WARNING/i);
    const listing = JSON.parse(result.stdout) as Record<string, { hosts?: string[]; children?: string[] }> & {
      _meta: { hostvars: Record<string, Record<string, unknown>> };
    };
    const built = groupsOf(inventory);
    expect(Object.keys(listing._meta.hostvars).sort()).toEqual(fleet.nodes.map((n) => n.hostname).sort());
    for (const [name, group] of Object.entries(built)) {
      if (name === 'all') continue;
      expect([...(listing[name]?.hosts ?? [])].sort(), name).toEqual([...group.hosts].sort());
      expect([...(listing[name]?.children ?? [])].sort(), name).toEqual([...(group.children ?? [])].sort());
    }
    expect(listing['all']?.children).toEqual(expect.arrayContaining(built['all']?.children ?? ['<none>']));
    for (const [host, vars] of Object.entries(inventory._meta.hostvars)) {
      // Ansible merges group variables in: the host's own variables must come through unchanged,
      // every string still unsafe (ansible-inventory writes those back as __ansible_unsafe).
      expect(listing._meta.hostvars[host], host).toMatchObject(markUnsafe(vars) as object);
    }
    expect(listing._meta.hostvars['vm1']).toMatchObject({ mko_cluster_name: { __ansible_unsafe: 'home-lab' }, mko_ha: false, mko_microk8s_addons: [] });
    expect(listing._meta.hostvars['pi1']).toMatchObject({ mko_microk8s_addons: [{ name: { __ansible_unsafe: 'dns' }, args: { __ansible_unsafe: '' } }] });
    expect(result.stdout).toContain(fleet.keyPath);
    const keyLine = readFileSync(fleet.keyPath, 'utf8').split('\n')[1] ?? '<no key line>';
    expect(result.stdout).not.toContain(keyLine);
  });

  it('inventories/mko --host prints one host', async () => {
    const result = await execa(inventoryScript, ['--host', 'pi1'], { env: { MKO_DB: fleet.dbFile } });
    expect(JSON.parse(result.stdout)).toEqual(markUnsafe(JSON.parse(JSON.stringify(inventory._meta.hostvars['pi1']))));
    const unknown = await execa(inventoryScript, ['--host', 'ghost'], { env: { MKO_DB: fleet.dbFile } });
    expect(JSON.parse(unknown.stdout)).toEqual({});
  });

  it('a missing database gives an empty inventory and is not created', async () => {
    const missingDir = path.join(fleet.dir, 'nowhere');
    const missing = path.join(missingDir, 'mko.db');
    const script = await execa(inventoryScript, ['--list'], { env: { MKO_DB: missing } });
    const listing = JSON.parse(script.stdout) as Inventory;
    expect(listing._meta.hostvars).toEqual({});
    for (const group of Object.values(FLEET_GROUPS)) expect(groupsOf(listing)[group]?.hosts).toEqual([]);
    const ansible = await ansibleInventory(inventoryScript, missing);
    expect((JSON.parse(ansible.stdout) as Inventory)._meta.hostvars).toEqual({});
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(missingDir)).toBe(false);
  });

  it('the exported YAML inventory reads back exactly like the dynamic one', async () => {
    const file = path.join(fleet.dir, 'hosts.yml');
    writeFileSync(file, toYamlInventory(inventory));
    const [fromYaml, fromScript] = await Promise.all([ansibleInventory(file, fleet.dbFile), ansibleInventory(inventoryScript, fleet.dbFile)]);
    expect(fromYaml.stderr).not.toMatch(/WARNING/);
    const yamlListing = JSON.parse(fromYaml.stdout) as Record<string, unknown>;
    const scriptListing = JSON.parse(fromScript.stdout) as Record<string, unknown>;
    expect(Object.keys((yamlListing['_meta'] as Inventory['_meta']).hostvars).length).toBe(fleet.nodes.length);
    expect(normalized(yamlListing)).toEqual(normalized(scriptListing));
  });
});
