// UPSes and power: the UPS registry, event detection, the watcher, the rules engine and the
// actions it runs, and management of NUT on the nodes (nut role) and live reads from upsd.
//
// Why this stays in TypeScript, when mko's behaviour otherwise lives in Ansible roles: the watcher
// is a long-lived process that polls upsd every second and keeps its state (detector state, due
// times of delayed actions) in the database, so its timers survive a restart and re-arm where they
// were. Ansible runs to completion and exits; it has no process that stays up to poll, nor timers
// that outlive a run. The rules engine decides in that process, from each event as it arrives,
// which playbook to run on which cluster and when (delays, cancellation on power_restored, one
// cluster action at a time, priorities): the playbooks it starts (shutdown.yml, startup.yml,
// wake.yml, scale.yml) are where the fleet is actually changed. NUT on the nodes is the nut role's.
export { FleetActionRunner, notifyEnvironment, type FleetRunnerOptions } from './actions.js';
export { DEFAULT_DEAD_TIME_MS, EVENT_KINDS, initialState, restoreState, statusTokens, step, type DetectedEvent, type DetectorConfig, type DetectorState, type Reading, type UpsEventKind } from './detect.js';
export { RulesEngine, type ActionRequest, type ActionResult, type ActionRunner, type EngineOptions, type ResumeReport } from './engine.js';
export {
  addCommandFor,
  nutServices,
  parseScannerOutput,
  restartNut,
  scanNode,
  setupUps,
  statusWords,
  testUps,
  upsLiveStatus,
  type ScanResult,
  type ServicesResult,
  type UpsLiveStatus,
  type UpsTestResult,
} from './manage.js';
export { monitorStatus, pidFileFor, runMonitor, runningMonitor, stopMonitor, type MonitorInfo, type MonitorStatus } from './monitor.js';
export { ACTIONS, createRule, deleteRule, getRule, listRules, ruleFlags, ruleSchema, setRuleEnabled, updateRule, workloadText, type PowerActionKind, type PowerRule, type RuleInput, type Workload } from './rules.js';
export { getEvent, getWatchState, listActions, listEvents, listSamples, type ActionStatus, type PowerAction, type UpsEvent, type UpsReading } from './store.js';
export { addUps, findUps, getUps, listUpses, parseDriverOptions, removeUps, updateUps, upsFlags, upsInputSchema, upsUpdateSchema, type Ups, type UpsChanges, type UpsInput } from './ups.js';
export { describeEvent, Watcher, type WatcherOptions } from './watcher.js';
