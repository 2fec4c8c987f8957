// CLI start-up: `mko node list` on a small real fleet, against `node -e 0` on the same Node.js in
// the same run, interleaved round by round so a busy machine slows both alike.
// Run: npm run build && node bench/cli.mjs [--rounds N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { openDb } = await import(path.join(dist, 'db', 'index.js'));

const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 30;
const WARMUP = 3;
const NODES = 20;
const TARGET_RATIO = 2.5;
// The Node.js bin/mko-node picks: the bootstrap's under .runtime, else the one on PATH.
const bundled = path.join(root, '.runtime', 'node', 'bin', 'node');
const node = existsSync(bundled) ? bundled : 'node';

/** A fleet of NODES nodes in two clusters, through the real schema (openDb applies the migrations). */
function seed(file) {
  const db = openDb(file);
  const addCluster = db.prepare("INSERT INTO clusters (name, channel, addons, is_default) VALUES (?, '1.31/stable', '[]', ?)");
  const addNode = db.prepare(
    `INSERT INTO nodes (hostname, address, ssh_user, ssh_port, role, cluster_id, labels, ssh_key_path, ssh_key_type)
     VALUES (@hostname, @address, 'ubuntu', 22, @role, @clusterId, '{}', @keyPath, 'ed25519')`,
  );
  db.transaction(() => {
    const clusters = [addCluster.run('home', 1), addCluster.run('lab', 0)].map((r) => Number(r.lastInsertRowid));
    for (let i = 0; i < NODES; i++) {
      addNode.run({
        hostname: `pi${i + 1}`,
        address: `192.168.1.${i + 10}`,
        role: i % 10 < 3 ? 'control-plane' : 'worker',
        clusterId: clusters[i % 2],
        keyPath: path.join(path.dirname(file), 'keys', `pi${i + 1}_ed25519`),
      });
    }
  })();
  db.close();
}

function seconds(command, args, env) {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const elapsed = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { elapsed, stdout: result.stdout };
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
const median = (values) => quantile(values, 0.5);

const dir = mkdtempSync(path.join(tmpdir(), 'mko-bench-cli-'));
const dbFile = path.join(dir, 'mko.db');
const failures = [];
const subjects = [
  { name: 'node -e 0', command: node, args: ['-e', '0'] },
  { name: 'mko node list', command: path.join(root, 'bin', 'mko'), args: ['node', 'list'] },
  { name: 'node dist/cli/main.js node list', command: node, args: [path.join(dist, 'cli', 'main.js'), 'node', 'list'] },
];
try {
  seed(dbFile);
  const env = { MKO_DB: dbFile };
  // The timing only counts if the command listed the fleet.
  const listed = seconds(subjects[1].command, subjects[1].args, env).stdout.trim().split('\n').length - 1;
  if (listed !== NODES) failures.push(`mko node list printed ${listed} nodes, not ${NODES}`);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const subject of subjects) {
      const { elapsed } = seconds(subject.command, subject.args, env);
      if (round >= WARMUP) (subject.times ??= []).push(elapsed);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const base = median(subjects[0].times);
const header = ['command', 'median (s)', 'p95 (s)', 'x node -e 0'];
const rows = subjects.map((s) => [s.name, median(s.times).toFixed(3), quantile(s.times, 0.95).toFixed(3), (median(s.times) / base).toFixed(2)]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(`start-up of mko node list on ${NODES} nodes (real SQLite), ${ROUNDS} interleaved rounds after ${WARMUP} warm-up, ${node === 'node' ? 'node on PATH' : '.runtime node'} ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
console.log(line(header));
for (const row of rows) console.log(line(row));
const ratio = median(subjects[1].times) / base;
if (ratio > TARGET_RATIO) failures.push(`mko node list takes ${ratio.toFixed(2)}x node -e 0 (target <= ${TARGET_RATIO}x)`);
console.log(failures.length === 0 ? `PASS: mko node list starts in ${ratio.toFixed(2)}x node -e 0 (target <= ${TARGET_RATIO}x)` : `FAIL: ${failures.join('; ')}`);
process.exitCode = failures.length === 0 ? 0 : 1;
