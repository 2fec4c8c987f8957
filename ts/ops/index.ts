export * from './operations.js';
export { exitMeaning } from './exit-meaning.js';
export { runPlaybook, observeRuns, type PlaybookRun, type PlaybookResult, type RunObserver } from './runner.js';
export { listEvents, type OperationEvent, type EventType } from './events.js';
export { followOperation, START, type FollowCursor, type FollowItem } from './follow.js';
export { setInvocation, currentInvocation, RETRY_OF_ENV, type Invocation } from './invocation.js';
export { makeRunDir, runDirFor, sweepRunDir } from './run-dir.js';
export { ownStart, processStart } from './process-identity.js';
export { cancelOperation, CANCEL_MEANING, type CancelResult } from './cancel.js';
