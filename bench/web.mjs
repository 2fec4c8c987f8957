// mko web under load: `GET /api/v1/nodes` and the dashboard's full page with 1,000 nodes and N
// concurrent clients, each against a static file served by the same server in the same run; and
// how soon a line appended to a running operation's log reaches a client of its SSE stream.
// Run: npm run build && node bench/web.mjs [--clients N] [--rounds N] [--lines N]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'web', 'index.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { openDb } = await import(path.join(dist, 'db', 'index.js'));
const { addCluster, insertNode } = await import(path.join(dist, 'fleet', 'index.js'));
const { saveStatus } = await import(path.join(dist, 'cluster', 'status-store.js'));
const { appendLog, finishOperation, startOperation } = await import(path.join(dist, 'ops', 'index.js'));
const { addUps } = await import(path.join(dist, 'power', 'index.js'));
const { createToken } = await import(path.join(dist, 'web', 'index.js'));

const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const NODES = 1_000;
const CLUSTERS = 10;
const CLIENTS = option('clients', 20);
// Each round runs every subject in turn, so a busy machine slows all of them alike.
const ROUNDS = option('rounds', 5);
const PER_CLIENT = 20; // requests per client per subject per round
const LINES = option('lines', 50);
const DASHBOARD_P95_MS = 50;
const SSE_P95_MS = 200;
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux: /proc's CPU times are in these

/** 1,000 nodes in ten clusters (a twentieth unassigned), each with a status as `mko cluster status` records it, and a UPS. */
function seed(file, dataDir) {
  const db = openDb(file);
  const clusters = [];
  for (let c = 0; c < CLUSTERS; c++) clusters.push(addCluster(db, { name: `site-${c}`, channel: '1.31/stable', isDefault: c === 0 }).name);
  const ids = [];
  db.transaction(() => {
    for (let i = 0; i < NODES; i++) {
      const unassigned = i % 20 === 19;
      const node = insertNode(
        db,
        {
          hostname: `node-${String(i).padStart(5, '0')}`,
          address: `10.0.${i >> 8}.${i & 255}`,
          sshUser: 'ubuntu',
          role: !unassigned && Math.floor(i / CLUSTERS) < 3 ? 'control-plane' : 'worker',
          ...(unassigned ? {} : { cluster: clusters[i % CLUSTERS] }),
        },
        null,
      );
      if (!unassigned) ids.push({ id: node.id, voter: node.role === 'control-plane' });
    }
  })();
  const status = startOperation(db, { kind: 'cluster-status', target: clusters.join(',') });
  db.transaction(() => {
    for (const [n, { id, voter }] of ids.entries()) {
      const ready = n % 50 !== 7;
      saveStatus(db, id, status, { hostname: `n${id}`, reachable: true, installed: true, running: true, ready, version: 'v1.31.2', channel: '1.31/stable', held: false, role: voter ? 'voter' : 'spare', ha: true, addons_enabled: ['dns'] });
    }
  })();
  finishOperation(db, status, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
  addUps(db, dataDir, { name: 'rack', host: 'node-00000' });
  const { secret } = createToken(db, { name: 'bench', scope: 'admin' });
  return { db, token: secret };
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });

/**
 * One GET; resolves with the status, the body (unless `keep` is false: decoding a large body
 * costs the client CPU the server shares) and the milliseconds until its last byte.
 */
function get(url, headers, keep = true) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get(url, { agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => keep && chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: keep ? Buffer.concat(chunks).toString('utf8') : '', ms: performance.now() - started }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * The server's CPU time so far in ms (Linux /proc; NaN elsewhere): on a shared machine a steadier
 * measure of its own cost per request than latency, which includes waiting for a core.
 */
function serverCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
/** CLIENTS clients, each sending PER_CLIENT requests one after the other; every answer must be 200. */
async function load(subject) {
  const cpuBefore = subject.pid ? serverCpuMs(subject.pid) : 0;
  const clients = Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < PER_CLIENT; i++) {
      const r = await get(subject.url, subject.headers, false);
      if (r.status !== 200) throw new Error(`${subject.name}: HTTP ${r.status}`);
      subject.times.push(r.ms);
    }
  });
  await Promise.all(clients);
  if (subject.pid) subject.cpu = (subject.cpu ?? 0) + serverCpuMs(subject.pid) - cpuBefore;
}

/** `mko web serve` on 127.0.0.1, any free port; resolves with its URL once it listens. */
function startServer(env) {
  const server = spawn(path.join(root, 'bin', 'mko'), ['web', 'serve', '--host', '127.0.0.1', '--port', '0'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const m = /serving (http:\/\/\S+\/)/.exec(output);
      if (m) resolve(m[1]);
    });
    server.stderr.on('data', (chunk) => (output += chunk));
    server.once('exit', (code) => reject(new Error(`mko web exited ${code} before it listened:\n${output}`)));
  });
  return { server, url };
}

/**
 * The SSE stream of a running operation: per line, the time from appendLog (as the recorder
 * writes a playbook's output) until the client has the event. Pauses between lines are random, so
 * the lines land anywhere in the stream's polling cycle.
 */
async function sseLatencies(db, base, token) {
  const id = startOperation(db, { kind: 'bench', target: 'web' });
  const waiting = new Map();
  let buffer = '';
  const request = http.get(`${base}api/v1/operations/${id}/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
  const opened = new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      if (res.statusCode !== 200) reject(new Error(`SSE: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const now = performance.now();
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (!/^event: log$/m.test(message) || !data) continue;
          for (const m of JSON.parse(data).text.matchAll(/^bench line (\d+)$/gm)) waiting.get(Number(m[1]))?.(now);
        }
      });
      resolve();
    });
  });
  await opened;
  const times = [];
  try {
    for (let i = 0; i < LINES; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 150));
      const received = new Promise((resolve, reject) => {
        waiting.set(i, resolve);
        setTimeout(() => reject(new Error(`SSE: line ${i} not received within 5 s`)), 5_000).unref();
      });
      const written = performance.now();
      appendLog(db, id, `bench line ${i}\n`);
      times.push((await received) - written);
      waiting.delete(i);
    }
  } finally {
    finishOperation(db, id, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
    request.destroy();
  }
  return times;
}

const dir = mkdtempSync(path.join(tmpdir(), 'mko-bench-web-'));
const dbFile = path.join(dir, 'mko.db');
const failures = [];
let server;
try {
  const { db, token } = seed(dbFile, dir);
  const started = startServer({ MKO_DB: dbFile });
  server = started.server;
  const base = await started.url;
  // A browser session, as the login form makes it.
  const login = await fetch(`${base}login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
  const cookie = /^([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  if (login.status !== 303 || !cookie) throw new Error(`login: HTTP ${login.status}, no session cookie`);
  const staticName = 'mko.css'; // the stylesheet every page loads
  const subjects = [
    { name: `static /static/${staticName}`, url: `${base}static/${staticName}`, headers: {}, times: [], pid: server.pid },
    { name: 'GET /api/v1/nodes', url: `${base}api/v1/nodes`, headers: { authorization: `Bearer ${token}` }, times: [], pid: server.pid },
    { name: 'dashboard GET /', url: base, headers: { cookie }, times: [], pid: server.pid },
  ];
  // The timings only count if the answers hold the fleet.
  const nodes = JSON.parse((await get(subjects[1].url, subjects[1].headers)).body).nodes;
  if (nodes.length !== NODES) failures.push(`GET /api/v1/nodes listed ${nodes.length} nodes, not ${NODES}`);
  const page = await get(subjects[2].url, subjects[2].headers);
  const shown = new Set(page.body.match(/node-\d{5}/g) ?? []).size;
  if (page.status !== 200 || shown !== NODES) failures.push(`the dashboard (HTTP ${page.status}) shows ${shown} nodes, not ${NODES}`);
  const staticBody = await get(subjects[0].url, {});
  if (staticBody.status !== 200) failures.push(`/static/${staticName}: HTTP ${staticBody.status}`);
  const sizes = [staticBody.body.length, JSON.stringify({ nodes }).length, page.body.length];

  for (const subject of subjects) await load({ ...subject, times: [], pid: undefined }); // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const subject of subjects) await load(subject);

  const idle = await sseLatencies(db, base, token);
  // The same while the dashboard is under load: 20 clients asking for it the whole time.
  const busy = { ...subjects[2], times: [], pid: undefined };
  let loading = true;
  const background = (async () => {
    while (loading) await load(busy);
  })();
  const loaded = await sseLatencies(db, base, token);
  loading = false;
  await background;
  db.close();

  const baseP50 = quantile(subjects[0].times, 0.5);
  const baseP95 = quantile(subjects[0].times, 0.95);
  const header = ['request', 'requests', 'KiB', 'p50 (ms)', 'p95 (ms)', 'p50 x static', 'p95 x static', 'server CPU ms/req'];
  const rows = subjects.map((s, i) => [s.name, String(s.times.length), (sizes[i] / 1024).toFixed(1), quantile(s.times, 0.5).toFixed(1), quantile(s.times, 0.95).toFixed(1), (quantile(s.times, 0.5) / baseP50).toFixed(2), (quantile(s.times, 0.95) / baseP95).toFixed(2), (s.cpu / s.times.length).toFixed(2)]);
  const sseRows = [
    ['SSE log line (idle server)', idle],
    [`SSE log line (dashboard under load)`, loaded],
  ].map(([name, times]) => [name, String(times.length), '', quantile(times, 0.5).toFixed(1), quantile(times, 0.95).toFixed(1), '', '', '']);
  const widths = header.map((h, i) => Math.max(h.length, ...[...rows, ...sseRows].map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  console.log(`mko web on 127.0.0.1 with ${NODES} nodes (real SQLite), ${CLIENTS} concurrent clients, ${ROUNDS} interleaved rounds of ${CLIENTS * PER_CLIENT} requests each after 1 warm-up; node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const row of sseRows) console.log(line(row));
  const dashboardP95 = quantile(subjects[2].times, 0.95);
  if (dashboardP95 >= DASHBOARD_P95_MS) failures.push(`dashboard p95 ${dashboardP95.toFixed(1)} ms (target < ${DASHBOARD_P95_MS} ms)`);
  const sseP95 = Math.max(quantile(idle, 0.95), quantile(loaded, 0.95));
  if (sseP95 >= SSE_P95_MS) failures.push(`SSE p95 ${sseP95.toFixed(1)} ms (target < ${SSE_P95_MS} ms)`);
  console.log(
    failures.length === 0
      ? `PASS: dashboard p95 ${dashboardP95.toFixed(1)} ms (target < ${DASHBOARD_P95_MS} ms), SSE log line p95 ${sseP95.toFixed(1)} ms (target < ${SSE_P95_MS} ms)`
      : `FAIL: ${failures.join('; ')}`,
  );
} finally {
  agent.destroy();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failures.length === 0 ? 0 : 1;
