import { openDb, codeVersion, migrate, pendingMigrations, schemaVersion } from '../../db/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { existingDbPath, type GlobalArgs } from '../context.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;

/** Migration commands open the database without migrating it, so they can look before they leap. */
function withRawDb<T>(argv: GlobalArgs, fn: (db: ReturnType<typeof openDb>, file: string) => T): T {
  const file = existingDbPath(argv);
  const db = openDb(file, { migrate: false });
  try {
    return fn(db, file);
  } finally {
    db.close();
  }
}

const status = command<Args<{ json?: boolean }>>({
  command: 'status',
  describe: 'Schema version of the database and migrations still to apply',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 migrate status', 'Is the database up to date?')),
  handler: (argv) =>
    withRawDb(argv, (db, file) => {
      const pending = pendingMigrations(db);
      const result = { database: file, version: schemaVersion(db), latest: codeVersion(), pending: pending.map((m) => `${m.version}_${m.name}`) };
      if (argv.json) return printJson(result);
      print(`${file}: schema version ${result.version} of ${result.latest}`);
      print(pending.length === 0 ? 'Up to date' : table(['PENDING', 'NAME'], pending.map((m) => [m.version, m.name])));
    }),
});

const run = command<Args<{ 'dry-run'?: boolean }>>({
  command: 'run',
  describe: 'Apply pending migrations (a backup copy of the database is made first)',
  builder: builder<Args<{ 'dry-run'?: boolean }>>((y) =>
    y.option('dry-run', { type: 'boolean', describe: 'List what would be applied, change nothing' }).example('$0 migrate run --dry-run', 'What would change'),
  ),
  handler: (argv) =>
    withRawDb(argv, (db, file) => {
      const result = migrate(db, { dryRun: argv['dry-run'] ?? false, backup: file === ':memory:' ? undefined : file });
      if (result.applied.length === 0) return print(`Up to date at schema version ${result.from}`);
      const names = result.applied.map((m) => `${m.version}_${m.name}`).join(', ');
      if (argv['dry-run']) return print(`Would apply: ${names}`);
      print(`Applied ${names}: schema version ${result.from} -> ${result.to}`);
      if (result.backupPath) print(`Backup: ${result.backupPath}`);
    }),
});

export const migrateCommand = group('migrate', groupDescription('migrate'), [status, run], ['$0 migrate status', 'Schema version']);
