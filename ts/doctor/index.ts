export { CHECK_RUN_KINDS, hasFailures, isCheckRun, runDoctor, type CheckRunKind, type DoctorOptions, type DoctorRun } from './run.js';
export { resultsOf, storeResults } from './store.js';
export { parseDiagnosticsReport } from './report.js';
export { fetchBundle, type Bundle } from './bundle.js';
