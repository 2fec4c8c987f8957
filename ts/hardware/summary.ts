import type { HardwareReport } from './schema.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 274877906944 -> "256 GiB", 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '?';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatMb(mb: number | null): string {
  return mb === null ? '?' : formatBytes(mb * 1024 * 1024);
}

function formatUptime(seconds: number | null): string | null {
  if (seconds === null) return null;
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return days > 0 ? `${days}d ${hours}h` : hours > 0 ? `${hours}h ${minutes}m` : `${minutes}m`;
}

/** Used share of a filesystem the way df counts it: used / (used + available), rounded up. */
export function usePercent(used: number | null, avail: number | null): number | null {
  if (used === null || avail === null || used + avail === 0) return null;
  return Math.ceil((used / (used + avail)) * 100);
}

const join = (parts: (string | null | undefined | false)[], sep = ', '): string => parts.filter(Boolean).join(sep);

/** One line for tables: "2 x AMD EPYC" style CPU, total memory, disks. */
export function cpuBrief(r: HardwareReport): string {
  const count = r.cpu.threads ?? r.cpu.cores;
  return join([count !== null ? `${count} x` : null, r.cpu.model ?? 'unknown CPU'], ' ');
}

export function disksBrief(r: HardwareReport): string {
  const disks = r.disks.devices.filter((d) => d.type === 'disk' && (d.size_bytes ?? 0) > 0);
  return disks.length === 0 ? 'none' : disks.map((d) => `${d.name} ${formatBytes(d.size_bytes)}`).join(', ');
}

/** The report as readable lines: OS, CPU, memory, disks, filesystems, LVM/RAID, network, GPUs, thermal, volumes. */
export function summarizeReport(r: HardwareReport, node?: string): string {
  const lines: string[] = [];
  const row = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(13)}${value}`);
  };
  const sub = (value: string): void => {
    lines.push(`  ${value}`);
  };

  const hostname = r.hostname ?? '(no hostname)';
  const title = node && node.toLowerCase() !== hostname.toLowerCase() ? `${node} (hostname ${hostname})` : hostname;
  lines.push(`${title}, collected ${r.collected_at}`);
  row(
    'OS',
    join([
      join([r.os.distribution, r.os.version], ' ') || 'unknown',
      r.os.kernel && `kernel ${r.os.kernel}`,
      r.os.arch,
      r.os.uptime_seconds !== null && `up ${formatUptime(r.os.uptime_seconds)}`,
      r.os.pi_model,
    ]),
  );
  row(
    'CPU',
    join([
      r.cpu.model ?? 'unknown model',
      r.cpu.cores !== null && `${r.cpu.cores} cores`,
      r.cpu.threads !== null && `${r.cpu.threads} threads`,
      r.cpu.load && `load ${r.cpu.load.map((l) => l.toFixed(2)).join(' ')}`,
      r.cpu.usage_percent !== null && `${r.cpu.usage_percent.toFixed(1)}% busy`,
      r.cpu.temperature_c !== null && `${r.cpu.temperature_c.toFixed(1)} °C`,
    ]),
  );
  const m = r.memory;
  row(
    'Memory',
    join([
      `${formatMb(m.total_mb)} total`,
      m.available_mb !== null && `${formatMb(m.available_mb)} available`,
      m.swap_total_mb ? `swap ${formatMb(m.swap_total_mb)} (${formatMb(m.swap_free_mb)} free)` : 'no swap',
    ]),
  );

  row('Disks', r.disks.devices.length === 0 ? 'none found' : `${r.disks.devices.length}`);
  for (const d of r.disks.devices) {
    sub(join([`${d.name} ${formatBytes(d.size_bytes)}`, d.type, d.model, d.rotational === null ? null : d.rotational ? 'rotational' : 'solid state']));
    for (const c of d.children ?? []) {
      lines.push(`    ${join([`${c.name} ${formatBytes(c.size_bytes)}`, c.type, c.fstype, c.mountpoint && `on ${c.mountpoint}`])}`);
    }
  }
  row('Filesystems', r.disks.filesystems.length === 0 ? 'none found' : `${r.disks.filesystems.length}`);
  for (const f of r.disks.filesystems) {
    const used = usePercent(f.used_bytes, f.avail_bytes);
    sub(join([`${f.mount} ${f.fstype ?? '?'} on ${f.source}`, `${formatBytes(f.size_bytes)}`, used !== null && `${used}% used`, `${formatBytes(f.avail_bytes)} free`]));
  }

  const { pvs, vgs, lvs } = r.lvm;
  row(
    'LVM',
    pvs.length + vgs.length + lvs.length === 0
      ? 'none'
      : join([
          vgs.map((v) => `VG ${v.name ?? '?'} ${formatBytes(v.size_bytes)} (${formatBytes(v.free_bytes)} free)`).join(', '),
          lvs.length > 0 && `LVs ${lvs.map((l) => `${l.vg ?? '?'}/${l.name ?? '?'} ${formatBytes(l.size_bytes)}`).join(', ')}`,
          pvs.length > 0 && `PVs ${pvs.map((p) => p.name ?? '?').join(', ')}`,
        ]),
  );
  row(
    'RAID',
    r.raid.arrays.length === 0 ? 'none' : r.raid.arrays.map((a) => `${a.name} ${join([a.level, a.state], ' ')} (${a.devices.join(', ')})`).join('; '),
  );

  row('Network', r.network.length === 0 ? 'none found' : `${r.network.length} interface(s)`);
  for (const n of r.network) {
    const addresses = n.addresses.map((a) => (a.prefix === null ? a.address : `${a.address}/${a.prefix}`)).join(', ');
    sub(join([`${n.name} ${n.state ?? '?'}`, n.mac ?? 'no MAC', addresses || 'no address', n.speed_mbps !== null && `${n.speed_mbps} Mb/s`]));
  }
  row(
    'GPUs',
    r.gpus.length === 0
      ? 'none'
      : r.gpus
          .map((g) => join([g.slot, join([g.vendor, g.model], ' '), g.nvidia?.memory_total_mb != null && `${formatMb(g.nvidia.memory_total_mb)}`], ' '))
          .join('; '),
  );
  const zones = r.thermal.zones.map((z) => `${z.type ?? z.name} ${z.temp_c === null ? '?' : `${z.temp_c.toFixed(1)} °C`}`);
  const fans = r.thermal.fans.map((f) => `${f.name} ${f.rpm === null ? '?' : `${f.rpm} rpm`}`);
  row('Thermal', join([...zones, ...fans]) || 'no sensors');
  const k = r.volumes.kubernetes;
  row(
    'Volumes',
    join([
      `docker ${r.volumes.docker.length}${r.volumes.docker.length > 0 ? ` (${r.volumes.docker.map((v) => v.name).join(', ')})` : ''}`,
      `kubernetes ${k.persistent_volumes.length} PV, ${k.persistent_volume_claims.length} PVC, ${k.storage_classes.length} storage class(es)`,
    ]),
  );
  return lines.join('\n');
}
