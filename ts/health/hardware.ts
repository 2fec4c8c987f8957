// Hardware changes as a health check. Each collected report is compared with the node's previous one
// (ts/hardware/diff.ts): check `hardware.changes` warns while the node's latest report differs from
// the one before (a disk gone, a RAID array degraded, less memory), and passes once a collection finds
// nothing new. Its status changes are health events like any check's, sent to the notifiers: a
// scheduled collection (the mko-hardware timer of role health) tells you the morning a disk went.
import type { Db } from '../db/index.js';
import { collectHardware, formatChange, type CollectOptions, type CollectResult } from '../hardware/index.js';
import type { RunContext } from '../ops/index.js';
import type { CheckResult } from './checks.js';
import { notifyEvents, type DeliveryResult } from './notify.js';
import { recordResults, type HealthEvent } from './store.js';

export const HARDWARE_CHECK = 'hardware.changes';

/** The check result of each node whose report was stored (a first report passes: nothing to compare). */
export function hardwareResults(result: CollectResult): CheckResult[] {
  return result.hosts.flatMap((h): CheckResult[] => {
    if (h.status !== 'stored') return [];
    const changes = h.changes ?? [];
    const changed = changes.length > 0;
    return [{
      id: HARDWARE_CHECK,
      scope: 'node',
      subject: h.host,
      severity: 'warning',
      status: changed ? 'warn' : 'pass',
      summary: h.changes === null
        ? 'first hardware report: nothing to compare yet'
        : changed
          ? `${changes.length} hardware change${changes.length === 1 ? '' : 's'} since the previous report (report ${h.reportId})`
          : `no hardware change since the previous report (report ${h.reportId})`,
      evidence: changes.map(formatChange).join('\n'),
      fix: changed ? `mko hardware show ${h.host} --diff` : null,
      cheap: false,
    }];
  });
}

export interface RecordedCollect extends CollectResult {
  events: HealthEvent[];
  deliveries: DeliveryResult[];
}

/** Collect (mko hardware collect), then record each node's hardware check and notify its changes. */
export async function collectAndRecord(db: Db, ref: string, ctx: RunContext & CollectOptions): Promise<RecordedCollect> {
  const result = await collectHardware(db, ref, ctx);
  const events = recordResults(db, hardwareResults(result), { operationId: result.operationId });
  const deliveries = await notifyEvents(db, ctx.dataDir, events, ctx.signal ? { signal: ctx.signal } : {});
  return { ...result, events, deliveries };
}
