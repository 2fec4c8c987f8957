// The leader of the process group mko runs ansible-playbook in (ts/ops/runner.ts): it runs the
// command given in its arguments and, should mko die without stopping it (kill -9, a crash, the
// OOM killer), stops the whole group, workers and the commands they run included.
// Usage (by the runner only): node bin/mko-run-guard.mjs <command> [args...], stdin a pipe from mko.
//
// mko dying closes its end of the stdin pipe: the kernel does that for any death, so no signal
// has to reach us. Plain JavaScript, so it runs from a checkout without a build.
import { spawn } from 'node:child_process';

/** Seconds between asking the group to stop (SIGINT, as Ctrl-C does) and killing it. */
const GRACE_MS = 2000;
const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('mko-run-guard: no command given\n');
  process.exit(2);
}

// Signals sent to the group (the runner's cancel) reach the child directly; the guard stays to
// report how the child ended.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});

const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let orphaned = false;
let exiting = false;

const killGroup = (signal) => {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // the group is gone
  }
};

const onParentGone = () => {
  if (orphaned || exiting) return;
  orphaned = true;
  killGroup('SIGINT');
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS);
};
process.stdin.on('end', onParentGone);
process.stdin.on('close', onParentGone);
process.stdin.on('error', onParentGone);
process.stdin.resume();

child.on('error', (error) => {
  process.stderr.write(`mko-run-guard: cannot run ${command}: ${error.message}\n`);
  process.exit(error.code === 'ENOENT' ? 127 : 126);
});

child.on('exit', (code, signal) => {
  // Nobody waits for us: take the workers that outlived the child (and us) with it.
  if (orphaned) killGroup('SIGKILL');
  exiting = true;
  if (signal) {
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(name);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
