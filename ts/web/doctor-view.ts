// What the pages show of mko doctor: a run's stored results (check_results), worst first, on the
// cluster and node pages (their latest run) and on the run's own operation page. Pure data:
// templates/web/partials/doctor-results.hbs renders it, escaped.
import type { Db } from '../db/index.js';
import { hasFailures, resultsOf } from '../doctor/index.js';
import type { FleetNode } from '../fleet/index.js';
import { worstFirst, type CheckResult } from '../health/index.js';
import { latestOperation, type Operation } from '../ops/index.js';

export interface DoctorView {
  /** Where the part re-reads itself from (data-part). */
  url: string;
  /** The target a new run is started on, as the API's body sends it, and as the CLI names it. */
  body: string;
  target: string;
  operation: { id: number; target: string; status: string; startedAt: string; finishedAt: string | null; running: boolean } | null;
  healthy: boolean | null;
  counts: string;
  results: (CheckResult & { clusterScope: boolean; fixId: string })[];
}

function view(db: Db, url: string, target: string, operation: Operation | undefined, keep: (r: CheckResult) => boolean = () => true): DoctorView {
  const body = JSON.stringify({ target });
  if (!operation) return { url, body, target, operation: null, healthy: null, counts: '', results: [] };
  const running = operation.status === 'running';
  const results = running ? [] : resultsOf(db, operation.id).filter(keep);
  const counts = (['fail', 'warn', 'unknown', 'pass'] as const).map((s) => `${results.filter((r) => r.status === s).length} ${s}`).join(', ');
  return {
    url,
    body,
    target,
    operation: { id: operation.id, target: operation.target, status: operation.status, startedAt: operation.startedAt, finishedAt: operation.finishedAt, running },
    healthy: running ? null : !hasFailures(results),
    counts,
    results: worstFirst(results).map((r, row) => ({ ...r, clusterScope: r.scope === 'cluster', fixId: `doctor-fix-${operation.id}-${row}` })),
  };
}

/** One run's results, for its operation page. */
export const doctorRunView = (db: Db, operation: Operation): DoctorView =>
  view(db, `/fragments/operations/${operation.id}/doctor`, operation.target, operation);

/** The latest run on a cluster. */
export const clusterDoctorView = (db: Db, cluster: { id: number; name: string }): DoctorView =>
  view(db, `/fragments/clusters/${cluster.id}/doctor`, cluster.name, latestOperation(db, ['doctor'], [cluster.name]));

/** The latest run that checked a node: on the node alone, or on its cluster (then the node's own results). */
export function nodeDoctorView(db: Db, node: FleetNode): DoctorView {
  const operation = latestOperation(db, ['doctor'], node.cluster ? [node.hostname, node.cluster] : [node.hostname]);
  const own = (r: CheckResult): boolean => operation?.target === node.hostname || r.subject.toLowerCase() === node.hostname.toLowerCase();
  return view(db, `/fragments/nodes/${node.id}/doctor`, node.hostname, operation, own);
}
