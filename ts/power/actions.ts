// What the power rules' actions do to the fleet. Each one is a recorded operation: notify and
// wake_on_lan record their own, the others are playbook runs (scale.yml here; shutdown.yml and
// startup.yml through ts/cluster/power.ts).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { shutdownCluster, startupCluster } from '../cluster/power.js';
import type { Db } from '../db/index.js';
import { clusterGroup } from '../inventory/groups.js';
import { appendLog, finishOperation, makeRunDir, runPlaybook, startOperation, type PlaybookResult, type RunContext } from '../ops/index.js';
import { dataDirFor } from '../paths.js';
import { wakeCluster } from '../wol/index.js';
import type { ActionRequest, ActionResult, ActionRunner } from './engine.js';
import { workloadText, type Workload } from './rules.js';
import { forgetReplicas, rememberedReplicas, rememberReplicas, type ScaledWorkload } from './store.js';

export interface FleetRunnerOptions extends Pick<RunContext, 'dbPath' | 'dataDir'> {
  db: Db;
  log?: (line: string) => void;
}

const DEFAULT_COMMAND_TIMEOUT_S = 60;

/** The environment a notify command sees: the event and what the UPS said. */
export function notifyEnvironment(request: ActionRequest): Record<string, string> {
  const { event, rule, cluster, action } = request;
  const text = (value: number | string | null): string => (value === null ? '' : String(value));
  return {
    MKO_EVENT: event.kind,
    MKO_EVENT_ID: String(event.id),
    MKO_EVENT_AT: event.at,
    MKO_EVENT_DETAIL: event.detail,
    MKO_UPS: event.ups,
    MKO_CLUSTER: cluster.name,
    MKO_RULE: rule.name,
    MKO_ACTION_ID: String(action.id),
    MKO_STATUS: text(event.status),
    MKO_CHARGE: text(event.charge),
    MKO_RUNTIME: text(event.runtime),
    MKO_THRESHOLD: text(event.threshold),
  };
}

function fromPlaybook(result: PlaybookResult, what: string): ActionResult {
  return {
    status: result.status === 'succeeded' ? 'succeeded' : result.status === 'cancelled' ? 'cancelled' : 'failed',
    operationId: result.operationId,
    detail: `${what}: ${result.exitMeaning}`,
  };
}

/** The ActionRunner the watcher uses: the real thing, on the real fleet. */
export class FleetActionRunner implements ActionRunner {
  constructor(private readonly options: FleetRunnerOptions) {}

  async run(request: ActionRequest, signal: AbortSignal): Promise<ActionResult> {
    const { db, dbPath, dataDir } = this.options;
    const ctx: RunContext = { dbPath, dataDir, signal };
    const { rule, cluster } = request;
    switch (rule.action) {
      case 'notify':
        return this.notify(request, signal);
      case 'scale_down':
      case 'scale_up':
        return this.scale(request, rule.action === 'scale_down' ? 'down' : 'up', signal);
      case 'graceful_shutdown':
      case 'force_shutdown': {
        const mode = rule.action === 'graceful_shutdown' ? 'graceful' : 'force';
        const result = await shutdownCluster(db, cluster.name, {
          ...ctx,
          mode,
          ...(rule.options.drainTimeout !== undefined ? { drainTimeoutSeconds: rule.options.drainTimeout } : {}),
        });
        return fromPlaybook(result, `${mode} shutdown of ${cluster.name}`);
      }
      case 'startup':
        return fromPlaybook(await startupCluster(db, cluster.name, ctx), `startup of ${cluster.name}`);
      case 'wake_on_lan': {
        const result = await wakeCluster(db, cluster.name, { ...ctx, onWarning: (line) => this.options.log?.(`wake ${cluster.name}: ${line}`) });
        const failed = result.nodes.filter((n) => n.outcome === 'failed').map((n) => n.host);
        return {
          status: result.ok ? 'succeeded' : 'failed',
          operationId: result.operationId,
          detail: result.ok ? `woke ${result.nodes.length} node(s) of ${cluster.name}` : `could not wake ${failed.join(', ')}`,
        };
      }
    }
  }

  /** Run the rule's command with /bin/sh -c and the event in its environment; its output is the operation's log. */
  private async notify(request: ActionRequest, signal: AbortSignal): Promise<ActionResult> {
    const { db } = this.options;
    const command = request.rule.options.command ?? '';
    const timeout = (request.rule.options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000;
    const operationId = startOperation(db, { kind: 'power:notify', target: request.cluster.name, args: ['/bin/sh', '-c', command] });
    request.linkOperation(operationId);
    appendLog(db, operationId, `${request.event.kind} on UPS ${request.event.ups} (event ${request.event.id}), rule ${request.rule.name}: ${command}\n`);
    const child = await execa('/bin/sh', ['-c', command], {
      env: notifyEnvironment(request),
      all: true,
      reject: false,
      stdin: 'ignore',
      timeout,
      cancelSignal: signal,
    });
    appendLog(db, operationId, child.all ? `${child.all}\n` : '');
    const ok = child.exitCode === 0;
    const meaning = child.timedOut
      ? `stopped after ${timeout / 1000} s`
      : child.isCanceled
        ? 'stopped: the watcher is going away'
        : ok
          ? 'the command succeeded'
          : `the command exited with ${child.exitCode ?? child.signal ?? '?'}`;
    finishOperation(db, operationId, {
      status: ok ? 'succeeded' : child.isCanceled ? 'cancelled' : 'failed',
      exitCode: child.exitCode ?? null,
      exitMeaning: meaning,
    });
    return { status: ok ? 'succeeded' : child.isCanceled ? 'cancelled' : 'failed', operationId, detail: meaning };
  }

  /**
   * scale_down: read each workload's replicas, keep them, scale to 0. scale_up: put back what was
   * kept; a workload with nothing kept is left alone. Through playbooks/scale.yml on the cluster's
   * first control-plane node.
   */
  private async scale(request: ActionRequest, direction: 'down' | 'up', signal: AbortSignal): Promise<ActionResult> {
    const { db, dbPath } = this.options;
    const { cluster, rule, action } = request;
    const wanted: Workload[] = rule.options.workloads ?? [];
    const kept = rememberedReplicas(db, cluster.id);
    const key = (w: { namespace: string; kind: string; name: string }) => `${w.namespace}/${w.kind}/${w.name}`;
    const workloads: ScaledWorkload[] =
      direction === 'down'
        ? wanted.map((w) => ({ ...w, replicas: 0 }))
        : wanted.flatMap((w) => kept.filter((k) => key(k) === key(w)));
    const skipped = direction === 'up' ? wanted.filter((w) => !kept.some((k) => key(k) === key(w))).map(workloadText) : [];
    if (workloads.length === 0) {
      return { status: 'succeeded', operationId: null, detail: `nothing to scale up: no replica counts kept for ${skipped.join(', ')}` };
    }
    const dir = makeRunDir(dataDirFor(dbPath), 'scale');
    try {
      const result = await runPlaybook(db, {
        kind: `power:scale-${direction}`,
        target: cluster.name,
        playbook: 'scale.yml',
        dbPath,
        signal,
        extraVars: { mko_target: clusterGroup(cluster.name), scale_action: direction, scale_workloads: workloads, scale_report_dir: dir },
      });
      request.linkOperation(result.operationId);
      const file = path.join(dir, 'scale.json');
      const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { workloads: (Workload & { before: number; after: number })[] }) : null;
      if (direction === 'down' && report) {
        rememberReplicas(db, cluster.id, action.id, report.workloads.map((w) => ({ namespace: w.namespace, kind: w.kind, name: w.name, replicas: w.before })));
      }
      if (direction === 'up' && result.status === 'succeeded') forgetReplicas(db, cluster.id, workloads);
      const done = (report?.workloads ?? []).map((w) => `${workloadText(w)} ${w.before}->${w.after}`).join(', ');
      const outcome = fromPlaybook(result, `scale ${direction} ${done || workloads.map(workloadText).join(', ')}`);
      return skipped.length > 0 ? { ...outcome, detail: `${outcome.detail}; left alone (no count kept): ${skipped.join(', ')}` } : outcome;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
