// check_results (migration 0011): each doctor run's results, kept with its operation.
import { writeTransaction, type Db } from '../db/index.js';
import type { CheckResult } from '../health/checks.js';

interface Row {
  check_id: string;
  scope: CheckResult['scope'];
  subject: string;
  severity: CheckResult['severity'];
  status: CheckResult['status'];
  summary: string;
  evidence: string;
  fix: string | null;
  cheap: number;
}

/** Store a run's results under its operation, in the order given. */
export function storeResults(db: Db, operationId: number, results: readonly CheckResult[]): void {
  const insert = db.prepare(
    `INSERT INTO check_results (operation_id, position, check_id, scope, subject, severity, status, summary, evidence, fix, cheap)
     VALUES (@operationId, @position, @id, @scope, @subject, @severity, @status, @summary, @evidence, @fix, @cheap)`,
  );
  writeTransaction(db, () => {
    results.forEach((r, position) => insert.run({ ...r, operationId, position, cheap: r.cheap ? 1 : 0 }));
  });
}

/** The stored results of one operation, in the order they were reported; [] for none. */
export function resultsOf(db: Db, operationId: number): CheckResult[] {
  const rows = db
    .prepare('SELECT check_id, scope, subject, severity, status, summary, evidence, fix, cheap FROM check_results WHERE operation_id = ? ORDER BY position')
    .all(operationId) as Row[];
  return rows.map((r) => ({
    id: r.check_id,
    scope: r.scope,
    subject: r.subject,
    severity: r.severity,
    status: r.status,
    summary: r.summary,
    evidence: r.evidence,
    fix: r.fix,
    cheap: r.cheap === 1,
  }));
}
