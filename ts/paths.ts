import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the directory holding package.json, whether we run from ts/ (tests) or dist/. */
export const projectRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('mko: cannot find the project root (package.json)');
    dir = parent;
  }
  return dir;
})();

/** Database path: explicit option, else MKO_DB, else data/mko.db under the project. */
export function resolveDbPath(explicit?: string): string {
  const chosen = explicit ?? process.env['MKO_DB'] ?? path.join(projectRoot, 'data', 'mko.db');
  return chosen === ':memory:' ? chosen : path.resolve(chosen);
}

/** Per-database state (keys, known_hosts, kubeconfigs) lives next to the database file. */
export function dataDirFor(dbPath: string): string {
  return dbPath === ':memory:' ? path.join(projectRoot, 'data') : path.dirname(dbPath);
}

export const migrationsDir = path.join(projectRoot, 'ts', 'db', 'migrations');
export const templatesDir = path.join(projectRoot, 'templates');
export const playbooksDir = path.join(projectRoot, 'playbooks');
export const inventoryScript = path.join(projectRoot, 'inventories', 'mko');
