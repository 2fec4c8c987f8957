// No-change re-runs of the hosts and hardware playbooks on a 5-host lab: the project's ansible.cfg
// against Ansible's defaults, measured in the same run, alternating, so machine noise hits both.
// Run as root: npm run build && node bench/playbook.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 3;
const TARGET_RATIO = 2;
const LAB = 'bench';
const work = mkdtempSync(path.join(tmpdir(), 'mko-bench-'));
const env = { ...process.env, MKO_DB: path.join(work, 'mko.db') };
const mko = (...args) => {
  const r = spawnSync(path.join(root, 'bin', 'mko'), args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mko ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
};

// "Ansible's defaults": only what is needed to find the inventory, roles and collections.
const defaultsCfg = path.join(work, 'defaults.cfg');
writeFileSync(
  defaultsCfg,
  [
    '[defaults]',
    `inventory = ${path.join(root, 'inventories', 'mko')}`,
    `roles_path = ${path.join(root, 'roles')}`,
    `collections_path = ${path.join(root, 'collections')}:~/.ansible/collections:/usr/share/ansible/collections`,
    'interpreter_python = auto_silent',
    '',
  ].join('\n'),
);
const configs = { project: path.join(root, 'ansible.cfg'), defaults: defaultsCfg };
const reports = path.join(work, 'reports');
const playbooks = [
  [path.join(root, 'playbooks', 'hosts.yml'), ['-e', 'mko_hosts_target=cluster_bench']],
  [path.join(root, 'playbooks', 'hardware.yml'), ['-e', `hardware_report_dir=${reports}`]],
];
// For reference, not the target: module runs and nothing else (15 ping tasks with become), the
// most a tuned ansible.cfg can gain per task on this lab.
const PING_TASKS = 15;
const pingPlaybook = path.join(work, 'ping.yml');
writeFileSync(
  pingPlaybook,
  [
    '- name: Module runs only',
    '  hosts: cluster_bench',
    '  become: true',
    '  gather_facts: false',
    '  tasks:',
    ...Array.from({ length: PING_TASKS }, (_, i) => `    - name: Ping ${i + 1}\n      ansible.builtin.ping:`),
    '',
  ].join('\n'),
);

function play(config, { warmUp = false, files = playbooks } = {}) {
  const started = process.hrtime.bigint();
  for (const [file, extra] of files) {
    const r = spawnSync('ansible-playbook', [file, '--limit', 'cluster_bench', ...extra], {
      env: { ...env, ANSIBLE_CONFIG: config, MKO_OPERATION_ID: 'bench' },
      cwd: root,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${file} failed with ${config}:\n${r.stdout}\n${r.stderr}`);
    const changed = [...r.stdout.matchAll(/changed=(\d+)/g)].map((m) => Number(m[1]));
    if (!warmUp && changed.some((n) => n > 0)) throw new Error(`${file} was not a no-change run with ${config}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  if (process.getuid?.() !== 0) throw new Error('bench/playbook needs root (it starts a lab)');
  mko('lab', 'up', '--name', LAB, '--nodes', '5');
  mko('cluster', 'configure-hosts', LAB);
  mkdirSync(reports, { recursive: true });
  // Warm both: first converge, facts cached, SSH masters up.
  play(configs.project, { warmUp: true });
  play(configs.defaults, { warmUp: true });
  const times = { project: [], defaults: [] };
  for (let i = 0; i < RUNS; i++) {
    times.defaults.push(play(configs.defaults));
    times.project.push(play(configs.project));
  }
  const project = median(times.project);
  const defaults = median(times.defaults);
  const ratio = defaults / project;
  console.log(`no-change re-run of hosts.yml + hardware.yml on 5 lab hosts, median of ${RUNS}`);
  console.log(`Ansible defaults      ${defaults.toFixed(2)} s   (${times.defaults.map((t) => t.toFixed(2)).join(', ')})`);
  console.log(`project ansible.cfg   ${project.toFixed(2)} s   (${times.project.map((t) => t.toFixed(2)).join(', ')})`);
  console.log(`ratio defaults/project ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}x): ${ratio >= TARGET_RATIO ? 'PASS' : 'FAIL'}`);
  const pings = { project: [], defaults: [] };
  for (let i = 0; i < RUNS; i++) {
    pings.defaults.push(play(configs.defaults, { files: [[pingPlaybook, []]] }));
    pings.project.push(play(configs.project, { files: [[pingPlaybook, []]] }));
  }
  const pingRatio = median(pings.defaults) / median(pings.project);
  console.log(
    `for reference, ${PING_TASKS} ping tasks with become (module runs only): defaults ${median(pings.defaults).toFixed(2)} s, ` +
      `project ${median(pings.project).toFixed(2)} s, ratio ${pingRatio.toFixed(2)}x`,
  );
  process.exitCode = ratio >= TARGET_RATIO ? 0 : 1;
} finally {
  spawnSync(path.join(root, 'bin', 'mko'), ['lab', 'down', '--name', LAB], { env, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
