// The CPU ansible-playbook spends while its tasks wait: the project's internal_poll_interval
// (ansible.cfg) against Ansible's default of 1 ms, measured in the same run, alternating, so
// machine noise hits both. The playbook runs on two local hosts (connection local), one task of
// a 15-second sleep, as lab and fleet runs mostly wait on SSH, snapd and polls.
// Run: node bench/poll.mjs [--rounds N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
const TARGET_RATIO = 0.9;
const work = mkdtempSync(path.join(tmpdir(), 'mko-bench-poll-'));

/** The project's value, as Ansible reads it from ansible.cfg. */
function projectInterval() {
  const r = spawnSync('ansible-config', ['dump', '--only-changed'], { env: { ...process.env, ANSIBLE_CONFIG: path.join(root, 'ansible.cfg') }, encoding: 'utf8' });
  const m = /^DEFAULT_INTERNAL_POLL_INTERVAL\(.*\) = ([0-9.]+)$/m.exec(r.stdout);
  if (!m) throw new Error('ansible.cfg sets no internal_poll_interval');
  return Number(m[1]);
}

// Both configurations are the project's callback and forks with one difference, the interval.
const config = (name, interval) => {
  const file = path.join(work, `${name}.cfg`);
  writeFileSync(
    file,
    [
      '[defaults]',
      `collections_path = ${path.join(root, 'collections')}:/usr/share/ansible/collections`,
      'callbacks_enabled = mko.fleet.history',
      'forks = 25',
      `internal_poll_interval = ${interval}`,
      '',
    ].join('\n'),
  );
  return file;
};

const playbook = path.join(work, 'wait.yml');
writeFileSync(
  playbook,
  ['- name: A task that waits', '  hosts: all', '  gather_facts: false', '  tasks:', '    - name: Wait 15 s', '      ansible.builtin.command: sleep 15', '      changed_when: false', ''].join('\n'),
);

/** CPU seconds (user + system) of one ansible-playbook run and everything it started. */
function cpu(cfg) {
  // bash's `times` prints the children's user and system time on its second line: "0m1.234s 0m0.567s".
  const script = `ansible-playbook -i h1,h2, -c local -e ansible_python_interpreter=${process.env.MKO_BENCH_PYTHON ?? '/usr/bin/python3'} "$1" >/dev/null || exit 1; times`;
  const r = spawnSync('bash', ['-c', script, 'bench', playbook], { env: { ...process.env, ANSIBLE_CONFIG: cfg, MKO_OPERATION_ID: 'bench' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ansible-playbook failed with ${cfg}:\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const seconds = [...line.matchAll(/(\d+)m([0-9.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`no times line: ${r.stdout}`);
  return seconds[0] + seconds[1];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const interval = projectInterval();
  const configs = { project: config('project', interval), default: config('default', 0.001) };
  const taken = { project: [], default: [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    for (const name of i % 2 === 0 ? ['default', 'project'] : ['project', 'default']) taken[name].push(cpu(configs[name]));
  }
  const ratio = median(taken.project) / median(taken.default);
  console.log(`CPU seconds of ansible-playbook, 2 local hosts, one task of 15 s; median of ${ROUNDS}`);
  console.log(`default (internal_poll_interval 0.001)  ${median(taken.default).toFixed(2)}`);
  console.log(`project (internal_poll_interval ${interval})  ${median(taken.project).toFixed(2)}`);
  console.log(`ratio project/default ${ratio.toFixed(2)}`);
  console.log(ratio <= TARGET_RATIO ? `PASS: the project's setting costs at most ${TARGET_RATIO} of the default's CPU` : `FAIL: ratio above ${TARGET_RATIO}`);
  process.exitCode = ratio <= TARGET_RATIO ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
