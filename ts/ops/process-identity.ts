// Which process a PID is: the PID with its start, so a PID reused by a later process (after a
// reboot, or once the PID space wraps) is not mistaken for the one that was recorded.
import { readdirSync, readFileSync } from 'node:fs';

let bootId: string | null | undefined;

function currentBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/**
 * Field `n` (numbered from 1, as proc(5) does, n >= 3) of /proc/<pid>/stat, or null when there is
 * no such process or no /proc to read it from.
 */
export function statField(pid: number, n: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2, the command name in parentheses, may itself hold spaces and parentheses: count from
  // after its last ')', where field 3 (state) begins.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3] ?? null;
}

/**
 * The start of process pid as "<boot id>:<start time in clock ticks since boot>" (field 22 of
 * /proc/<pid>/stat), or null when there is no such process or no /proc to read it from.
 */
export function processStart(pid: number): string | null {
  const boot = currentBootId();
  if (boot === null) return null;
  const ticks = statField(pid, 22);
  return ticks && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : null;
}

/** This process's start, computed once. */
export const ownStart: string | null = processStart(process.pid);

/** Whether process group pgid still has a member that runs (a zombie, only waiting to be reaped, does not). */
export function groupHasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return false;
  }
  return pids.some((pid) => statField(Number(pid), 5) === String(pgid) && statField(Number(pid), 3) !== 'Z');
}
