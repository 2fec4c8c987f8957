import { statSync } from 'node:fs';
import { execa } from 'execa';
import { expect } from 'vitest';

/** After `lab down`: no network namespace of the lab is left, and /dev/null is still usable. */
export async function expectLabGone(lab: string): Promise<void> {
  const namespaces = (await execa('ip', ['netns', 'list'])).stdout;
  expect(namespaces).not.toMatch(new RegExp(`^mko-${lab}-`, 'm'));
  expect(statSync('/dev/null').mode & 0o777).toBe(0o666);
}
