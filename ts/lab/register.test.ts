// unregisterLab on a real SQLite file: what `mko lab down` forgets in the database.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster, assignNode, findCluster, insertNode, listNodes, validateNodeInput, type NodeInput } from '../fleet/index.js';
import { addUps } from '../power/index.js';
import { secretsFile } from '../secrets/index.js';
import { configureWol } from '../wol/index.js';
import { unregisterLab } from './register.js';

let dir: string;
let db: Db;

const node = (input: Partial<NodeInput> & { hostname: string; address: string }) =>
  insertNode(db, validateNodeInput({ sshUser: 'mko', ...input }), null);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-lab-register-'));
  db = openDb(path.join(dir, 'mko.db'));
  addCluster(db, { name: 'drl', channel: '1.31/stable' });
  addCluster(db, { name: 'home', channel: '1.31/stable' });
  node({ hostname: 'drl-n1', address: '10.213.1.11', cluster: 'drl', labels: { lab: 'drl' } });
  node({ hostname: 'drl-n2', address: '10.213.1.12', cluster: 'drl', labels: { lab: 'drl' } });
  // The drill's UPS host: a lab host taken out of the lab's cluster.
  node({ hostname: 'drl-n3', address: '10.213.1.13', cluster: 'drl', labels: { lab: 'drl' } });
  assignNode(db, 'drl-n3', null);
  node({ hostname: 'pi-1', address: '192.168.1.21', cluster: 'home' });
  node({ hostname: 'spare', address: '192.168.1.22' });
  node({ hostname: 'other-lab-n1', address: '10.213.2.11', labels: { lab: 'other' } });
  // A machine of the user's that happens to carry the label.
  node({ hostname: 'pi-7', address: '192.168.1.27', labels: { lab: 'drl' } });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('unregisterLab', () => {
  it("removes the lab's cluster, its members and its hosts taken out of the cluster; nothing else, not even a node labelled lab=<name>", () => {
    expect(unregisterLab(db, dir, 'drl')).toEqual({ cluster: true, nodes: 3 });
    expect(findCluster(db, 'drl')).toBeUndefined();
    expect(listNodes(db).map((n) => n.hostname).sort()).toEqual(['other-lab-n1', 'pi-1', 'pi-7', 'spare']);
    expect(findCluster(db, 'home')).toBeDefined();
  });

  it("takes the lab nodes' secrets along and leaves the others'", () => {
    configureWol(db, dir, 'drl-n1', { secureon: '01:01:01:01' });
    addUps(db, dir, { name: 'drl-ups', host: 'drl-n3' });
    configureWol(db, dir, 'pi-1', { secureon: '02:02:02:02' });
    unregisterLab(db, dir, 'drl');
    const secrets = Object.values((JSON.parse(readFileSync(secretsFile(dir), 'utf8')) as { secrets: Record<string, { value: string }> }).secrets);
    expect(secrets.map((s) => s.value)).toEqual(['02:02:02:02']);
  });

  it('removes lab nodes whose cluster is already gone, and is a no-op the second time', () => {
    unregisterLab(db, dir, 'drl');
    node({ hostname: 'drl-n9', address: '10.213.1.19', labels: { lab: 'drl' } });
    expect(unregisterLab(db, dir, 'drl')).toEqual({ cluster: false, nodes: 1 });
    expect(unregisterLab(db, dir, 'drl')).toEqual({ cluster: false, nodes: 0 });
  });
});
