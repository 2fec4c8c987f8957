// A node's RTC wake alarm (Raspberry Pi 4/5 and other boards that cannot wake by LAN): set it just
// before a planned power-off and the node boots again after that many seconds.
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { getNode } from '../fleet/index.js';
import { validate } from '../validate/index.js';
import { numberOrText } from './configure.js';
import type { RunContext } from '../ops/index.js';
import { runWolPlaybook, type NicRunOptions } from './nic.js';

export interface RtcAlarmResult {
  node: string;
  operationId: number | null;
  /** What the node's wake alarm holds now (seconds since the epoch on a real RTC). */
  value: string;
  seconds: number;
}

const secondsSchema = { type: 'integer', minimum: 30, maximum: 31_536_000, hint: 'whole seconds from 30 to 31536000 (a year)' };

/** Set the node's RTC wake alarm to fire `seconds` from now (playbooks/wol.yml, wol_action rtc_alarm). */
export async function setRtcAlarm(db: Db, ref: string, after: number | string, options: RunContext & NicRunOptions): Promise<RtcAlarmResult> {
  const seconds = validate<number>(secondsSchema, numberOrText(after), { '': '--in' });
  const node = getNode(db, ref);
  const run = await runWolPlaybook(db, { target: node.hostname, nodes: [node] }, 'rtc_alarm', {
    ...options,
    kind: 'wol-rtc-alarm',
    vars: { ...options.vars, wol_rtc_alarm_seconds: seconds },
  });
  const host = run.hosts[0];
  if (!host || host.status !== 'reported' || !host.report.rtc_alarm) {
    const reason = host && host.status !== 'reported' ? host.reason : (host?.report.detail ?? 'no report');
    throw new UserError(`could not set the RTC wake alarm of ${node.hostname}: ${reason} (operation ${run.operationId})`, 2);
  }
  return { node: node.hostname, operationId: run.operationId, value: host.report.rtc_alarm.value, seconds };
}
