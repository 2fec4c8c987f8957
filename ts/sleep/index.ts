export * from './settings.js';
export { recordJournal, type JournalEntry } from './journal.js';
export { applySleep, setSleepable, sleepNow, sleepStatus, type SleepCheck, type SleepNodeStatus, type SleepNowResult, type SleepRunResult } from './run.js';
