// Ansible inventory-script protocol: `--list` prints every group with _meta.hostvars,
// `--host <name>` prints one host's variables. Kept free of the CLI's dependencies so that it
// starts fast: Ansible calls it on every run.
import { existsSync } from 'node:fs';
import { openDb } from '../db/index.js';
import { dataDirFor, resolveDbPath } from '../paths.js';
import { buildInventory, type Inventory } from './build.js';
import { FLEET_GROUPS } from './groups.js';
import { markInventory, markUnsafe } from './unsafe.js';

function emptyInventory(): Inventory {
  const groups = Object.fromEntries(Object.values(FLEET_GROUPS).map((g) => [g, { hosts: [] }]));
  return { _meta: { hostvars: {} }, all: { hosts: [], children: Object.keys(groups) }, ...groups };
}

function main(argv: string[]): number {
  const dbPath = resolveDbPath();
  const list = argv.includes('--list');
  const hostIndex = argv.indexOf('--host');
  if (!list && hostIndex < 0) {
    process.stderr.write('usage: inventories/mko --list | --host <hostname>\n');
    return 2;
  }
  // Listing an inventory must not create a database as a side effect.
  const inventory = existsSync(dbPath)
    ? (() => {
        const db = openDb(dbPath);
        try {
          return buildInventory(db, { dataDir: dataDirFor(dbPath) });
        } finally {
          db.close();
        }
      })()
    : emptyInventory();
  const output = list ? markInventory(inventory) : markUnsafe(inventory._meta.hostvars[argv[hostIndex + 1] ?? ''] ?? {});
  process.stdout.write(`${JSON.stringify(output)}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`mko inventory: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
