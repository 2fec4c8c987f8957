// Health history (mko health): the latest state of each cheap check, the events recorded when one
// changes status, the notifiers those events go to, and the watch that runs the checks.
export { CHECK_STATUSES, worstFirst, worstStatus, type CheckResult, type CheckSeverity, type CheckStatus, type DiagnosticsReport } from './checks.js';
export { oneResultPerCheck, statusChanges, type StatusChange } from './changes.js';
export { parseInterval } from './duration.js';
export { collectAndRecord, hardwareResults, HARDWARE_CHECK, type RecordedCollect } from './hardware.js';
export {
  addNotifier,
  deliveriesOf,
  findNotifier,
  getNotifier,
  listNotifiers,
  notifierFlags,
  notifierInputSchema,
  removeNotifier,
  type Delivery,
  type Notifier,
  type NotifierInput,
} from './notifiers.js';
export { deliver, eventText, messageOf, notifyEvents, type DeliveryResult, type HealthMessage } from './notify.js';
export { getEvent, latestStates, listHealthEvents, recordResults, subjectHealth, type HealthEvent, type HealthState, type HistoryFilter, type SubjectHealth } from './store.js';
export { healthPass, passText, watchHealth, type HealthPass, type TargetPass, type WatchOptions } from './watch.js';
