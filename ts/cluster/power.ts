// Powering a whole cluster down and up, each one playbook run recorded as one operation:
// playbooks/shutdown.yml (extra vars mko_target, shutdown_mode, shutdown_drain_timeout) and
// playbooks/startup.yml (mko_target). The power rules (ts/power) call these.
import type { Db } from '../db/index.js';
import { getCluster } from '../fleet/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { runPlaybook, type PlaybookResult } from '../ops/index.js';

export interface ClusterPowerOptions {
  dbPath: string;
  dataDir: string;
  signal?: AbortSignal;
  onOutput?: (chunk: string) => void;
}

export interface ShutdownOptions extends ClusterPowerOptions {
  mode: 'graceful' | 'force';
  /** Seconds each node's drain may take (graceful). */
  drainTimeoutSeconds?: number;
}

function passThrough(options: ClusterPowerOptions) {
  return {
    dbPath: options.dbPath,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
  };
}

export function shutdownCluster(db: Db, clusterRef: string, options: ShutdownOptions): Promise<PlaybookResult> {
  const cluster = getCluster(db, clusterRef);
  return runPlaybook(db, {
    kind: 'shutdown',
    target: cluster.name,
    playbook: 'shutdown.yml',
    extraVars: {
      mko_target: clusterGroup(cluster.name),
      shutdown_mode: options.mode,
      ...(options.drainTimeoutSeconds !== undefined ? { shutdown_drain_timeout: options.drainTimeoutSeconds } : {}),
    },
    ...passThrough(options),
  });
}

export function startupCluster(db: Db, clusterRef: string, options: ClusterPowerOptions): Promise<PlaybookResult> {
  const cluster = getCluster(db, clusterRef);
  return runPlaybook(db, {
    kind: 'startup',
    target: cluster.name,
    playbook: 'startup.yml',
    extraVars: { mko_target: clusterGroup(cluster.name) },
    ...passThrough(options),
  });
}
