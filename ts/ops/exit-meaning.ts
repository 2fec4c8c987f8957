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
