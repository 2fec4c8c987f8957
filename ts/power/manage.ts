// UPS management: live status and checks straight from upsd (the NUT client), and the nut role
// through playbooks/nut.yml (setup, scan, services, restart).
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { resolveTarget, type Target } from '../fleet/index.js';
import { reportChecker } from '../hardware/index.js';
import { shellWord } from '../inventory/index.js';
import { NutClient, NutError, withNut } from '../nut/index.js';
import { runFields, runForHostReports, runPlaybook, type CheckMode, type HostFile, type PlaybookResult, type RunContext } from '../ops/index.js';
import { field, validate } from '../validate/index.js';
import { statusTokens } from './detect.js';
import { getUps, listUpses, upsPasswords, validateUps, type Ups } from './ups.js';

const STATUS_WORDS: Record<string, string> = {
  OL: 'on line power',
  OB: 'on battery',
  LB: 'low battery',
  HB: 'high battery',
  RB: 'replace battery',
  CHRG: 'charging',
  DISCHRG: 'discharging',
  BYPASS: 'on bypass',
  CAL: 'calibrating',
  OFF: 'off',
  OVER: 'overloaded',
  TRIM: 'trimming voltage',
  BOOST: 'boosting voltage',
  FSD: 'forced shutdown',
  ALARM: 'alarm',
  WAIT: 'waiting for the driver',
};

/** `OB DISCHRG` -> `on battery, discharging`; unknown tokens are shown as they are. */
export function statusWords(status: string): string {
  return status
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => STATUS_WORDS[t] ?? t)
    .join(', ');
}

export interface UpsLiveStatus {
  ups: string;
  host: string;
  upsd: string;
  ok: boolean;
  /** Why there is no data: DATA-STALE, DRIVER-NOT-CONNECTED, a connection error. */
  error: string | null;
  status: string | null;
  flags: string | null;
  charge: number | null;
  runtime: number | null;
  load: number | null;
  inputVoltage: number | null;
  model: string | null;
}

const upsdOf = (ups: Ups): string => `${ups.address.includes(':') ? `[${ups.address}]` : ups.address}:${ups.upsdPort}`;

function numberVar(vars: Record<string, string>, name: string): number | null {
  const n = Number(vars[name]);
  return vars[name] !== undefined && vars[name] !== '' && Number.isFinite(n) ? n : null;
}

function selectUpses(db: Db, ref: string | undefined): Ups[] {
  const upses = ref !== undefined ? [getUps(db, ref)] : listUpses(db);
  if (upses.length === 0) throw new UserError('no UPS registered: add one with mko ups add <name> --host <node>');
  return upses;
}

/** Read each UPS live from its upsd: charge, runtime, load, input voltage and status flags. */
export async function upsLiveStatus(db: Db, ref?: string, timeoutMs = 5000): Promise<UpsLiveStatus[]> {
  return Promise.all(
    selectUpses(db, ref).map(async (ups): Promise<UpsLiveStatus> => {
      const base = { ups: ups.name, host: ups.host, upsd: upsdOf(ups) };
      try {
        const vars = await withNut({ host: ups.address, port: ups.upsdPort, timeoutMs }, (c) => c.listVar(ups.name));
        const status = vars['ups.status'] ?? null;
        return {
          ...base,
          ok: true,
          error: null,
          status,
          flags: status === null ? null : statusWords(status),
          charge: numberVar(vars, 'battery.charge'),
          runtime: numberVar(vars, 'battery.runtime'),
          load: numberVar(vars, 'ups.load'),
          inputVoltage: numberVar(vars, 'input.voltage'),
          model: [vars['ups.mfr'] ?? vars['device.mfr'], vars['ups.model'] ?? vars['device.model']].filter(Boolean).join(' ') || null,
        };
      } catch (error) {
        const message = error instanceof NutError ? error.code : (error as Error).message;
        return { ...base, ok: false, error: message, status: null, flags: null, charge: null, runtime: null, load: null, inputVoltage: null, model: null };
      }
    }),
  );
}

export interface UpsCheck {
  name: 'upsd answers' | 'UPS served' | 'data fresh' | 'upsmon login';
  ok: boolean;
  detail: string;
}

export interface UpsTestResult {
  ups: string;
  upsd: string;
  ok: boolean;
  checks: UpsCheck[];
}

/**
 * Check a UPS the way upsmon depends on it: upsd answers, serves the UPS, has fresh data (not
 * DATA-STALE, DRIVER-NOT-CONNECTED or WAIT), and takes the stored upsmon secondary login.
 */
export async function testUps(db: Db, dataDir: string, ref?: string, timeoutMs = 5000): Promise<UpsTestResult[]> {
  const results: UpsTestResult[] = [];
  for (const ups of selectUpses(db, ref)) {
    const checks: UpsCheck[] = [];
    const upsd = upsdOf(ups);
    let client: NutClient | undefined;
    try {
      client = await NutClient.connect({ host: ups.address, port: ups.upsdPort, timeoutMs });
      checks.push({ name: 'upsd answers', ok: true, detail: `connected to ${upsd}` });
      const served = await client.listUps();
      const found = served.some((u) => u.name.toLowerCase() === ups.name.toLowerCase());
      checks.push({
        name: 'UPS served',
        ok: found,
        detail: found ? `upsd serves ${ups.name}` : `upsd serves ${served.map((u) => u.name).join(', ') || 'no UPS'}, not ${ups.name}: run mko ups setup ${ups.name}`,
      });
      if (found) {
        try {
          const status = await client.getVar(ups.name, 'ups.status');
          const waiting = statusTokens(status).has('WAIT');
          checks.push({ name: 'data fresh', ok: !waiting, detail: waiting ? 'the driver has no data yet (WAIT)' : `ups.status ${status} (${statusWords(status)})` });
        } catch (error) {
          if (!(error instanceof NutError)) throw error;
          const why = error.code === 'DATA-STALE' ? 'the driver has lost the UPS (DATA-STALE)' : error.code === 'DRIVER-NOT-CONNECTED' ? 'upsd has no driver for it (DRIVER-NOT-CONNECTED)' : error.code;
          checks.push({ name: 'data fresh', ok: false, detail: why });
        }
        const { secondary } = upsPasswords(db, dataDir, ups);
        try {
          await client.login(ups.name, ups.secondaryUser, secondary);
          checks.push({ name: 'upsmon login', ok: true, detail: `${ups.secondaryUser} may log in as upsmon` });
        } catch (error) {
          if (!(error instanceof NutError)) throw error;
          checks.push({ name: 'upsmon login', ok: false, detail: `${ups.secondaryUser}: ${error.code} (run mko ups setup ${ups.name} to write the accounts)` });
        }
      }
    } catch (error) {
      if (checks.length === 0) checks.push({ name: 'upsd answers', ok: false, detail: (error as Error).message });
      else checks.push({ name: 'data fresh', ok: false, detail: (error as Error).message });
    } finally {
      await client?.logout();
    }
    results.push({ ups: ups.name, upsd, ok: checks.every((c) => c.ok), checks });
  }
  return results;
}

export interface SetupOptions extends RunContext, CheckMode {
  /** Nodes or clusters whose upsmon runs as secondary (default: the UPS host's cluster). */
  secondaries?: string[];
  /** upsmon's SHUTDOWNCMD (default the role's: shut the host down). */
  shutdownCmd?: string;
}

/** Run the nut role: the UPS host as primary, the secondaries against it. Passwords come from the secrets file. */
const setupSchema = {
  type: 'object',
  // One line: upsmon.conf holds it as one quoted SHUTDOWNCMD line.
  properties: { shutdownCmd: { ...field.text, minLength: 1, hint: 'one line of text (a command), at most 1000 characters' } },
  additionalProperties: true,
};

/** What the last successful `mko ups setup` of the UPS was told (null: it was not told, the default applies). */
export function lastSetup(db: Db, upsId: number): { shutdownCmd: string | null; secondaries: string[] | null } {
  const row = db.prepare('SELECT setup_shutdown_cmd, setup_secondaries FROM upses WHERE id = ?').get(upsId) as
    | { setup_shutdown_cmd: string | null; setup_secondaries: string | null }
    | undefined;
  return { shutdownCmd: row?.setup_shutdown_cmd ?? null, secondaries: row?.setup_secondaries ? (JSON.parse(row.setup_secondaries) as string[]) : null };
}

/**
 * Run the nut role for the UPS. --secondaries and --shutdown-cmd not given: what the last
 * successful setup was told, else the defaults; given: used, and kept once the run succeeds (so a
 * later plain `mko ups setup`, the fix mko doctor prints, sets the UPS up the same way).
 */
export async function setupUps(db: Db, ref: string, options: SetupOptions): Promise<PlaybookResult> {
  validate(setupSchema, options, { shutdownCmd: '--shutdown-cmd' });
  const ups = getUps(db, ref);
  const passwords = upsPasswords(db, options.dataDir, ups);
  const host = resolveTarget(db, ups.host).nodes[0];
  const last = lastSetup(db, ups.id);
  const shutdownCmd = options.shutdownCmd ?? last.shutdownCmd ?? undefined;
  const refs = options.secondaries ?? last.secondaries ?? (host?.cluster ? [host.cluster] : []);
  const hosts = new Set([ups.host, ...refs.flatMap((r) => resolveTarget(db, r).nodes.map((n) => n.hostname))]);
  const result = await runPlaybook(db, {
    kind: 'ups-setup',
    target: ups.name,
    playbook: 'nut.yml',
    limit: [...hosts].join(','),
    ...runFields(options),
    // The UPS itself (name, driver, port, options, upsd port, accounts) is the inventory's mko_ups
    // on its host, which the nut role reads: only which UPS, and the secrets, are extra variables.
    extraVars: {
      mko_target: 'all',
      nut_primary_host: ups.host,
      nut_primary_password: passwords.primary,
      nut_secondary_password: passwords.secondary,
      ...(shutdownCmd !== undefined ? { nut_shutdown_cmd: shutdownCmd } : {}),
    },
    secrets: [passwords.primary, passwords.secondary],
    ...(options.check ? { check: true, diff: true } : {}),
  });
  if (result.status === 'succeeded' && !options.check && (options.shutdownCmd !== undefined || options.secondaries !== undefined)) {
    db.prepare(
      `UPDATE upses SET setup_shutdown_cmd = coalesce(@shutdownCmd, setup_shutdown_cmd), setup_secondaries = coalesce(@secondaries, setup_secondaries),
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = @id`,
    ).run({ id: ups.id, shutdownCmd: options.shutdownCmd ?? null, secondaries: options.secondaries ? JSON.stringify(options.secondaries) : null });
  }
  return result;
}

interface ScanReport {
  schema: 1;
  host: string;
  version: string;
  rc: number;
  output: string;
  messages: string;
}

const parseScanReport = reportChecker<ScanReport>({
  type: 'object',
  properties: {
    schema: { const: 1 },
    host: { type: 'string' },
    version: { type: 'string' },
    rc: { type: 'integer' },
    output: { type: 'string' },
    messages: { type: 'string' },
  },
  required: ['schema', 'host', 'rc', 'output', 'messages'],
});

export interface ScannedDevice {
  /** nut-scanner's section name, e.g. nutdev1. */
  section: string;
  driver: string;
  port: string;
  options: Record<string, string>;
}

/** nut-scanner's ups.conf-format output into devices. */
export function parseScannerOutput(text: string): ScannedDevice[] {
  const devices: ScannedDevice[] = [];
  let current: ScannedDevice | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = { section: section[1] ?? '', driver: '', port: '', options: {} };
      devices.push(current);
      continue;
    }
    const pair = /^([A-Za-z0-9_.-]+)\s*=\s*"?(.*?)"?$/.exec(line);
    if (!current || !pair) continue;
    const [, key = '', value = ''] = pair;
    if (key === 'driver') current.driver = value;
    else if (key === 'port') current.port = value;
    else current.options[key] = value;
  }
  return devices.filter((d) => d.driver !== '');
}

/** Options worth passing to `mko ups add`: what makes the driver pick this device. */
const MATCH_OPTIONS = ['vendorid', 'productid', 'serial', 'bus', 'device', 'busport', 'community', 'mibs', 'snmp_version'];

/**
 * A ready `mko ups add` line for a device nut-scanner found, shell-quoted, or why there is none.
 * The scanner's output comes from the node: a value `ups add` would refuse (a template, a control
 * character, a quote) is not offered, and the reason shows it JSON-escaped.
 */
export function addCommandFor(device: ScannedDevice, host: string, index: number): { command: string } | { rejected: string } {
  const name = `ups${index + 1}`;
  const port = device.port || 'auto';
  const options = Object.fromEntries(MATCH_OPTIONS.filter((k) => device.options[k] !== undefined && k !== 'bus' && k !== 'device').map((k) => [k, device.options[k] ?? '']));
  const description = [device.options['vendor'], device.options['product']].filter(Boolean).join(' ').replace(/"/g, '');
  try {
    validateUps({ name, host, driver: device.driver, port, driverOptions: options, ...(description ? { description } : {}) });
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { rejected: `${JSON.stringify(device.section)} not offered: nut-scanner reported ${error.message}` };
  }
  const words = ['mko', 'ups', 'add', name, '--host', host, '--driver', device.driver, '--port', port, ...Object.entries(options).flatMap(([k, v]) => ['--option', `${k}=${v}`]), ...(description ? ['--description', description] : [])];
  return { command: words.map(shellWord).join(' ') };
}

export type ScanOutcome =
  | { host: string; status: 'scanned'; devices: ScannedDevice[]; suggestions: string[]; rejected: string[]; messages: string }
  | { host: string; status: 'unreachable' | 'failed' | 'rejected'; reason: string };

export interface ScanResult {
  operationId: number;
  hosts: ScanOutcome[];
}

function hostOutcome<T>(file: HostFile, parse: (text: string) => { ok: true; value: T } | { ok: false; error: string }, done: (value: T) => ScanOutcome | ServicesOutcome) {
  if (file.status !== 'reported') return { host: file.host, status: file.status, reason: file.reason } as const;
  const parsed = parse(file.text);
  return parsed.ok ? done(parsed.value) : ({ host: file.host, status: 'rejected', reason: parsed.error } as const);
}

/** playbooks/nut.yml with one of the reporting actions; one JSON report per host. */
async function nutReports(db: Db, target: Target, ctx: RunContext, action: 'scan' | 'services' | 'restart') {
  return runForHostReports(db, {
    kind: `ups-${action}`,
    target: target.name,
    playbook: 'nut.yml',
    limit: target.limit,
    reportDirVar: 'nut_report_dir',
    hosts: target.nodes.map((n) => n.hostname),
    extraVars: { mko_target: 'all', nut_action: action },
    ...runFields(ctx),
  });
}

/** nut-scanner on one node; each device found comes with a ready `mko ups add` line. */
export async function scanNode(db: Db, ref: string, ctx: RunContext): Promise<ScanResult> {
  const target = resolveTarget(db, ref);
  if (target.kind !== 'node') throw new UserError(`scan one node at a time: ${target.name} is a cluster`);
  const { result, files } = await nutReports(db, target, ctx, 'scan');
  return {
    operationId: result.operationId,
    hosts: files.map((file) =>
      hostOutcome(file, parseScanReport, (report) => {
        const devices = parseScannerOutput(report.output);
        const offers = devices.map((d, i) => addCommandFor(d, file.host, i));
        const suggestions = offers.flatMap((o) => ('command' in o ? [o.command] : []));
        const rejected = offers.flatMap((o) => ('rejected' in o ? [o.rejected] : []));
        return { host: file.host, status: 'scanned', devices, suggestions, rejected, messages: report.messages };
      }) as ScanOutcome,
    ),
  };
}

export interface NutService {
  name: string;
  state: string;
  status: string;
}

interface ServicesReport {
  schema: 1;
  host: string;
  version: string | null;
  mode: string;
  monitor: string[];
  services: NutService[];
}

const parseServicesReport = reportChecker<ServicesReport>({
  type: 'object',
  properties: {
    schema: { const: 1 },
    host: { type: 'string' },
    version: { type: ['string', 'null'] },
    mode: { type: 'string' },
    monitor: { type: 'array', items: { type: 'string' } },
    services: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, state: { type: 'string' }, status: { type: 'string' } }, required: ['name', 'state'] },
    },
  },
  required: ['schema', 'host', 'mode', 'monitor', 'services'],
});

export type ServicesOutcome =
  | { host: string; status: 'reported'; version: string | null; mode: string; monitor: string[]; services: NutService[] }
  | { host: string; status: 'unreachable' | 'failed' | 'rejected'; reason: string };

export interface ServicesResult {
  operationId: number;
  status: PlaybookResult['status'];
  hosts: ServicesOutcome[];
}

async function servicesRun(db: Db, ref: string, ctx: RunContext, action: 'services' | 'restart'): Promise<ServicesResult> {
  const target = resolveTarget(db, ref);
  const { result, files } = await nutReports(db, target, ctx, action);
  return {
    operationId: result.operationId,
    status: result.status,
    hosts: files.map(
      (file) =>
        hostOutcome(file, parseServicesReport, (report) => ({
          host: file.host,
          status: 'reported',
          version: report.version,
          mode: report.mode,
          monitor: report.monitor,
          services: report.services.map((s) => ({ name: s.name, state: s.state, status: s.status ?? '' })),
        })) as ServicesOutcome,
    ),
  };
}

/** The state of the NUT services on a node or every node of a cluster. */
export function nutServices(db: Db, ref: string, ctx: RunContext): Promise<ServicesResult> {
  return servicesRun(db, ref, ctx, 'services');
}

/** Restart the NUT services (those of each node's mode), then report them. */
export function restartNut(db: Db, ref: string, ctx: RunContext): Promise<ServicesResult> {
  return servicesRun(db, ref, ctx, 'restart');
}
