// Every scenario under molecule/, through the whole sequence against a fresh lab.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLabName } from '../test-support/lab.js';
import { openDb, type Db } from '../db/index.js';
import { listScenarios, runScenarios, type ScenarioResult } from './harness.js';

const isRoot = process.getuid?.() === 0;
const scenarios = listScenarios();

describe.skipIf(!isRoot)('molecule scenarios on the lab', () => {
  let dir: string;
  let db: Db;
  let results: ScenarioResult[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-scenarios-'));
    db = openDb(path.join(dir, 'mko.db'));
    results = await runScenarios(scenarios, {
      db,
      dbPath: path.join(dir, 'mko.db'),
      dataDir: dir,
      labName: testLabName('mol'),
      onProgress: (m) => process.stderr.write(`scenario: ${m}\n`),
    });
  }, 1_800_000);

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('found the scenarios', () => {
    expect(scenarios.map((s) => s.name)).toEqual(expect.arrayContaining(['hosts', 'hardware']));
  });

  it.each(scenarios.map((s) => s.name))('%s passes syntax, check, converge, idempotence and verify', (name) => {
    const result = results.find((r) => r.name === name);
    expect(result?.error, result?.error).toBeUndefined();
    expect(result?.steps).toMatchObject({ syntax: 'passed', check: 'passed', converge: 'passed', idempotence: 'passed' });
    expect(['passed', 'skipped']).toContain(result?.steps.verify);
  });
});
