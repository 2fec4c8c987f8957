import { defineConfig } from 'vitest/config';

// Test files that hold a time bound (a watcher reacting within 1.5 s, a page updating within 2 s,
// timers on a real clock): they run after the rest, so that nothing a lab test left behind (a host
// still powering off, a slow teardown) shares the machine with them.
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

export default defineConfig({
  test: {
    // Lab and playbook tests share one machine's CPU: files run one at a time. Labs could run side by
    // side (own name, subnet, bridge, namespaces); two workers would need maxWorkers: 2 here, and
    // have not been measured yet.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      { extends: true, test: { name: 'shared', include: ['ts/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
