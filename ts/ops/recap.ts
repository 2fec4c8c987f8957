import type { HostRecap } from './operations.js';

const RECAP_LINE =
  /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)/;

// Colour codes may surround the counters when colour is forced.
const ANSI = /\u001b\[[0-9;]*m/g;

/** Parse the PLAY RECAP block that ansible-playbook prints last. Later blocks win. */
export function parseRecap(output: string): Record<string, HostRecap> {
  const recap: Record<string, HostRecap> = {};
  let inRecap = false;
  for (const raw of output.split('\n')) {
    const line = raw.replace(ANSI, '').trimEnd();
    if (line.startsWith('PLAY RECAP')) {
      inRecap = true;
      continue;
    }
    if (!inRecap) continue;
    const match = RECAP_LINE.exec(line);
    if (!match) continue;
    const [, host, ok, changed, unreachable, failed, skipped, rescued, ignored] = match.map((v, i) => (i === 1 ? v : Number(v))) as [
      unknown,
      string,
      ...number[],
    ];
    recap[host] = {
      ok: ok ?? 0,
      changed: changed ?? 0,
      unreachable: unreachable ?? 0,
      failed: failed ?? 0,
      skipped: skipped ?? 0,
      rescued: rescued ?? 0,
      ignored: ignored ?? 0,
    };
  }
  return recap;
}

/** What an ansible-playbook exit code means, in words (ansible-core's TaskQueueManager and CLI codes). */
export function exitMeaning(code: number | null): string {
  if (code === null) return 'ansible-playbook did not exit (killed by a signal)';
  const fixed: Record<number, string> = {
    0: 'ok',
    1: 'error (bad playbook, module or configuration)',
    5: 'bad or incomplete command-line options',
    6: 'command-line arguments are not UTF-8',
    99: 'interrupted by the user',
    250: 'unexpected error in Ansible (a bug)',
    255: 'unknown error',
  };
  const known = fixed[code];
  if (known) return known;
  const parts: string[] = [];
  if (code & 2) parts.push('one or more hosts failed');
  if (code & 4) parts.push('one or more hosts unreachable (or the playbook could not be parsed)');
  if (code & 8) parts.push('a failure stopped the play');
  return parts.length > 0 ? parts.join('; ') : `exit code ${code}`;
}
