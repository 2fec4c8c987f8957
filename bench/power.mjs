// How fast a UPS status change becomes the start of a power rule's operation: a real upsd with the
// dummy-ups driver on 127.0.0.1 (the tests' fixture, ts/test-support/upsd.ts), the real watcher
// (`mko ups monitor start`, default 1 s interval) and a notify rule on power_loss and on
// power_restored. For each of EVENTS status flips: the time the .dev file is written, against the
// started_at of the operation the rule started. Beside it, upsmon itself on the same upsd with its
// default POLLFREQ of 5 s, timed the same way through its NOTIFYCMD.
// With --lab, a second part: the lab's graceful-shutdown and startup durations. A five-host lab
// (`mko lab up --name bpw --nodes 5`, temp MKO_DB), `mko cluster setup bpw`, then the wall clock of
// `mko cluster shutdown bpw --graceful --yes --json` and `mko cluster startup bpw --json`, beside
// what the runs recorded (per-node steps, startup's time to Ready). FAIL unless every host is off
// after the shutdown and on, with every node Ready in `mko cluster status bpw --json`, after the
// startup. The lab is always taken down.
// Run as root: npm run build && node bench/power.mjs [--lab]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS = 24;
const TARGET_P95_MS = 2000;
const UPSMON_POLLFREQ_S = 5;
const LAB = process.argv.includes('--lab');
const LAB_NAME = 'bpw';
const LAB_NODES = 5;

if (process.getuid?.() !== 0) {
  console.error('bench/power.mjs runs upsd and upsmon: run it as root');
  process.exit(1);
}
if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}

/** Load a TypeScript module (the test fixture) through vite-node, which vitest ships. */
async function loadTs(file) {
  const { createServer } = await import('vite');
  const { ViteNodeServer } = await import('vite-node/server');
  const { ViteNodeRunner } = await import('vite-node/client');
  const server = await createServer({ root, configFile: false, logLevel: 'silent', optimizeDeps: { noDiscovery: true, include: [] }, server: { hmr: false, watch: null } });
  await server.pluginContainer.buildStart({});
  const node = new ViteNodeServer(server);
  const runner = new ViteNodeRunner({
    root: server.config.root,
    base: server.config.base,
    fetchModule: (id) => node.fetchModule(id),
    resolveId: (id, importer) => node.resolveId(id, importer),
  });
  const module = await runner.executeFile(path.join(root, file));
  return { module, close: () => server.close() };
}

const work = mkdtempSync(path.join(tmpdir(), 'mko-bench-power-'));
const dbPath = path.join(work, 'mko.db');
const env = { ...process.env, MKO_DB: dbPath };
const mko = (...args) => {
  const r = spawnSync(path.join(root, 'bin', 'mko'), args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mko ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};

const { module: fixture, close: closeVite } = await loadTs('ts/test-support/upsd.ts');
const { openDb } = await import(path.join(root, 'dist', 'db', 'index.js'));
const upsd = await fixture.startUpsd();
const children = [];
let code = 1;
try {
  // The fleet: one cluster, the UPS host on 127.0.0.1, notify rules both ways.
  mko('cluster', 'add', 'bench');
  mko('node', 'add', '--hostname', 'ups-bench', '--ip', '127.0.0.1', '--user', 'root', '--cluster', 'bench', '--role', 'control-plane');
  mko('ups', 'add', 'dummy', '--host', 'ups-bench', '--driver', 'dummy-ups', '--port', 'dummy.dev', '--upsd-port', String(upsd.port), '--user', 'upsmon_secondary', '--password', 's3cret-pw');
  mko('ups', 'rules', 'create', 'dummy', 'bench', 'power_loss', 'notify', '--command', 'true', '--name', 'loss');
  mko('ups', 'rules', 'create', 'dummy', 'bench', 'power_restored', 'notify', '--command', 'true', '--name', 'back');

  // upsmon beside it: same upsd, its default POLLFREQ, NOTIFYCMD writes when it noticed.
  const upsmonDir = path.join(work, 'upsmon');
  spawnSync('install', ['-d', '-m', '0755', upsmonDir]);
  const notifyLog = path.join(upsmonDir, 'notified.log');
  const notifyCmd = path.join(upsmonDir, 'notify.sh');
  writeFileSync(notifyCmd, `#!/bin/sh\necho "$(date +%s%3N) $NOTIFYTYPE" >> ${notifyLog}\n`);
  chmodSync(notifyCmd, 0o755);
  writeFileSync(
    path.join(upsmonDir, 'upsmon.conf'),
    [
      `MONITOR dummy@127.0.0.1:${upsd.port} 1 upsmon_secondary s3cret-pw secondary`,
      'MINSUPPLIES 1',
      'SHUTDOWNCMD "/bin/true"',
      `POLLFREQ ${UPSMON_POLLFREQ_S}`,
      `POLLFREQALERT ${UPSMON_POLLFREQ_S}`,
      `NOTIFYCMD ${notifyCmd}`,
      'NOTIFYFLAG ONBATT EXEC',
      'NOTIFYFLAG ONLINE EXEC',
      `POWERDOWNFLAG ${path.join(upsmonDir, 'killpower')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  writeFileSync(path.join(upsmonDir, 'nut.conf'), 'MODE=netclient\n');
  const upsmon = spawn('/lib/nut/upsmon', ['-F', '-p'], {
    env: { ...process.env, NUT_CONFPATH: upsmonDir, NUT_STATEPATH: upsmonDir, NUT_ALTPIDPATH: upsmonDir },
    stdio: 'ignore',
  });
  children.push(upsmon);

  const watcher = spawn(path.join(root, 'bin', 'mko'), ['ups', 'monitor', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(watcher);
  let watcherLog = '';
  watcher.stdout.on('data', (d) => (watcherLog += d));
  watcher.stderr.on('data', (d) => (watcherLog += d));
  const db = openDb(dbPath, { readonly: true });
  const started = db.prepare(
    'SELECT a.id, o.started_at FROM power_actions a JOIN operations o ON o.id = a.operation_id WHERE a.id > ? ORDER BY a.id LIMIT 1',
  );
  const deadline = Date.now() + 15_000;
  while (!watcherLog.includes('started (pid')) {
    if (Date.now() > deadline) throw new Error(`the watcher did not start:\n${watcherLog}`);
    await sleep(50);
  }
  await sleep(6000); // upsmon's first poll and login

  const mko_ms = [];
  const upsmon_ms = [];
  let lastAction = 0;
  const ON_BATTERY = { ...fixture.ONLINE, 'ups.status': 'OB DISCHRG', 'battery.charge': 90 };
  for (let i = 0; i < EVENTS; i++) {
    const vars = i % 2 === 0 ? ON_BATTERY : fixture.ONLINE;
    const notifiedBefore = existsSync(notifyLog) ? readFileSync(notifyLog, 'utf8').trim().split('\n').length : 0;
    const written = upsd.setVars(vars);
    let row;
    const until = Date.now() + 10_000;
    while (!(row = started.get(lastAction))) {
      if (Date.now() > until) throw new Error(`no operation within 10 s of flip ${i + 1}:\n${watcherLog}`);
      await sleep(20);
    }
    lastAction = row.id;
    mko_ms.push(Date.parse(row.started_at) - written);
    // upsmon has up to POLLFREQ to notice; then a random pause of up to one POLLFREQ, so the next
    // flip lands anywhere in both pollers' cycles.
    const upsmonUntil = Date.now() + (UPSMON_POLLFREQ_S + 3) * 1000;
    let lines = [];
    while (Date.now() < upsmonUntil) {
      lines = existsSync(notifyLog) ? readFileSync(notifyLog, 'utf8').trim().split('\n') : [];
      if (lines.length > notifiedBefore) break;
      await sleep(50);
    }
    if (lines.length > notifiedBefore) upsmon_ms.push(Number(lines.at(-1).split(' ')[0]) - written);
    await sleep(1000 + Math.random() * UPSMON_POLLFREQ_S * 1000);
    process.stderr.write(`flip ${i + 1}/${EVENTS}: mko ${mko_ms.at(-1)} ms, upsmon ${upsmon_ms.length > 0 ? `${upsmon_ms.at(-1)} ms` : '-'}\n`);
  }
  db.close();

  const row = (name, values) =>
    `${name.padEnd(36)}${String(values.length).padStart(7)}${(quantile(values, 0.5) / 1000).toFixed(3).padStart(10)}${(quantile(values, 0.95) / 1000).toFixed(3).padStart(10)}${(Math.max(...values) / 1000).toFixed(3).padStart(10)}`;
  console.log('UPS status change (.dev file written) -> action started; seconds');
  console.log(`${'watcher'.padEnd(36)}${'events'.padStart(7)}${'median'.padStart(10)}${'p95'.padStart(10)}${'max'.padStart(10)}`);
  console.log(row('mko ups monitor (1 s interval)', mko_ms));
  if (upsmon_ms.length > 0) console.log(row(`upsmon NOTIFYCMD (POLLFREQ ${UPSMON_POLLFREQ_S} s)`, upsmon_ms));
  const p95 = quantile(mko_ms, 0.95);
  const pass = mko_ms.length >= 20 && p95 <= TARGET_P95_MS;
  console.log(
    `${pass ? 'PASS' : 'FAIL'}: p95 ${(p95 / 1000).toFixed(3)} s over ${mko_ms.length} events (target <= ${TARGET_P95_MS / 1000} s; upsmon polls every ${UPSMON_POLLFREQ_S} s)`,
  );
  code = pass ? 0 : 1;
} finally {
  for (const child of children) {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  }
  await upsd.stop();
  await closeVite();
  rmSync(work, { recursive: true, force: true });
}
if (LAB) {
  const labCode = await labPart();
  if (labCode !== 0) code = labCode;
}
process.exit(code);

/** The lab's graceful shutdown and startup, timed; 0 on PASS. */
async function labPart() {
  const labWork = mkdtempSync(path.join(tmpdir(), 'mko-bench-power-lab-'));
  const labEnv = { ...process.env, MKO_DB: path.join(labWork, 'mko.db') };
  const run = (args, { check = true } = {}) => {
    const began = Date.now();
    const r = spawnSync(path.join(root, 'bin', 'mko'), args, { env: labEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = (Date.now() - began) / 1000;
    process.stderr.write(`lab: mko ${args.join(' ')}: exit ${r.status} after ${seconds.toFixed(1)} s\n`);
    if (check && r.status !== 0) throw new Error(`mko ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    return { ...r, seconds };
  };
  const json = (r) => JSON.parse(r.stdout);
  const span = (from, to) => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : null);
  const fmt = (v) => (v === null || v === undefined ? '-' : v.toFixed(1));
  let pass = false;
  try {
    run(['lab', 'up', '--name', LAB_NAME, '--nodes', String(LAB_NODES)]);
    run(['cluster', 'setup', LAB_NAME]);

    const down = run(['cluster', 'shutdown', LAB_NAME, '--graceful', '--yes', '--json']);
    const downRun = json(down).run;
    const offAfter = json(run(['lab', 'status', '--name', LAB_NAME, '--json'])).hosts;
    const up = run(['cluster', 'startup', LAB_NAME, '--json']);
    const upRun = json(up).run;
    const onAfter = json(run(['lab', 'status', '--name', LAB_NAME, '--json'])).hosts;
    const status = json(run(['cluster', 'status', LAB_NAME, '--json'])).nodes;

    console.log(`\nLab ${LAB_NAME}, ${LAB_NODES} hosts: graceful shutdown, then startup; per node as recorded by the run`);
    console.log(`${'node'.padEnd(12)}${'part'.padEnd(16)}${'step'.padStart(5)}${'off (s)'.padStart(9)}${'on (s)'.padStart(9)}  startup result`);
    for (const s of downRun?.steps ?? []) {
      const u = upRun?.steps?.find((x) => x.hostname === s.hostname);
      console.log(
        `${s.hostname.padEnd(12)}${s.part.padEnd(16)}${String(s.step ?? '-').padStart(5)}${fmt(span(s.requestedAt, s.doneAt)).padStart(9)}${fmt(u ? span(u.requestedAt, u.doneAt) : null).padStart(9)}  ${u ? `${u.outcome}, ready ${u.ready ? 'yes' : 'no'}` : '-'}`,
      );
    }
    console.log(`\n${'measure'.padEnd(44)}${'seconds'.padStart(9)}`);
    console.log(`${'graceful shutdown (wall clock of the command)'.padEnd(44)}${down.seconds.toFixed(1).padStart(9)}`);
    console.log(`${'graceful shutdown (run began -> finished)'.padEnd(44)}${fmt(span(downRun?.beganAt, downRun?.finishedAt)).padStart(9)}`);
    console.log(`${'startup (wall clock of the command)'.padEnd(44)}${up.seconds.toFixed(1).padStart(9)}`);
    console.log(`${'startup to Ready (recorded)'.padEnd(44)}${fmt(upRun?.readySeconds).padStart(9)}`);
    console.log(`${'nodes'.padEnd(44)}${String(LAB_NODES).padStart(9)}`);

    const problems = [];
    if (offAfter.length !== LAB_NODES) problems.push(`${offAfter.length} lab hosts, expected ${LAB_NODES}`);
    const stillOn = offAfter.filter((h) => h.running).map((h) => h.hostname);
    if (stillOn.length > 0) problems.push(`still on after the shutdown: ${stillOn.join(', ')}`);
    const stillOff = onAfter.filter((h) => !h.running).map((h) => h.hostname);
    if (stillOff.length > 0 || onAfter.length !== LAB_NODES) problems.push(`not on after the startup: ${stillOff.join(', ') || `${onAfter.length} hosts`}`);
    const notReady = status.filter((n) => n.ready !== true).map((n) => n.hostname);
    if (notReady.length > 0 || status.length !== LAB_NODES) problems.push(`not Ready after the startup: ${notReady.join(', ') || `${status.length} nodes`}`);
    if (upRun?.readySeconds === null || upRun?.readySeconds === undefined) problems.push('the startup recorded no time to Ready');
    pass = problems.length === 0;
    console.log(
      pass
        ? `PASS: all ${LAB_NODES} hosts off after the graceful shutdown, all on and Ready after the startup`
        : `FAIL: ${problems.join('; ')}`,
    );
  } catch (err) {
    console.log(`FAIL: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    run(['lab', 'down', '--name', LAB_NAME], { check: false });
    rmSync(labWork, { recursive: true, force: true });
  }
  return pass ? 0 : 1;
}
