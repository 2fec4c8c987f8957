export { collectHardware, wakeMac, type CollectOptions, type CollectResult, type HostCollectOutcome } from './collect.js';
export { hardwareReportSchema, parseReport, reportChecker, type Checked, type HardwareReport } from './schema.js';
export { diffReports, formatChange, USE_STEP_PERCENT, type HardwareChange } from './diff.js';
export { latestReport, listReports, reportBefore, reportById, storeReports, type StoredReport, type StoredReportInfo } from './store.js';
export { cpuBrief, disksBrief, formatBytes, formatMb, summarizeReport, usePercent } from './summary.js';
