// UPSes and power: the UPS registry, event detection, the watcher, the rules engine and the
// actions it runs, and management of NUT on the nodes (nut role) and live reads from upsd.
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
