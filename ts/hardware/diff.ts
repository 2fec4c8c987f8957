// What changed between two hardware reports of one node: the hardware and its configuration
// (a disk added or gone, a RAID array degraded, memory, a NIC's MAC or speed, the OS release), not
// the readings that move all the time (load, temperatures, free memory, uptime). A filesystem's use
// counts as a change only when it moved by USE_STEP_PERCENT points or more.
import type { HardwareReport } from './schema.js';
import { formatBytes, formatMb } from './summary.js';

export interface HardwareChange {
  /** Report section: os, cpu, memory, disk, filesystem, lvm, raid, network, gpu, fan, volume, wake NIC. */
  section: string;
  /** What in that section: a device, mount, interface... name; empty for the section itself. */
  item: string;
  kind: 'added' | 'removed' | 'changed';
  /** For 'changed': which field. */
  field?: string;
  before?: string;
  after?: string;
}

export const USE_STEP_PERCENT = 10;

type Value = string | number | boolean | null | undefined;
const show = (v: Value | readonly Value[]): string =>
  Array.isArray(v) ? (v.length ? v.join(', ') : '(none)') : v === null || v === undefined || v === '' ? '(unknown)' : String(v);

/** Fields of one thing, compared one by one. */
function fields(section: string, item: string, before: Record<string, Value | readonly Value[]>, after: Record<string, Value | readonly Value[]>): HardwareChange[] {
  return Object.keys(after).flatMap((field) => {
    const b = show(before[field] ?? null);
    const a = show(after[field] ?? null);
    return a === b ? [] : [{ section, item, kind: 'changed' as const, field, before: b, after: a }];
  });
}

/** Lists of named things: added, removed, and the fields of those in both. */
function keyed<T>(
  section: string,
  before: readonly T[],
  after: readonly T[],
  key: (t: T) => string | null,
  facts: (t: T) => Record<string, Value | readonly Value[]>,
): HardwareChange[] {
  const index = (list: readonly T[]) => new Map(list.flatMap((t) => (key(t) === null ? [] : [[key(t) as string, t] as const])));
  const b = index(before);
  const a = index(after);
  const changes: HardwareChange[] = [];
  for (const [name, t] of a) {
    const old = b.get(name);
    if (old === undefined) changes.push({ section, item: name, kind: 'added', after: describe(facts(t)) });
    else changes.push(...fields(section, name, facts(old), facts(t)));
  }
  for (const [name, t] of b) if (!a.has(name)) changes.push({ section, item: name, kind: 'removed', before: describe(facts(t)) });
  return changes;
}

const describe = (facts: Record<string, Value | readonly Value[]>): string =>
  Object.entries(facts)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k} ${show(v)}`)
    .join(', ');

const size = (bytes: number | null): string | null => (bytes === null ? null : formatBytes(bytes));
const mb = (n: number | null | undefined): string | null => (n === null || n === undefined ? null : formatMb(n));

const usePercent = (used: number | null, size: number | null): number | null => (used !== null && size ? Math.round((used / size) * 100) : null);

/** Filesystem use in steps of USE_STEP_PERCENT, so that small moves are not changes. */
function useChanges(before: HardwareReport, after: HardwareReport): HardwareChange[] {
  const old = new Map(before.disks.filesystems.map((f) => [f.mount, usePercent(f.used_bytes, f.size_bytes)]));
  return after.disks.filesystems.flatMap((f) => {
    const was = old.get(f.mount);
    const now = usePercent(f.used_bytes, f.size_bytes);
    if (was === undefined || was === null || now === null || Math.abs(now - was) < USE_STEP_PERCENT) return [];
    return [{ section: 'filesystem', item: f.mount, kind: 'changed' as const, field: 'used', before: `${was}%`, after: `${now}%` }];
  });
}

/** Every change from `before` to `after`, section by section in report order. */
export function diffReports(before: HardwareReport, after: HardwareReport): HardwareChange[] {
  const { os: o1, cpu: c1, memory: m1 } = before;
  const { os: o2, cpu: c2, memory: m2 } = after;
  return [
    ...fields('os', '', { distribution: o1.distribution, version: o1.version, kernel: o1.kernel, arch: o1.arch, 'pi model': o1.pi_model },
      { distribution: o2.distribution, version: o2.version, kernel: o2.kernel, arch: o2.arch, 'pi model': o2.pi_model }),
    ...fields('cpu', '', { model: c1.model, cores: c1.cores, threads: c1.threads }, { model: c2.model, cores: c2.cores, threads: c2.threads }),
    ...fields('memory', '', { total: mb(m1.total_mb), swap: mb(m1.swap_total_mb) }, { total: mb(m2.total_mb), swap: mb(m2.swap_total_mb) }),
    ...keyed('disk', before.disks.devices, after.disks.devices, (d) => d.name, (d) => ({
      size: size(d.size_bytes), model: d.model, type: d.type, partitions: (d.children ?? []).map((c) => c.name),
    })),
    ...keyed('filesystem', before.disks.filesystems, after.disks.filesystems, (f) => f.mount, (f) => ({ source: f.source, fstype: f.fstype, size: size(f.size_bytes) })),
    ...useChanges(before, after),
    ...keyed('lvm pv', before.lvm.pvs, after.lvm.pvs, (p) => p.name, (p) => ({ vg: p.vg, size: size(p.size_bytes) })),
    ...keyed('lvm vg', before.lvm.vgs, after.lvm.vgs, (v) => v.name, (v) => ({ pvs: v.pv_count, lvs: v.lv_count, size: size(v.size_bytes) })),
    ...keyed('lvm lv', before.lvm.lvs, after.lvm.lvs, (l) => (l.vg && l.name ? `${l.vg}/${l.name}` : l.name), (l) => ({ size: size(l.size_bytes) })),
    ...keyed('raid', before.raid.arrays, after.raid.arrays, (r) => r.name, (r) => ({ level: r.level, state: r.state, devices: [...r.devices].sort() })),
    ...keyed('network', before.network, after.network, (n) => n.name, (n) => ({
      mac: n.mac, 'speed Mb/s': n.speed_mbps, state: n.state, addresses: n.addresses.map((a) => `${a.address}/${a.prefix ?? '?'}`).sort(),
    })),
    ...keyed('gpu', before.gpus, after.gpus, (g) => g.slot ?? g.model, (g) => ({ vendor: g.vendor, model: g.model })),
    ...keyed('fan', before.thermal.fans, after.thermal.fans, (f) => f.name, () => ({})),
    ...keyed('volume', volumes(before), volumes(after), (v) => v, () => ({})),
    ...fields('wake NIC', '', { interface: before.wake_nic?.interface, mac: before.wake_nic?.mac }, { interface: after.wake_nic?.interface, mac: after.wake_nic?.mac }),
  ];
}

/** Docker volumes and Kubernetes PVs and PVCs, by name. */
function volumes(r: HardwareReport): string[] {
  const k = r.volumes.kubernetes;
  return [
    ...r.volumes.docker.map((v) => `docker ${v.name}`),
    ...k.persistent_volumes.flatMap((v) => (v.name ? [`pv ${v.name}`] : [])),
    ...k.persistent_volume_claims.flatMap((v) => (v.name ? [`pvc ${v.namespace ?? 'default'}/${v.name}`] : [])),
  ];
}

/** One line per change: `+ disk sdb: size 500107862016, model X`, `- ...`, `~ raid md0 state: clean -> degraded`. */
export function formatChange(c: HardwareChange): string {
  const what = [c.section, c.item].filter(Boolean).join(' ');
  if (c.kind === 'added') return `+ ${what}${c.after ? `: ${c.after}` : ''}`;
  if (c.kind === 'removed') return `- ${what}${c.before ? `: ${c.before}` : ''}`;
  return `~ ${what} ${c.field}: ${c.before} -> ${c.after}`;
}
