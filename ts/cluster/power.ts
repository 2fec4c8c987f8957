// Powering a whole cluster down and up, each one playbook run recorded as one operation:
// playbooks/shutdown.yml (extra vars mko_target, shutdown_mode, shutdown_drain_timeout) and
// playbooks/startup.yml (mko_target, and the wake secrets of ts/wol's wakeSecrets: the wol role's
// wake entry point powers the nodes on). The power rules (ts/power) call these. Each run leaves one
// JSON report per node and one for the run in a private directory; they are stored with the
// operation (cluster_power_runs, cluster_power_steps) and returned.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { getCluster, listNodes, type Cluster, type FleetNode } from '../fleet/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { makeRunDir, readReportFile, runFields, runPlaybook, type CheckMode, type PlaybookResult, type RunContext } from '../ops/index.js';
import { dataDirFor } from '../paths.js';
import { validate } from '../validate/index.js';
import { wakeSecrets } from '../wol/index.js';
import { getPowerRun, savePowerRun, type PowerKind, type PowerRun, type PowerStep, type ShutdownMode } from './power-store.js';

/** Check mode says what would happen and powers nothing off or on. */
export type ClusterPowerOptions = RunContext & CheckMode;

export interface ShutdownOptions extends RunContext, CheckMode {
  mode: ShutdownMode;
  /** Seconds each worker's drain may take (graceful); 0 skips the drain. */
  drainTimeoutSeconds?: number;
}

/** The playbook run, and the power sequence it recorded (null when it stopped before writing one). */
export interface PowerResult extends PlaybookResult {
  power: PowerRun | null;
}

const MAX_DRAIN_TIMEOUT_S = 86_400;
const RUN_REPORT = '_run.json';

function passThrough(options: ClusterPowerOptions) {
  return { ...runFields(options), ...(options.check ? { check: true } : {}) };
}

function clusterAndNodes(db: Db, ref: string): { cluster: Cluster; nodes: FleetNode[] } {
  const cluster = getCluster(db, ref);
  const nodes = listNodes(db, { cluster: cluster.name });
  if (nodes.length === 0) throw new UserError(`cluster ${cluster.name} has no nodes: nothing to power`);
  return { cluster, nodes };
}

// What the playbooks write is read defensively: a field of the wrong type is taken as missing.
type Json = Record<string, unknown>;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const textOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const yes = (v: unknown): boolean => v === true;

function stepOf(kind: PowerKind, node: FleetNode, report: Json | null): PowerStep {
  if (!report) {
    return {
      hostname: node.hostname,
      nodeId: node.id,
      step: null,
      part: node.role,
      datastoreRole: '',
      upsHost: false,
      outcome: 'no report',
      requestedAt: null,
      doneAt: null,
      method: '',
      microk8s: '',
      drain: '',
      cordoned: false,
      ready: null,
      detail: 'the playbook wrote no report for it (see the operation log)',
    };
  }
  const shutdown = kind === 'shutdown';
  const part = text(report['part']);
  return {
    hostname: node.hostname,
    nodeId: node.id,
    step: shutdown ? numberOrNull(report['step']) : part === 'worker' ? 2 : 1,
    part,
    datastoreRole: text(report['datastore_role']),
    upsHost: yes(report['ups_host']),
    outcome: text(report['outcome']) || 'unknown',
    requestedAt: textOrNull(shutdown ? report['stop_requested_at'] : report['asked_at']),
    doneAt: textOrNull(shutdown ? report['powered_off_at'] : report['up_at']),
    method: text(report['method']),
    microk8s: text(report['microk8s']),
    drain: text(report['drain']),
    cordoned: yes(report['cordoned']),
    ready: shutdown ? null : yes(report['ready']),
    detail: text(report['detail']),
  };
}

/** The reports a run left in dir, as a PowerRun; null when the run wrote none (it stopped early). */
export function readPowerReports(dir: string, kind: PowerKind, nodes: FleetNode[], ids: { operationId: number; clusterId: number }): PowerRun | null {
  const run = readReportFile(path.join(dir, RUN_REPORT));
  if (!run || run['kind'] !== kind) return null;
  const backup = run['backup'] !== null && typeof run['backup'] === 'object' ? (run['backup'] as Json) : null;
  const mode = run['mode'];
  return {
    operationId: ids.operationId,
    clusterId: ids.clusterId,
    kind,
    mode: mode === 'graceful' || mode === 'force' ? mode : null,
    check: yes(run['check']),
    beganAt: textOrNull(run['began_at']),
    finishedAt: textOrNull(run['finished_at']),
    readyAt: textOrNull(run['ready_at']),
    readySeconds: numberOrNull(run['ready_seconds']),
    kubectlHost: textOrNull(run['kubectl_host']),
    backupFile: backup ? textOrNull(backup['file']) : null,
    backupDetail: backup ? text(backup['detail']) : '',
    drainTimeout: numberOrNull(run['drain_timeout']),
    voters: Array.isArray(run['voters']) ? run['voters'].filter((v): v is string => typeof v === 'string') : [],
    steps: nodes.map((node) => stepOf(kind, node, readReportFile(path.join(dir, `${node.hostname}.json`)))),
  };
}

/** Run a power playbook with a private report directory; store and return what it reported. */
async function runPower(
  db: Db,
  kind: PowerKind,
  ref: string,
  options: ClusterPowerOptions,
  extra: { reportDirVar: string; extraVars: Record<string, unknown>; secrets?: string[] },
): Promise<PowerResult> {
  const { cluster, nodes } = clusterAndNodes(db, ref);
  const dir = makeRunDir(dataDirFor(options.dbPath), kind);
  try {
    const result = await runPlaybook(db, {
      kind,
      target: cluster.name,
      playbook: `${kind}.yml`,
      extraVars: { mko_target: clusterGroup(cluster.name), ...extra.extraVars, [extra.reportDirVar]: dir },
      ...(extra.secrets ? { secrets: extra.secrets } : {}),
      ...passThrough(options),
    });
    const run = readPowerReports(dir, kind, nodes, { operationId: result.operationId, clusterId: cluster.id });
    if (run) savePowerRun(db, run);
    return { ...result, power: run ? getPowerRun(db, result.operationId) : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Power the cluster off in order (graceful: backup, cordon, drain first; force: at once), workers
 * before the control plane, voters one at a time, the UPS host last.
 */
export function shutdownCluster(db: Db, clusterRef: string, options: ShutdownOptions): Promise<PowerResult> {
  if (options.mode !== 'graceful' && options.mode !== 'force') throw new UserError(`invalid shutdown mode ${quote(options.mode)}: must be graceful or force`);
  if (options.drainTimeoutSeconds !== undefined) {
    validate(
      { type: 'object', properties: { drainTimeout: { type: 'integer', minimum: 0, maximum: MAX_DRAIN_TIMEOUT_S, hint: `whole seconds from 0 (no drain) to ${MAX_DRAIN_TIMEOUT_S}` } } },
      { drainTimeout: options.drainTimeoutSeconds },
      { drainTimeout: '--drain-timeout' },
    );
    if (options.mode === 'force') throw new UserError('--drain-timeout applies to a graceful shutdown only: force does not drain');
  }
  return runPower(db, 'shutdown', clusterRef, options, {
    reportDirVar: 'shutdown_report_dir',
    extraVars: {
      shutdown_mode: options.mode,
      ...(options.drainTimeoutSeconds !== undefined ? { shutdown_drain_timeout: options.drainTimeoutSeconds } : {}),
    },
  });
}

/**
 * Power the cluster on in order: the control plane together (Wake-on-LAN with each node's
 * SecureOn password, or its Proxmox VMs with the API access kept by mko proxmox add), MicroK8s
 * started and its voters back, then the workers, then every node Ready and uncordoned. A running
 * cluster is left as it is.
 */
export function startupCluster(db: Db, clusterRef: string, options: ClusterPowerOptions): Promise<PowerResult> {
  const { nodes } = clusterAndNodes(db, clusterRef);
  const { extraVars, secrets } = wakeSecrets(db, options.dataDir, nodes, options.onWarning);
  return runPower(db, 'startup', clusterRef, options, { reportDirVar: 'startup_report_dir', extraVars, secrets });
}
