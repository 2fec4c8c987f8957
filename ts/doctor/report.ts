// The per-host file the diagnostics role writes (shape DiagnosticsReport), checked before it is
// believed: a report that does not match is one failed result for its host, never a crash.
import { CHECK_STATUSES, type DiagnosticsReport } from '../health/checks.js';
import { reportChecker } from '../hardware/index.js';

const checkSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*$' },
    scope: { enum: ['node', 'cluster'] },
    subject: { type: 'string' },
    severity: { enum: ['critical', 'warning', 'info'] },
    status: { enum: [...CHECK_STATUSES] },
    summary: { type: 'string' },
    evidence: { type: 'string' },
    fix: { type: ['string', 'null'] },
    cheap: { type: 'boolean' },
  },
  required: ['id', 'scope', 'subject', 'severity', 'status', 'summary', 'evidence', 'fix', 'cheap'],
  additionalProperties: false,
};

const reportSchema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    checkedAt: { type: 'string' },
    checks: { type: 'array', items: checkSchema },
  },
  required: ['host', 'checkedAt', 'checks'],
};

/** Parse and validate a diagnostics report file's text. */
export const parseDiagnosticsReport = reportChecker<DiagnosticsReport>(reportSchema);
