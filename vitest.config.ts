import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Test files that hold a time bound (a watcher reacting within 1.5 s, a page updating within 2 s,
// timers on a real clock): they run after the rest, one at a time, so that nothing else shares the
// machine with them.
const ALONE = [
  'ts/power/drill.test.ts',
  'ts/power/watcher.test.ts',
  'ts/power/engine.test.ts',
  'ts/web/browser.test.ts',
  'ts/web/pages.test.ts',
  'ts/nut/nut.test.ts',
  'ts/cli/concurrency.test.ts',
  'ts/wol/wol.test.ts',
];

// The longest files of the rest, longest first (seconds measured one at a time on a quiet 2-core
// machine). Two workers take files from the front: starting the long ones first keeps one worker
// from being left with a 10-minute file at the end while the other idles.
const LONGEST = [
  'ts/scenario/scenarios-b.test.ts', // 4 MicroK8s scenarios, each forming a cluster: the longest
  'ts/scenario/scenarios-a.test.ts', // 3 MicroK8s scenarios and 6 light ones
  'ts/cluster/power.test.ts', // 610
  'ts/doctor/doctor.test.ts', // 568 at load 11
  'ts/sleep/lab.test.ts',
  'ts/health/watch-lab.test.ts', // 383 at load 11
  'ts/cluster/cluster.test.ts', // 375
  'ts/wol/lab.test.ts', // 217
  'ts/health/health-unit.test.ts', // 187 at load 11
  'ts/power/watcher-unit.test.ts', // 92
  'ts/web/web-unit.test.ts', // 83
  'ts/proxmox/proxmox.test.ts', // 63
  'ts/web/api-secrets.test.ts', // 62
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = LONGEST.findIndex((name) => f.moduleId.endsWith(name));
      return i === -1 ? LONGEST.length : i;
    };
    const rest = await super.sort(files.filter((f) => rank(f) === LONGEST.length));
    return [...files.filter((f) => rank(f) < LONGEST.length).sort((a, b) => rank(a) - rank(b)), ...rest];
  }
}

export default defineConfig({
  test: {
    // Two files at a time: lab tests spend much of their time waiting on SSH, boots and power-offs,
    // and each lab has its own name, subnet, bridge and namespaces, so two run side by side.
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['ts/test-support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    sequence: { sequencer: LongestFirst },
    projects: [
      { extends: true, test: { name: 'shared', include: ['ts/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        // fileParallelism: false alone did not stop two files of this project overlapping (vitest
        // 3.2); one fork for the project does.
        test: { name: 'alone', include: ALONE, fileParallelism: false, maxWorkers: 1, poolOptions: { forks: { singleFork: true } }, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
