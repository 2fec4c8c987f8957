// Runs once before any test file: build dist/ here, so that two files starting side by side do not
// both run tsc into the same dist/ while the other's CLI runs from it (buildCli is then a no-op).
import { buildCli } from './cli.js';

export default async function setup(): Promise<void> {
  await buildCli();
}
