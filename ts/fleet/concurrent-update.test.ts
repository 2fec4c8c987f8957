// cluster update reads the cluster under the write lock: an update that read first and wrote
// after another writer's commit would silently undo that writer's change.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { addCluster, getCluster, updateCluster } from './index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-cluster-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('updateCluster against another writer', () => {
  it('keeps the change another process committed while it waited for the lock', async () => {
    const file = path.join(dir, 'mko.db');
    const db = openDb(file);
    addCluster(db, { name: 'home', priority: 100 });
    const marker = path.join(dir, 'locked');
    // Another writer (the sqlite3 shell) takes the write lock, changes the priority, holds it 1 s.
    const other = execa('sqlite3', [file], {
      input: `.timeout 5000\nBEGIN IMMEDIATE;\nUPDATE clusters SET priority = 7 WHERE name = 'home';\n.system touch ${marker}\n.system sleep 1\nCOMMIT;\n`,
    });
    while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
    // Blocks on the lock (busy timeout) until the other commits, then changes only the description.
    updateCluster(db, 'home', { description: 'rack in the garage' });
    await other;
    expect(getCluster(db, 'home')).toMatchObject({ description: 'rack in the garage', priority: 7 });
    db.close();
  });
});
