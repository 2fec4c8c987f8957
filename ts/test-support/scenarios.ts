// The molecule scenarios as two test files that the test runner can run side by side, each on its
// own lab. Scenarios with the same number of hosts share one lab (reset between them), so the
// split is by host count: each file boots a lab once per host count it owns.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { testLabName } from './lab.js';
import { listScenarios, runScenarios, type ScenarioResult } from '../scenario/harness.js';

/** Which file runs a scenario, by its number of hosts (the heavy MicroK8s ones are spread over both). */
export const SCENARIO_SHARES = { a: [2, 3, 4], b: [5, 6] } as const;
export type ScenarioShare = keyof typeof SCENARIO_SHARES;

const isRoot = process.getuid?.() === 0;
/** A file's scenarios run in its set-up: 1,768 s and 1,772 s for the two files, side by side, on 2 cores (2026-12-07). */
const HOOK_MS = 3_600_000;

export function describeScenarios(share: ScenarioShare): void {
  const all = listScenarios();
  const hostCounts: readonly number[] = SCENARIO_SHARES[share];
  const scenarios = all.filter((s) => hostCounts.includes(s.hosts));

  describe.skipIf(!isRoot)(`molecule scenarios on the lab (those of ${hostCounts.join(', ')} hosts)`, () => {
    let dir: string;
    let db: Db;
    let results: ScenarioResult[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), `mko-scenarios-${share}-`));
      db = openDb(path.join(dir, 'mko.db'));
      results = await runScenarios(scenarios, {
        db,
        dbPath: path.join(dir, 'mko.db'),
        dataDir: dir,
        labName: testLabName(`ml${share}`),
        onProgress: (m) => process.stderr.write(`scenario ${share}: ${m}\n`),
        // Stop (and take the lab down) before the hook's own time-out would leave the lab running.
        signal: AbortSignal.timeout(HOOK_MS - 300_000),
      });
      // What each took, for the suite's time budget (the lab's boot counts to the first of a size).
      for (const r of results) process.stderr.write(`scenario ${share}: ${r.name} ${r.error ? 'FAILED' : 'passed'} in ${Math.round(r.seconds)} s\n`);
    }, HOOK_MS);

    afterAll(() => {
      db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every scenario under molecule/ belongs to one of the two files', () => {
      const owned: readonly number[] = Object.values(SCENARIO_SHARES).flat();
      expect(all.filter((s) => !owned.includes(s.hosts)).map((s) => `${s.name} (${s.hosts} hosts)`)).toEqual([]);
      expect(all.map((s) => s.name)).toEqual(expect.arrayContaining(['hosts', 'hardware']));
      expect(scenarios.length).toBeGreaterThan(0);
    });

    it.each(scenarios.map((s) => s.name))('%s passes syntax, check, converge, idempotence and verify', (name) => {
      const result = results.find((r) => r.name === name);
      expect(result?.error, result?.error).toBeUndefined();
      expect(result?.steps).toMatchObject({ syntax: 'passed', check: 'passed', converge: 'passed', idempotence: 'passed' });
      expect(['passed', 'skipped']).toContain(result?.steps.verify);
    });
  });
}
