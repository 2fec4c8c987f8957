import { rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { expect } from 'vitest';
import { mkoBin } from './cli.js';

/**
 * A test's lab name: `base` plus $MKO_TEST_LAB_SUFFIX, so that two checkouts (or worktrees) can run
 * the same lab test at once without their labs, bridges and namespaces colliding.
 */
export function testLabName(base: string): string {
  const suffix = process.env.MKO_TEST_LAB_SUFFIX ?? '';
  if (!/^[a-z0-9]{0,4}$/.test(suffix)) throw new Error(`MKO_TEST_LAB_SUFFIX "${suffix}": use up to 4 lower-case letters or digits`);
  return base + suffix;
}

/** Ask `probe` every `intervalMs` until it gives a value; fail naming `what` after `timeoutMs`. */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>, intervalMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The .dev file of the lab's dummy UPS (dummy-ups, dummy-loop mode) with this ups.status. */
export const labUpsText = (status: string): string =>
  ['battery.charge: 100', 'battery.runtime: 1800', 'input.voltage: 230', 'ups.load: 20', 'ups.mfr: mko', 'ups.model: dummy-ups', `ups.status: ${status}`, ''].join('\n');

/** After `lab down`: no network namespace of the lab is left, and /dev/null is still usable. */
export async function expectLabGone(lab: string): Promise<void> {
  const namespaces = (await execa('ip', ['netns', 'list'])).stdout;
  expect(namespaces).not.toMatch(new RegExp(`^mko-${lab}-`, 'm'));
  expect(statSync('/dev/null').mode & 0o777).toBe(0o666);
}

/**
 * The end of a lab test: `mko lab down` on the test's database (when it got one) must succeed,
 * the test's directory goes whatever happens, and nothing of the lab is left.
 */
export async function tearDownLab(lab: string, dbPath: string, dir: string): Promise<void> {
  try {
    if (dbPath) {
      const down = await execa(mkoBin, ['lab', 'down', '--name', lab], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', timeout: 300_000 });
      expect(down.exitCode, down.stderr).toBe(0);
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  await expectLabGone(lab);
}
