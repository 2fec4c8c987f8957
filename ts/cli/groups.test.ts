// The top-level group table and lazy loading: each group's module agrees with its table entry,
// and the built mko, given an ordinary command, loads that one group and no lab or scenario code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { GROUPS } from './groups.js';

let dir: string;
let env: Record<string, string>;
let hooks: string;

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-groups-'));
  env = { MKO_DB: path.join(dir, 'mko.db') };
  expect((await execa(mkoBin, ['cluster', 'add', 'home', '--default'], { env })).exitCode).toBe(0);
  // A module hook that appends every file module the process loads to $MKO_TEST_LOADED, at once
  // (the hooks run in their own thread: a stream write could still be queued at exit).
  const hook = path.join(dir, 'hook.mjs');
  writeFileSync(hook, "import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { if (url.startsWith('file:')) appendFileSync(process.env.MKO_TEST_LOADED, `${url}\\n`); return next(url, context); }\n");
  hooks = path.join(dir, 'register.mjs');
  writeFileSync(hooks, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The project's own modules (relative to dist/) that `mko <args>` loads, and the packages whose
 * ES modules it loads, as `node_modules/<name>`.
 */
async function loadedBy(args: string[]): Promise<string[]> {
  const list = path.join(dir, `loaded-${args.join('-')}.txt`);
  writeFileSync(list, '');
  const result = await execa(process.execPath, ['--import', hooks, path.join(projectRoot, 'dist', 'cli', 'main.js'), ...args], { env: { ...env, MKO_TEST_LOADED: list }, reject: false });
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  const dist = `${pathToFileURL(path.join(projectRoot, 'dist')).href}/`;
  const urls = readFileSync(list, 'utf8').split('\n');
  const packages = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name) => name !== undefined);
  return [...urls.filter((url) => url.startsWith(dist)).map((url) => url.slice(dist.length)), ...new Set(packages.map((name) => `node_modules/${name}`))];
}

describe('command groups', () => {
  it.each(GROUPS.map((g) => [g.name, g] as const))('%s: its module is the group the table names and describes', async (name, entry) => {
    const module = await entry.load();
    // A group with a default command (`mko web` serves) takes its sub-command optionally.
    // A single command (`mko doctor <target>`) has its usage in the table.
    expect(module.command).toBe(name === 'web' ? 'web [command]' : (entry.usage ?? `${name} <command>`));
    expect(module.describe).toBe(entry.describe);
  });

  it.each([
    ['node', 'list'],
    ['cluster', 'list'],
    ['operation', 'list'],
    ['proxmox', 'list'],
    ['migrate', 'status'],
  ])('mko %s %s loads its group alone, and no lab or scenario code', async (name, command) => {
    const loaded = await loadedBy([name, command]);
    expect(loaded).toContain(`cli/commands/${name}.js`);
    expect(loaded.filter((m) => m.startsWith('cli/commands/'))).toEqual([`cli/commands/${name}.js`]);
    expect(loaded.filter((m) => m.startsWith('lab/') || m.startsWith('scenario/'))).toEqual([]);
    // Of the packages loaded as ES modules, SQLite alone: execa (a hundred modules) is loaded by the
    // runner when it runs a playbook. (yargs and ajv are loaded with require: the hook sees neither.)
    expect(loaded.filter((m) => m.startsWith('node_modules/'))).toEqual(['node_modules/better-sqlite3']);
  });

  it('mko --help lists every group without loading any', async () => {
    const loaded = await loadedBy(['--help']);
    expect(loaded.filter((m) => m.startsWith('cli/commands/'))).toEqual([]);
  });
});
