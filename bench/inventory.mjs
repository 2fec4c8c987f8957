// Inventory speed on a large fleet: the mko inventory script alone, ansible-inventory reading it,
// and ansible-inventory reading a static YAML export of the same hosts.
// Run: npm run build && node bench/inventory.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'inventory', 'script.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { openDb } = await import(path.join(dist, 'db', 'index.js'));
const { buildInventory, writeYamlInventory } = await import(path.join(dist, 'inventory', 'index.js'));

const SIZES = [1_000, 10_000];
const CLUSTERS = 10;
const SCRIPT_RUNS = 5;
const ANSIBLE_RUNS = 3;
const LIST_TARGET_SECONDS = 0.5;
const script = path.join(root, 'inventories', 'mko');

/** A fleet of `count` nodes over ten clusters: 3 control planes each, some WoL, some VMs, some unassigned. */
function seed(file, count) {
  const db = openDb(file); // applies the migrations: the bench uses the real schema
  const addCluster = db.prepare('INSERT INTO clusters (name, channel, addons, is_default) VALUES (?, ?, ?, ?)');
  const addNode = db.prepare(
    `INSERT INTO nodes (hostname, address, ssh_user, ssh_port, role, cluster_id, labels, ssh_key_path, ssh_key_type,
       wol_mac, wol_broadcast, wol_enabled, proxmox_host, proxmox_node, proxmox_vmid)
     VALUES (@hostname, @address, 'ubuntu', 22, @role, @clusterId, @labels, @keyPath, 'ed25519',
       @mac, @broadcast, @wol, @pveHost, @pveNode, @vmid)`,
  );
  db.transaction(() => {
    const clusterIds = [];
    for (let c = 0; c < CLUSTERS; c++) {
      const name = c % 3 === 2 ? `lab_${c}` : `site-${c}`; // some names take the hashed group form
      const addons = JSON.stringify([{ name: 'dns', args: '' }, { name: 'metallb', args: `10.${c}.0.10-10.${c}.0.20` }]);
      clusterIds.push(Number(addCluster.run(name, '1.31/stable', addons, c === 0 ? 1 : 0).lastInsertRowid));
    }
    for (let i = 0; i < count; i++) {
      const unassigned = i % 20 === 19;
      const cluster = i % CLUSTERS;
      const virtual = i % 4 === 1;
      const wol = i % 3 === 0;
      const hex = (i + 1).toString(16).padStart(6, '0');
      addNode.run({
        hostname: `node-${String(i).padStart(5, '0')}`,
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        role: !unassigned && Math.floor(i / CLUSTERS) < 3 ? 'control-plane' : 'worker',
        clusterId: unassigned ? null : clusterIds[cluster],
        labels: JSON.stringify({ rack: `r${i % 7}`, arch: i % 2 ? 'arm64' : 'amd64' }),
        keyPath: `/var/lib/mko/keys/node-${i}_ed25519`,
        mac: wol ? `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}` : null,
        broadcast: wol ? '10.255.255.255' : null,
        wol: wol ? 1 : 0,
        pveHost: virtual ? 'pve.lan' : null,
        pveNode: virtual ? 'pve' : null,
        vmid: virtual ? 1000 + i : null,
      });
    }
  })();
  return db;
}

function run(command, args, env) {
  const started = performance.now();
  const result = spawnSync(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return { seconds, stdout: result.stdout, stderr: result.stderr };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timed(times, command, args, env) {
  const runs = Array.from({ length: times }, () => run(command, args, env));
  return { seconds: median(runs.map((r) => r.seconds)), stdout: runs[0].stdout, stderr: runs[0].stderr };
}

/** Sorted host and child lists, so two listings compare by content rather than order. */
function canonical(listing) {
  const out = {};
  for (const [name, value] of Object.entries(listing)) {
    if (name === '_meta') out[name] = value;
    else out[name] = { ...value, ...(value.hosts ? { hosts: [...value.hosts].sort() } : {}), ...(value.children ? { children: [...value.children].sort() } : {}) };
  }
  return JSON.stringify(out, Object.keys(out).sort());
}

const dir = mkdtempSync(path.join(tmpdir(), 'mko-bench-'));
const rows = [];
const failures = [];
try {
  for (const size of SIZES) {
    const dbFile = path.join(dir, `fleet-${size}.db`);
    const db = seed(dbFile, size);
    const yamlFile = path.join(dir, `fleet-${size}.yml`);
    writeYamlInventory(buildInventory(db, { dataDir: dir }), yamlFile);
    db.close();

    const env = { MKO_DB: dbFile, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' };
    const list = timed(SCRIPT_RUNS, script, ['--list'], env);
    const dynamic = timed(ANSIBLE_RUNS, 'ansible-inventory', ['-i', script, '--list'], env);
    const fromYaml = timed(ANSIBLE_RUNS, 'ansible-inventory', ['-i', yamlFile, '--list'], env);

    // The timings only count if all three produced the same fleet.
    const hosts = Object.keys(JSON.parse(list.stdout)._meta.hostvars).length;
    if (hosts !== size) failures.push(`${size}: inventory script listed ${hosts} hosts`);
    if (canonical(JSON.parse(dynamic.stdout)) !== canonical(JSON.parse(fromYaml.stdout))) {
      failures.push(`${size}: ansible-inventory gives different results for the script and the YAML export`);
    }
    const ratio = dynamic.seconds / fromYaml.seconds;
    rows.push({ size, list: list.seconds, dynamic: dynamic.seconds, yaml: fromYaml.seconds, ratio });
    if (size === 10_000 && list.seconds >= LIST_TARGET_SECONDS) {
      failures.push(`${size}: inventories/mko --list took ${list.seconds.toFixed(3)} s (target < ${LIST_TARGET_SECONDS} s)`);
    }
    if (ratio > 1.0) failures.push(`${size}: ansible-inventory on the script is slower than on YAML (b/c ${ratio.toFixed(2)} > 1.00)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const header = ['nodes', '(a) mko --list', '(b) ansible-inventory mko', '(c) ansible-inventory YAML', 'b/c'];
const table = rows.map((r) => [String(r.size), r.list.toFixed(3), r.dynamic.toFixed(3), r.yaml.toFixed(3), r.ratio.toFixed(2)]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(`seconds; (a) median of ${SCRIPT_RUNS}, (b) and (c) median of ${ANSIBLE_RUNS}`);
console.log(line(header));
for (const row of table) console.log(line(row));
console.log(
  failures.length === 0
    ? `PASS: --list for 10,000 nodes under ${LIST_TARGET_SECONDS} s, and ansible-inventory no slower on the script than on YAML`
    : `FAIL: ${failures.join('; ')}`,
);
process.exitCode = failures.length === 0 ? 0 : 1;
