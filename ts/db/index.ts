export { findByRef, ID_REF, refuseNumericName } from './lookup.js';
export { BUSY_TIMEOUT_MS, openDb, type Db, type OpenOptions } from './open.js';
export { nodeSecretHandles, SECRET_COLUMNS } from './secret-handles.js';
export { writeTransaction } from './transaction.js';
export { writeStamp } from './write-stamp.js';
export {
  codeVersion,
  loadMigrations,
  migrate,
  pendingMigrations,
  schemaVersion,
  type Migration,
  type MigrateResult,
} from './migrate.js';
