// The cluster_power_runs and cluster_power_steps tables: each shutdown's and startup's power
// sequence, per node, linked to the operation that ran it.
import { writeTransaction, type Db } from '../db/index.js';

export type PowerKind = 'shutdown' | 'startup';
export type ShutdownMode = 'graceful' | 'force';

/** What happened to one node in a run, by the controller's clock. */
export interface PowerStep {
  hostname: string;
  nodeId: number | null;
  /** Shutdown: the step it went in (1 first; a step's nodes go together). Startup: 1 control plane, 2 workers. Null: nothing done. */
  step: number | null;
  /** worker, standby, voter, control-plane, ups-host */
  part: string;
  datastoreRole: string;
  upsHost: boolean;
  outcome: string;
  /** Shutdown: stop requested. Startup: asked to power on. */
  requestedAt: string | null;
  /** Shutdown: powered off (its SSH port closed). Startup: SSH answered. */
  doneAt: string | null;
  /** Startup: wol, proxmox, power (someone switches it on) or none (it was up). */
  method: string;
  microk8s: string;
  drain: string;
  cordoned: boolean;
  /** Startup: Ready in the cluster's view at the end. */
  ready: boolean | null;
  detail: string;
}

export interface PowerRun {
  operationId: number;
  clusterId: number | null;
  kind: PowerKind;
  mode: ShutdownMode | null;
  check: boolean;
  beganAt: string | null;
  finishedAt: string | null;
  /** Startup: when every node was Ready, and seconds from beganAt (null: not Ready). */
  readyAt: string | null;
  readySeconds: number | null;
  kubectlHost: string | null;
  backupFile: string | null;
  backupDetail: string;
  drainTimeout: number | null;
  voters: string[];
  steps: PowerStep[];
}

interface RunRow {
  operation_id: number;
  cluster_id: number | null;
  kind: PowerKind;
  mode: ShutdownMode | null;
  check_mode: number;
  began_at: string | null;
  finished_at: string | null;
  ready_at: string | null;
  ready_seconds: number | null;
  kubectl_host: string | null;
  backup_file: string | null;
  backup_detail: string;
  drain_timeout: number | null;
  voters: string;
}

interface StepRow {
  hostname: string;
  node_id: number | null;
  step: number | null;
  part: string;
  datastore_role: string;
  ups_host: number;
  outcome: string;
  requested_at: string | null;
  done_at: string | null;
  method: string;
  microk8s: string;
  drain: string;
  cordoned: number;
  ready: number | null;
  detail: string;
}

const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);

/** Store a run and its steps (replacing what was stored for the operation), in one transaction. */
export function savePowerRun(db: Db, run: PowerRun): void {
  writeTransaction(db, () => {
    db.prepare('DELETE FROM cluster_power_runs WHERE operation_id = ?').run(run.operationId);
    db.prepare(
      `INSERT INTO cluster_power_runs (operation_id, cluster_id, kind, mode, check_mode, began_at, finished_at, ready_at, ready_seconds,
         kubectl_host, backup_file, backup_detail, drain_timeout, voters)
       VALUES (@operationId, @clusterId, @kind, @mode, @check, @beganAt, @finishedAt, @readyAt, @readySeconds,
         @kubectlHost, @backupFile, @backupDetail, @drainTimeout, @voters)`,
    ).run({
      operationId: run.operationId,
      clusterId: run.clusterId,
      kind: run.kind,
      mode: run.mode,
      check: run.check ? 1 : 0,
      beganAt: run.beganAt,
      finishedAt: run.finishedAt,
      readyAt: run.readyAt,
      readySeconds: run.readySeconds,
      kubectlHost: run.kubectlHost,
      backupFile: run.backupFile,
      backupDetail: run.backupDetail,
      drainTimeout: run.drainTimeout,
      voters: JSON.stringify(run.voters),
    });
    const insert = db.prepare(
      `INSERT INTO cluster_power_steps (operation_id, node_id, hostname, step, part, datastore_role, ups_host, outcome, requested_at, done_at,
         method, microk8s, drain, cordoned, ready, detail)
       VALUES (@operationId, @nodeId, @hostname, @step, @part, @datastoreRole, @upsHost, @outcome, @requestedAt, @doneAt,
         @method, @microk8s, @drain, @cordoned, @ready, @detail)`,
    );
    for (const s of run.steps) {
      insert.run({
        operationId: run.operationId,
        nodeId: s.nodeId,
        hostname: s.hostname,
        step: s.step,
        part: s.part,
        datastoreRole: s.datastoreRole,
        upsHost: s.upsHost ? 1 : 0,
        outcome: s.outcome,
        requestedAt: s.requestedAt,
        doneAt: s.doneAt,
        method: s.method,
        microk8s: s.microk8s,
        drain: s.drain,
        cordoned: s.cordoned ? 1 : 0,
        ready: flag(s.ready),
        detail: s.detail,
      });
    }
  });
}

const toStep = (r: StepRow): PowerStep => ({
  hostname: r.hostname,
  nodeId: r.node_id,
  step: r.step,
  part: r.part,
  datastoreRole: r.datastore_role,
  upsHost: r.ups_host === 1,
  outcome: r.outcome,
  requestedAt: r.requested_at,
  doneAt: r.done_at,
  method: r.method,
  microk8s: r.microk8s,
  drain: r.drain,
  cordoned: r.cordoned === 1,
  ready: r.ready === null ? null : r.ready === 1,
  detail: r.detail,
});

/** A run with its steps in the order they went (nodes nothing was done to last), or null. */
export function getPowerRun(db: Db, operationId: number): PowerRun | null {
  const row = db.prepare('SELECT * FROM cluster_power_runs WHERE operation_id = ?').get(operationId) as RunRow | undefined;
  if (!row) return null;
  const steps = db
    .prepare(
      `SELECT * FROM cluster_power_steps WHERE operation_id = ?
       ORDER BY step IS NULL, step, requested_at IS NULL, requested_at, hostname`,
    )
    .all(operationId) as StepRow[];
  return {
    operationId: row.operation_id,
    clusterId: row.cluster_id,
    kind: row.kind,
    mode: row.mode,
    check: row.check_mode === 1,
    beganAt: row.began_at,
    finishedAt: row.finished_at,
    readyAt: row.ready_at,
    readySeconds: row.ready_seconds,
    kubectlHost: row.kubectl_host,
    backupFile: row.backup_file,
    backupDetail: row.backup_detail,
    drainTimeout: row.drain_timeout,
    voters: JSON.parse(row.voters) as string[],
    steps: steps.map(toStep),
  };
}
