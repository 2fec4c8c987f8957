export * from './operations.js';
export { exitMeaning, parseRecap } from './recap.js';
export { redactArgs, scrub, REDACTED } from './redact.js';
export { runPlaybook, type PlaybookRun, type PlaybookResult } from './runner.js';
export { makeRunDir, runDirFor, sweepRunDir } from './run-dir.js';
export { ownStart, processStart } from './process-identity.js';
export { cancelOperation, CANCEL_MEANING, type CancelResult } from './cancel.js';
export { readPidFile, removeOwnPidFile, stopPidFileProcess, writePidFile, type ServiceInfo } from './pid-file.js';
export { startInBackground, type Started } from './background.js';
