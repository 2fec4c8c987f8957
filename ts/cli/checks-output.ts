// How check results (mko doctor, and a doctor run's operation) are printed: one row per check,
// worst first, then the fix of each one that did not pass, then the counts.
import { worstFirst, type CheckResult } from '../health/checks.js';
import { table } from './output.js';

export function checksReport(results: readonly CheckResult[]): string {
  const sorted = worstFirst(results);
  const rows = sorted.map((r) => [r.status.toUpperCase(), r.id, r.subject, r.summary]);
  const fixes = sorted.filter((r) => r.status !== 'pass' && r.fix).map((r) => `  ${r.id} (${r.subject}): ${r.fix}`);
  const counts = (['pass', 'warn', 'fail', 'unknown'] as const).map((s) => `${results.filter((r) => r.status === s).length} ${s}`).join(', ');
  return [table(['STATUS', 'CHECK', 'SUBJECT', 'SUMMARY'], rows), ...(fixes.length ? ['', 'Fixes:', ...fixes] : []), '', counts].join('\n');
}
