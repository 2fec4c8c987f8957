import type { Db } from '../db/index.js';
import { getNode, recordSshTest, type FleetNode, type KeyStatus } from '../fleet/index.js';
import { runFields, runPlaybook, type RunContext } from '../ops/index.js';

export type SshFailure = 'unreachable' | 'auth-refused' | 'host-key-changed' | 'sudo-needs-password' | 'error';

export interface SshTestResult {
  node: FleetNode;
  ok: boolean;
  failure?: SshFailure;
  /** One line for the user: what happened and what to do. */
  summary: string;
}

export interface SshTestRun {
  results: SshTestResult[];
  operationId: number;
}

const FAILURES: readonly SshFailure[] = ['unreachable', 'auth-refused', 'host-key-changed', 'sudo-needs-password', 'error'];

/** The verdict playbooks/test-ssh.yml reported for a host (set_stats mko_ssh_test), as the record holds it. */
function verdictOf(results: Record<string, Record<string, unknown>>, host: string): 'ok' | SshFailure {
  const verdict = results[host]?.['mko_ssh_test'];
  if (verdict === 'ok') return 'ok';
  return FAILURES.find((f) => f === verdict) ?? 'error';
}

/** ssh's own last words on a failed login (set_stats mko_ssh_said), or null. */
function sshSaid(results: Record<string, Record<string, unknown>>, host: string): string | null {
  const said = results[host]?.['mko_ssh_said'];
  return typeof said === 'string' && said.trim() !== '' ? said.trim() : null;
}

function advice(node: FleetNode, failure: SshFailure, knownHosts: string, said: string | null): string {
  const target = `${node.sshUser}@${node.address}:${node.sshPort}`;
  switch (failure) {
    case 'unreachable':
      return `unreachable: no SSH login at ${target}${said === null ? '' : ` (ssh said: ${said})`}; check the node is on and the address and port are right`;
    case 'auth-refused':
      return `auth refused: ${target} rejected key ${node.sshKeyFingerprint ?? ''}; paste the lines from mko node instructions ${node.hostname} on the node`;
    case 'host-key-changed':
      return `host key changed: ${node.address} presents a different host key than before; if the node was reinstalled, run ssh-keygen -f ${knownHosts} -R ${node.address} and test again`;
    case 'sudo-needs-password':
      return `sudo needs a password: login works but ${node.sshUser} has no passwordless sudo; paste the sudo lines from mko node instructions ${node.hostname}`;
    case 'error':
      return 'failed: see mko operation show --log for the Ansible output';
  }
}

const STATUS_AFTER: Record<SshFailure, KeyStatus> = {
  unreachable: 'failed',
  'auth-refused': 'failed',
  'host-key-changed': 'failed',
  // Login worked, so the key is on the node; only sudo is missing.
  'sudo-needs-password': 'deployed',
  error: 'failed',
};

/**
 * Log in over SSH and run a command with passwordless sudo, through Ansible and the fleet
 * inventory: one playbook run (one operation) for all the nodes, a verdict per node.
 */
export async function testSsh(db: Db, refs: readonly string[], context: RunContext): Promise<SshTestRun> {
  const nodes = refs.map((ref) => getNode(db, ref));
  const names = nodes.map((n) => n.hostname);
  const result = await runPlaybook(db, {
    kind: 'ssh-test',
    target: names.join(','),
    playbook: 'test-ssh.yml',
    limit: names.join(','),
    ...runFields(context),
  });
  const knownHosts = `${context.dataDir}/known_hosts`;
  const results = nodes.map((node): SshTestResult => {
    const verdict = verdictOf(result.results, node.hostname);
    if (verdict === 'ok' && result.status !== 'cancelled') {
      recordSshTest(db, node.id, 'verified', 'ok: login and passwordless sudo work');
      return { node: getNode(db, node.id), ok: true, summary: `ok: ${node.hostname} accepts the key and has passwordless sudo` };
    }
    if (result.status === 'cancelled') return { node, ok: false, failure: 'error', summary: 'cancelled' };
    const failure = verdict === 'ok' ? 'error' : verdict;
    const summary = advice(node, failure, knownHosts, sshSaid(result.results, node.hostname));
    recordSshTest(db, node.id, STATUS_AFTER[failure], summary);
    return { node: getNode(db, node.id), ok: false, failure, summary };
  });
  return { results, operationId: result.operationId };
}
