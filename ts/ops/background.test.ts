import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { startInBackground } from './background.js';
import { finishOperation, getOperation, startOperation } from './operations.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-background-'));
const db = openDb(path.join(dir, 'mko.db'));
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startInBackground', () => {
  it('answers the first operation id while the work runs on, and the work\'s result later', async () => {
    let finished = false;
    const started = await startInBackground(async () => {
      await pause(10);
      const first = startOperation(db, { kind: 'a', target: 't' });
      startOperation(db, { kind: 'b', target: 't' });
      await pause(200);
      finishOperation(db, first, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
      finished = true;
      return 'result';
    });
    expect(finished).toBe(false);
    expect(getOperation(db, started.operationId)).toMatchObject({ kind: 'a', status: 'running' });
    expect(await started.done).toBe('result');
    expect(getOperation(db, started.operationId).status).toBe('succeeded');
  });

  it('knows the operation even when the work records it before its first await', async () => {
    const started = await startInBackground(async () => startOperation(db, { kind: 'sync', target: 't' }));
    expect(await started.done).toBe(started.operationId);
  });

  it('rejects errors thrown before any operation, and work that starts none', async () => {
    await expect(startInBackground(async () => Promise.reject(new Error('bad input')))).rejects.toThrow('bad input');
    await expect(startInBackground(async () => 1)).rejects.toThrow(/without starting an operation/);
  });

  it('keeps two works started at once apart', async () => {
    const [a, b] = await Promise.all([
      startInBackground(async () => {
        await pause(30);
        return startOperation(db, { kind: 'x', target: 'a' });
      }),
      startInBackground(async () => {
        await pause(5);
        return startOperation(db, { kind: 'x', target: 'b' });
      }),
    ]);
    expect(getOperation(db, a.operationId).target).toBe('a');
    expect(getOperation(db, b.operationId).target).toBe('b');
  });
});
