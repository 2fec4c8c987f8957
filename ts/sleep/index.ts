export * from './settings.js';
export { lastJournalEntry, recordJournal, type JournalEntry } from './journal.js';
export { applySleep, SLEEP_REPORT_STAT, setSleepable, sleepNow, sleepStatus, type SleepCheck, type SleepNodeStatus, type SleepNowResult, type SleepRunResult } from './run.js';
