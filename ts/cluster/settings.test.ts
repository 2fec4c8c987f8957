// Cluster settings that must do what their help says, through the built CLI on a real SQLite file:
// --channel on `cluster update` never makes the database disagree with the nodes, and --default
// is where `node add` puts a node given no --cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { getNode } from '../fleet/index.js';
import { finishOperation, startOperation } from '../ops/index.js';
import { buildCli, mkoBin as mko } from '../test-support/cli.js';
import { dumpDb } from '../test-support/db-dump.js';
import { saveStatus, type StatusReport } from './status-store.js';

let dir: string;
let dbPath: string;
const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
const withDb = <T>(fn: (db: ReturnType<typeof openDb>) => T): T => {
  const db = openDb(dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
};
const channelOf = async (cluster: string): Promise<string> => (JSON.parse((await run('cluster', 'show', cluster, '--json')).stdout) as { channel: string }).channel;

/** What `cluster status` stores for a node: MicroK8s installed on it, or not. */
function readStatus(hostname: string, installed: boolean): void {
  withDb((db) => {
    const node = getNode(db, hostname);
    const operationId = startOperation(db, { kind: 'status', target: node.cluster ?? '', playbook: 'playbooks/status.yml' });
    const report: StatusReport = {
      hostname, reachable: true, installed, running: installed, version: installed ? 'v1.31.9' : null, channel: installed ? '1.31/stable' : null,
      held: false, role: installed ? 'voter' : 'none', ha: false, cluster_nodes: [], addons_enabled: [], ready: installed,
    };
    saveStatus(db, node.id, operationId, report);
    finishOperation(db, operationId, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
  });
}

/** What `cluster setup` leaves in the history (a failed one may have installed some nodes too). */
function recordSetup(cluster: string, status: 'succeeded' | 'failed'): void {
  withDb((db) => {
    const id = startOperation(db, { kind: 'setup', target: cluster, playbook: 'playbooks/site.yml' });
    finishOperation(db, id, { status, exitCode: status === 'succeeded' ? 0 : 2, exitMeaning: status });
  });
}

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-cluster-settings-'));
  dbPath = path.join(dir, 'mko.db');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cluster update --channel', () => {
  it('sets the channel of a cluster not set up yet, and refuses it once MicroK8s may be on a node', async () => {
    expect((await run('cluster', 'add', 'home')).exitCode).toBe(0);
    for (const [i, name] of ['pi1', 'pi2'].entries()) {
      const added = await run('node', 'add', '--hostname', name, '--ip', `192.168.1.${10 + i}`, '--user', 'ubuntu', '--cluster', 'home');
      expect(added.exitCode, added.stderr).toBe(0);
    }
    // Before any setup: the channel is only what the next setup installs.
    const before = await run('cluster', 'update', 'home', '--channel', '1.32/stable');
    expect(before.exitCode, before.stderr).toBe(0);
    expect(await channelOf('home')).toBe('1.32/stable');

    const refused = async (why: string): Promise<void> => {
      const snapshot = withDb(dumpDb);
      const result = await run('cluster', 'update', 'home', '--channel', '1.34/stable', '--description', 'changed');
      expect(result.exitCode, why).toBe(1);
      expect(result.stderr.trim().split('\n'), why).toHaveLength(1);
      expect(result.stderr, why).toMatch(/--channel 1\.34\/stable: MicroK8s is \(or may be\) installed on .* of cluster home: change it on the nodes with mko cluster upgrade home --channel 1\.34\/stable/);
      expect(withDb(dumpDb), why).toBe(snapshot);
    };
    // A setup ran (even one that failed): the nodes may have MicroK8s now.
    recordSetup('home', 'failed');
    await refused('after a setup, before any status');
    await sleep(5);
    readStatus('pi1', true);
    readStatus('pi2', false);
    await refused('pi1 reads as installed');
    // Reset: every node reads as not installed, after the last setup.
    readStatus('pi1', false);
    const after = await run('cluster', 'update', 'home', '--channel', '1.31/stable');
    expect(after.exitCode, after.stderr).toBe(0);
    expect(await channelOf('home')).toBe('1.31/stable');
    // The same channel again, and other settings, are always fine.
    readStatus('pi1', true);
    expect((await run('cluster', 'update', 'home', '--channel', '1.31/stable', '--description', 'ok')).exitCode).toBe(0);
    // A bad channel is still named as bad, not as installed.
    expect((await run('cluster', 'update', 'home', '--channel', 'nope')).stderr).toMatch(/invalid --channel "nope"/);
  });
});

describe('node add and the default cluster', () => {
  it('puts a node given no --cluster in the default cluster and says so; without a default, in none', async () => {
    const alone = await run('node', 'add', '--hostname', 'nuc1', '--ip', '192.168.1.30', '--user', 'ubuntu');
    expect(alone.exitCode, alone.stderr).toBe(0);
    expect(alone.stdout).not.toMatch(/default cluster/);
    expect(JSON.parse((await run('node', 'show', 'nuc1', '--json')).stdout)).toMatchObject({ cluster: null });

    expect((await run('cluster', 'add', 'lab', '--default')).exitCode).toBe(0);
    const joined = await run('node', 'add', '--hostname', 'nuc2', '--ip', '192.168.1.31', '--user', 'ubuntu');
    expect(joined.exitCode, joined.stderr).toBe(0);
    expect(joined.stdout).toMatch(/^nuc2 joined the default cluster lab as worker \(no --cluster given; mko cluster unassign nuc2 takes it out\)$/m);
    expect(JSON.parse((await run('node', 'show', 'nuc2', '--json')).stdout)).toMatchObject({ cluster: 'lab', role: 'worker' });

    // --cluster still wins, and the default moves with --default on another cluster.
    const explicit = await run('node', 'add', '--hostname', 'nuc3', '--ip', '192.168.1.32', '--user', 'ubuntu', '--cluster', 'home');
    expect(explicit.stdout).not.toMatch(/default cluster/);
    expect(JSON.parse((await run('node', 'show', 'nuc3', '--json')).stdout)).toMatchObject({ cluster: 'home' });
    expect((await run('cluster', 'update', 'home', '--default')).exitCode).toBe(0);
    const json = await run('node', 'add', '--hostname', 'nuc4', '--ip', '192.168.1.33', '--user', 'ubuntu', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ hostname: 'nuc4', cluster: 'home' });
  });
});
