import { Ajv, type ErrorObject } from 'ajv';

// The report the `hardware` role writes per host (the collector of module mko.fleet.hardware, schema 1).
// Every key below is required with its type; a value the node could not read is null or [].
// Objects accept keys this code does not know yet, so a newer collector still validates.

export interface HardwareReport {
  schema: 1;
  hostname: string | null;
  collected_at: string;
  os: {
    distribution: string | null;
    version: string | null;
    kernel: string | null;
    arch: string | null;
    uptime_seconds: number | null;
    pi_model: string | null;
  };
  cpu: {
    model: string | null;
    cores: number | null;
    threads: number | null;
    load: number[] | null;
    usage_percent: number | null;
    temperature_c: number | null;
  };
  memory: { total_mb: number | null; available_mb: number | null; swap_total_mb: number | null; swap_free_mb: number | null };
  disks: { devices: BlockDevice[]; filesystems: Filesystem[] };
  lvm: { pvs: LvmPv[]; vgs: LvmVg[]; lvs: LvmLv[] };
  raid: { mdstat: string | null; arrays: RaidArray[] };
  network: NetworkInterface[];
  gpus: Gpu[];
  thermal: { zones: ThermalZone[]; fans: Fan[] };
  volumes: { docker: DockerVolume[]; kubernetes: KubernetesStorage };
  /**
   * The NIC that wakes the node (the one carrying its address), as mko.fleet decided it
   * (module_utils/wake_nic.py); null when none qualifies, missing in reports from before it.
   */
  wake_nic?: WakeNic | null;
}

export interface WakeNic {
  interface: string;
  mac: string | null;
  address: string | null;
  broadcast: string | null;
}

export interface BlockChild {
  name: string;
  size_bytes: number | null;
  type: string | null;
  fstype: string | null;
  mountpoint: string | null;
}
export interface BlockDevice {
  name: string;
  size_bytes: number | null;
  type: string | null;
  model: string | null;
  rotational: boolean | null;
  children?: BlockChild[];
}
export interface Filesystem {
  source: string;
  fstype: string | null;
  size_bytes: number | null;
  used_bytes: number | null;
  avail_bytes: number | null;
  mount: string;
}
export interface LvmPv { name: string | null; vg: string | null; size_bytes: number | null; free_bytes: number | null }
export interface LvmVg { name: string | null; pv_count: number | null; lv_count: number | null; size_bytes: number | null; free_bytes: number | null }
export interface LvmLv { name: string | null; vg: string | null; size_bytes: number | null; path: string | null; attr: string | null }
export interface RaidArray { name: string; level: string | null; state: string | null; devices: string[] }
export interface NetworkAddress { address: string; prefix: number | null; family: string }
export interface NetworkInterface {
  name: string;
  mac: string | null;
  addresses: NetworkAddress[];
  speed_mbps: number | null;
  state: string | null;
}
export interface Gpu {
  slot: string | null;
  vendor: string | null;
  model: string | null;
  nvidia: { name: string | null; memory_total_mb: number | null; temperature_c: number | null } | null;
}
export interface ThermalZone { name: string; type: string | null; temp_c: number | null }
export interface Fan { name: string; rpm: number | null }
export interface DockerVolume { name: string; driver: string | null; mountpoint: string | null }
export interface KubernetesStorage {
  persistent_volumes: { name: string | null; capacity_bytes?: number | null; storage_class?: string | null; status?: string | null; claim?: string | null }[];
  persistent_volume_claims: { namespace?: string | null; name: string | null; capacity_bytes?: number | null; storage_class?: string | null; status?: string | null }[];
  storage_classes: { name: string | null; provisioner?: string | null; default?: boolean }[];
}

type Json = Record<string, unknown>;
const nullable = (type: string): Json => ({ type: [type, 'null'] });
const str = { type: 'string' };
/** An object whose listed keys are all required; keys it does not list are allowed. */
const obj = (properties: Record<string, Json>, optional: string[] = []): Json => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});
const list = (items: Json): Json => ({ type: 'array', items });

const blockChild = obj({
  name: str,
  size_bytes: nullable('integer'),
  type: nullable('string'),
  fstype: nullable('string'),
  mountpoint: nullable('string'),
});

export const hardwareReportSchema: Json = obj({
  schema: { const: 1 },
  hostname: nullable('string'),
  collected_at: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' },
  os: obj({
    distribution: nullable('string'),
    version: nullable('string'),
    kernel: nullable('string'),
    arch: nullable('string'),
    uptime_seconds: nullable('number'),
    pi_model: nullable('string'),
  }),
  cpu: obj({
    model: nullable('string'),
    cores: nullable('integer'),
    threads: nullable('integer'),
    load: { type: ['array', 'null'], items: { type: 'number' } },
    usage_percent: nullable('number'),
    temperature_c: nullable('number'),
  }),
  memory: obj({
    total_mb: nullable('number'),
    available_mb: nullable('number'),
    swap_total_mb: nullable('number'),
    swap_free_mb: nullable('number'),
  }),
  disks: obj({
    devices: list(
      obj(
        {
          name: str,
          size_bytes: nullable('integer'),
          type: nullable('string'),
          model: nullable('string'),
          rotational: nullable('boolean'),
          children: list(blockChild),
        },
        ['children'],
      ),
    ),
    filesystems: list(
      obj({
        source: str,
        fstype: nullable('string'),
        size_bytes: nullable('integer'),
        used_bytes: nullable('integer'),
        avail_bytes: nullable('integer'),
        mount: str,
      }),
    ),
  }),
  lvm: obj({
    pvs: list(obj({ name: nullable('string'), vg: nullable('string'), size_bytes: nullable('integer'), free_bytes: nullable('integer') })),
    vgs: list(
      obj({
        name: nullable('string'),
        pv_count: nullable('integer'),
        lv_count: nullable('integer'),
        size_bytes: nullable('integer'),
        free_bytes: nullable('integer'),
      }),
    ),
    lvs: list(obj({ name: nullable('string'), vg: nullable('string'), size_bytes: nullable('integer'), path: nullable('string'), attr: nullable('string') })),
  }),
  raid: obj({
    mdstat: nullable('string'),
    arrays: list(obj({ name: str, level: nullable('string'), state: nullable('string'), devices: list(str) })),
  }),
  network: list(
    obj({
      name: str,
      mac: nullable('string'),
      addresses: list(obj({ address: str, prefix: nullable('integer'), family: str })),
      speed_mbps: nullable('integer'),
      state: nullable('string'),
    }),
  ),
  gpus: list(
    obj({
      slot: nullable('string'),
      vendor: nullable('string'),
      model: nullable('string'),
      nvidia: {
        type: ['object', 'null'],
        properties: { name: nullable('string'), memory_total_mb: nullable('number'), temperature_c: nullable('number') },
      },
    }),
  ),
  thermal: obj({
    zones: list(obj({ name: str, type: nullable('string'), temp_c: nullable('number') })),
    fans: list(obj({ name: str, rpm: nullable('number') })),
  }),
  volumes: obj({
    docker: list(obj({ name: str, driver: nullable('string'), mountpoint: nullable('string') })),
    kubernetes: obj({
      persistent_volumes: list(obj({ name: nullable('string') })),
      persistent_volume_claims: list(obj({ name: nullable('string') })),
      storage_classes: list(obj({ name: nullable('string') })),
    }),
  }),
  wake_nic: {
    type: ['object', 'null'],
    properties: { interface: str, mac: nullable('string'), address: nullable('string'), broadcast: nullable('string') },
    required: ['interface', 'mac', 'address', 'broadcast'],
  },
}, ['wake_nic']);

// Reports are data from nodes, not user input: their own instance, no defaults, no coercion.
const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, coerceTypes: false });

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A report's JSON path in dotted form: /disks/devices/0/name -> disks.devices[0].name */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function explain(error: ErrorObject): string {
  const at = dotted(error.instancePath);
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${at ? `${at}.` : ''}${missing}: missing`;
  }
  const where = at || '(report)';
  if (error.keyword === 'type') {
    const wanted = String((error.params as { type: string | string[] }).type).split(',').join(' or ');
    return `${where}: must be ${wanted}`;
  }
  if (error.keyword === 'const') return `${where}: must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
  if (error.keyword === 'pattern' && error.instancePath.endsWith('_at')) return `${where}: must be an ISO 8601 time like 2026-11-21T07:30:00Z`;
  return `${where}: ${error.message ?? 'is invalid'}`;
}

/**
 * A checker for one kind of host report: parses JSON text and validates it against `schema`;
 * on failure it names the field (dotted path) and what is wrong, in one line.
 */
export function reportChecker<T>(schema: object): (text: string) => Checked<T> {
  const check = ajv.compile<T>(schema);
  return (text) => {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return { ok: false, error: `not JSON: ${(e as Error).message}` };
    }
    if (check(data)) return { ok: true, value: data };
    const error = check.errors?.[0];
    return { ok: false, error: error ? explain(error) : 'invalid report' };
  };
}

/** Parse and validate a hardware report file's text. */
export const parseReport = reportChecker<HardwareReport>(hardwareReportSchema);

