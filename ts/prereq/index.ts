export {
  checkPrerequisites,
  parsePrereqReport,
  runPrerequisites,
  type HostPrereqOutcome,
  type PrereqCheck,
  type PrereqOptions,
  type PrereqReport,
  type PrereqResult,
} from './run.js';
