// Auto-sleep settings and journal on a real SQLite file with every migration: inheritance from the
// defaults through the cluster to the node, clearing with null, the voter rule of enable, what
// reaches the inventory, and the node's journal recorded once as operations.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, getNode, insertNode, validateNodeInput } from '../fleet/index.js';
import { buildInventory } from '../inventory/index.js';
import { getOperation } from '../ops/index.js';
import { effectiveSettings, recordJournal, refuseUnsafeEnable, resolveScope, SLEEP_DEFAULTS, writeOverrides } from './index.js';

let dir: string;
let db: Db;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-sleep-settings-'));
  db = openDb(path.join(dir, 'mko.db'));
  addCluster(db, { name: 'home' });
  for (const [i, role] of [[1, 'control-plane'], [2, 'control-plane'], [3, 'control-plane'], [4, 'worker']] as const) {
    insertNode(db, validateNodeInput({ hostname: `pi${i}`, address: `192.168.1.${10 + i}`, sshUser: 'root', cluster: 'home', role }), null);
  }
});

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sleep settings', () => {
  it('a node inherits the defaults, then its cluster, then its own; null clears a field', () => {
    expect(effectiveSettings(db, getNode(db, 'pi4'))).toEqual(SLEEP_DEFAULTS);
    writeOverrides(db, resolveScope(db, 'home'), { timeout: 600, action: 'poweroff', excludedNamespaces: ['kube-system', 'monitoring'] });
    writeOverrides(db, resolveScope(db, 'pi4'), { timeout: 60, commands: [['pgrep', '-x', 'rsync']] });
    expect(effectiveSettings(db, getNode(db, 'pi4'))).toMatchObject({ timeout: 60, action: 'poweroff', excludedNamespaces: ['kube-system', 'monitoring'], commands: [['pgrep', '-x', 'rsync']] });
    expect(effectiveSettings(db, getNode(db, 'pi3'))).toMatchObject({ timeout: 600, commands: [] });
    writeOverrides(db, resolveScope(db, 'pi4'), { timeout: null });
    expect(effectiveSettings(db, getNode(db, 'pi4')).timeout).toBe(600);
    // reset forgets the node's row: the cluster's settings again
    writeOverrides(db, resolveScope(db, 'pi4'), {}, { reset: true });
    expect(effectiveSettings(db, getNode(db, 'pi4')).commands).toEqual([]);
  });

  it('refuses bad values naming the flag, and writes nothing', () => {
    const before = JSON.stringify(db.prepare('SELECT * FROM sleep_settings ORDER BY id').all());
    expect(() => writeOverrides(db, resolveScope(db, 'home'), { timeout: 600, grace: -1 })).toThrow('invalid --grace -1: must be whole seconds from 0 to 3600, e.g. 60');
    expect(() => writeOverrides(db, resolveScope(db, 'home'), { commands: [['ok'], []] })).toThrow(/^invalid --command/);
    expect(JSON.stringify(db.prepare('SELECT * FROM sleep_settings ORDER BY id').all())).toBe(before);
  });

  it('the inventory gives each node its effective settings as mko_sleep', () => {
    const inventory = buildInventory(db, { dataDir: dir });
    expect(inventory._meta.hostvars['pi4']?.['mko_sleep']).toEqual({
      sleepable: false, timeout: 600, interval: 60, cpu_load: 0.5, net_bytes_per_second: 100000, excluded_namespaces: ['kube-system', 'monitoring'],
      action: 'poweroff', drain: false, drain_timeout: 120, grace: 60, hooks_dir: '/etc/mko/autosleep/pre-sleep.d', commands: [],
    });
  });

  it('a control-plane node may be sleepable only while 2 other control-plane nodes stay awake', () => {
    expect(() => refuseUnsafeEnable(db, 'pi4')).not.toThrow(); // a worker
    expect(() => refuseUnsafeEnable(db, 'pi1')).not.toThrow();
    writeOverrides(db, resolveScope(db, 'pi1'), { sleepable: true });
    expect(() => refuseUnsafeEnable(db, 'pi2')).toThrow(/^cannot make pi2 sleepable: .*only 1 other control-plane node of cluster home stays awake \(pi3\); 2 must/);
    writeOverrides(db, resolveScope(db, 'pi1'), { sleepable: false });
    expect(() => refuseUnsafeEnable(db, 'pi2')).not.toThrow();
  });
});

describe('the node journal', () => {
  it('records the node\'s own entries once, as operations dated when they happened', () => {
    const node = getNode(db, 'pi4');
    const entries = [
      { id: 'a1', at: '2026-12-07T10:00:00Z', node: 'pi4', trigger: 'timer', action: 'poweroff', outcome: 'slept', reason: 'idle for 600 s', cordoned: true, drained: false },
      { id: 'a2', at: '2026-12-07T10:05:00Z', node: 'pi4', trigger: 'boot', action: 'wake', outcome: 'woke', reason: 'Ready and uncordoned', cordoned: false, drained: false, uncordoned: true },
      { id: 'a3', at: '2026-12-07T10:06:00Z', node: 'pi4', trigger: 'mko', action: 'poweroff', outcome: 'cancelled', reason: 'pre-sleep hook 10-backup exited 1', cordoned: false, drained: false },
      { garbage: true },
    ];
    const made = recordJournal(db, node, entries);
    expect(made).toHaveLength(2);
    const [sleepOp, wakeOp] = made.map((id) => getOperation(db, id));
    expect(sleepOp).toMatchObject({ kind: 'auto-sleep', target: 'pi4', status: 'succeeded', startedAt: '2026-12-07T10:00:00.000Z', finishedAt: '2026-12-07T10:00:00.000Z' });
    expect(sleepOp?.log).toBe('2026-12-07T10:00:00Z pi4 went to sleep (poweroff) by its own auto-sleep timer: idle for 600 s; cordoned: yes, drained: no\n');
    expect(wakeOp).toMatchObject({ kind: 'auto-wake', status: 'succeeded' });
    expect(recordJournal(db, node, entries)).toEqual([]); // seen already
    expect(db.prepare('SELECT count(*) AS n FROM sleep_journal WHERE node_id = ?').get(node.id)).toEqual({ n: 3 });
  });
});
