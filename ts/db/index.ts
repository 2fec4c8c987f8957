export { findByRef, ID_REF, refuseNumericName } from './lookup.js';
export { openDb, type Db, type OpenOptions } from './open.js';
export {
  codeVersion,
  loadMigrations,
  migrate,
  pendingMigrations,
  schemaVersion,
  type Migration,
  type MigrateResult,
} from './migrate.js';
