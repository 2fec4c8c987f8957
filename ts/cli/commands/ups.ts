import type { Argv } from 'yargs';
import { quote, UserError } from '../../errors.js';
import {
  ACTIONS,
  addUps,
  createRule,
  deleteRule,
  EVENT_KINDS,
  getRule,
  getUps,
  listActions,
  listEvents,
  listRules,
  listSamples,
  listUpses,
  monitorStatus,
  nutServices,
  parseDriverOptions,
  removeUps,
  restartNut,
  runMonitor,
  scanNode,
  setRuleEnabled,
  setupUps,
  stopMonitor,
  testUps,
  upsLiveStatus,
  workloadText,
  type ActionStatus,
  type PowerRule,
  type ServicesResult,
} from '../../power/index.js';
import { validate } from '../../validate/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { confirm, interruptSignal, playbookContext, reportRun, streamTo, withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { details, print, printJson, table } from '../output.js';
import { secretArg } from '../secret-arg.js';

type Args<T> = GlobalArgs & T;

/** 1800 -> "30m 0s". */
function duration(seconds: number | null): string | null {
  if (seconds === null) return null;
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

const percent = (n: number | null): string | null => (n === null ? null : `${n}%`);
const when = (iso: string | null): string | null => (iso ? iso.replace('T', ' ').slice(0, 19) : null);

const listOptions = {
  limit: { type: 'integer', minimum: 1, maximum: 100000, hint: 'a whole number from 1 to 100000' },
};

function limitOf(value: number | undefined, fallback: number): number {
  const { limit } = validate<{ limit: number }>({ type: 'object', properties: listOptions }, { limit: value ?? fallback }, { limit: '--limit' });
  return limit;
}

type AddArgs = Args<{
  name: string;
  host: string;
  driver?: string;
  port?: string;
  description?: string;
  option?: string[];
  'upsd-port'?: number;
  user?: string;
  password?: string;
  json?: boolean;
}>;

const add = command<AddArgs>({
  command: 'add <name>',
  describe: 'Register a UPS: the node that runs its driver and upsd, the driver and its port',
  builder: builder<AddArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: "The UPS's name in NUT (upsc <name>@<host>)" })
      .option('host', { type: 'string', demandOption: true, describe: 'Node (id or hostname) the UPS is plugged into' })
      .option('driver', { type: 'string', describe: 'NUT driver', defaultDescription: 'usbhid-ups' })
      .option('port', { type: 'string', describe: "The driver's port", defaultDescription: 'auto' })
      .option('description', { type: 'string', describe: 'Free text' })
      .option('option', { type: 'string', array: true, describe: 'Further driver option key=value (repeatable), e.g. vendorid=0463' })
      .option('upsd-port', decimalOption('upsd-port', { describe: "upsd's TCP port", defaultDescription: '3493' }))
      .option('user', { type: 'string', describe: 'upsmon secondary account on this upsd', defaultDescription: 'upsmon_secondary' })
      // nargs 1 lets the value be "-" (stdin), which yargs otherwise takes for a positional.
      .option('password', { type: 'string', nargs: 1, describe: 'Its password (- reads it from stdin); stored as a secret, never shown. Made up when not given' })
      .option('json', { type: 'boolean' })
      .example('$0 ups add rack1 --host pi1', 'A USB UPS on pi1 (usbhid-ups, port auto)')
      .example('echo "$PW" | $0 ups add nas --host nas1 --driver usbhid-ups --user monuser --password -', 'An existing upsd account, password from stdin')),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      const ups = addUps(db, dataDir, {
        name: argv.name,
        host: argv.host,
        ...(argv.driver !== undefined ? { driver: argv.driver } : {}),
        ...(argv.port !== undefined ? { port: argv.port } : {}),
        ...(argv.description !== undefined ? { description: argv.description } : {}),
        ...(argv.option !== undefined ? { driverOptions: parseDriverOptions(argv.option) } : {}),
        ...(argv['upsd-port'] !== undefined ? { upsdPort: argv['upsd-port'] } : {}),
        ...(argv.user !== undefined ? { user: argv.user } : {}),
        ...(argv.password !== undefined ? { password: secretArg(argv.password, '--password') } : {}),
      });
      if (argv.json) return printJson(ups);
      print(`Added UPS ${ups.name} on ${ups.host} (${ups.driver}, port ${ups.port}); upsmon passwords stored as secrets`);
      print(`Next: mko ups setup ${ups.name}    # driver, upsd and upsmon on ${ups.host}, upsmon on its cluster's other nodes`);
    }),
});

const list = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'The registered UPSes',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 ups list', 'Every UPS')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const upses = listUpses(db);
      if (argv.json) return printJson(upses);
      if (upses.length === 0) return print('No UPS yet: mko ups scan <node>, then mko ups add <name> --host <node>');
      const rules = listRules(db);
      print(
        table(
          ['NAME', 'HOST', 'UPSD', 'DRIVER', 'PORT', 'SECONDARY USER', 'RULES', 'DESCRIPTION'],
          upses.map((u) => [u.name, u.host, `${u.address}:${u.upsdPort}`, u.driver, u.port, u.secondaryUser, rules.filter((r) => r.upsId === u.id).length, u.description]),
        ),
      );
    }),
});

const remove = command<Args<{ ups: string; yes?: boolean }>>({
  command: 'remove <ups>',
  describe: 'Forget a UPS, its rules, events and stored passwords (the nodes keep their NUT files)',
  builder: builder<Args<{ ups: string; yes?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', demandOption: true }).option('yes', { type: 'boolean', describe: 'Do not ask' }).example('$0 ups remove rack1 --yes', 'Forget rack1')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const ups = getUps(db, argv.ups);
      if (!argv.yes) await confirm(`Remove UPS ${ups.name} with its rules and events?`, '--yes');
      removeUps(db, dataDir, ups.name);
      print(`Removed UPS ${ups.name}`);
    }),
});

type SetupArgs = Args<{ ups: string; secondaries?: string; 'shutdown-cmd'?: string; check?: boolean }>;
const setup = command<SetupArgs>({
  command: 'setup <ups>',
  describe: "Run the nut role: driver, upsd and upsmon (primary) on the UPS's host, upsmon (secondary) on the other nodes",
  builder: builder<SetupArgs>((y) =>
    y
      .positional('ups', { type: 'string', demandOption: true })
      .option('secondaries', { type: 'string', describe: 'Comma-separated nodes or clusters whose upsmon follows this UPS', defaultDescription: "the UPS host's cluster" })
      .option('shutdown-cmd', { type: 'string', describe: "upsmon's SHUTDOWNCMD", defaultDescription: '/sbin/shutdown -h +0' })
      .option('check', { type: 'boolean', describe: 'Only show what would change (Ansible --check --diff)' })
      .example('$0 ups setup rack1', 'rack1 on its host, every other node of that cluster as secondary')
      .example('$0 ups setup rack1 --secondaries home,media', 'Secondaries in two clusters')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const result = await setupUps(ctx.db, argv.ups, {
        ...playbookContext(ctx, argv.check),
        ...(argv.secondaries !== undefined ? { secondaries: argv.secondaries.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(argv['shutdown-cmd'] !== undefined ? { shutdownCmd: argv['shutdown-cmd'] } : {}),
      });
      reportRun(`NUT for UPS ${argv.ups}`, result);
    }),
});

type NodeArgs = Args<{ node: string; json?: boolean }>;
const scan = command<NodeArgs>({
  command: 'scan <node>',
  describe: 'Run nut-scanner on a node and offer a ready `mko ups add` line for each UPS it finds',
  builder: builder<NodeArgs>((y) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('json', { type: 'boolean', describe: 'Print the findings as JSON (no Ansible output)' })
      .example('$0 ups scan pi1', 'Look for UPSes plugged into pi1')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      const result = await scanNode(ctx.db, argv.node, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) });
      if (argv.json) printJson(result);
      else {
        print('');
        for (const host of result.hosts) {
          if (host.status !== 'scanned') {
            print(`${host.host}: ${host.status}: ${host.reason}`);
          } else if (host.devices.length === 0) {
            print(`${host.host}: nut-scanner found no UPS${host.messages ? ` (${host.messages.split('\n')[0]})` : ''}.`);
            print('A UPS on a USB port shows up here once it is plugged in; a lab host or VM has none. Add one by hand with mko ups add.');
          } else {
            print(`${host.host}: nut-scanner found ${host.devices.length} UPS(es):`);
            print(table(['SECTION', 'DRIVER', 'PORT', 'DETAILS'], host.devices.map((d) => [d.section, d.driver, d.port, Object.entries(d.options).map(([k, v]) => `${k}=${v}`).join(' ')])));
            if (host.suggestions.length > 0) print('\nTo use one:');
            for (const line of host.suggestions) print(`  ${line}`);
            for (const line of host.rejected) print(`${host.host}: ${line}`);
          }
        }
        print(`(operation ${result.operationId})`);
      }
      if (result.hosts.some((h) => h.status !== 'scanned')) process.exitCode = 2;
    }),
});

const status = command<Args<{ ups?: string; json?: boolean }>>({
  command: 'status [ups]',
  describe: 'Read each UPS live from its upsd: status flags, charge, runtime, load, input voltage',
  builder: builder<Args<{ ups?: string; json?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', describe: 'One UPS (default: all)' }).option('json', { type: 'boolean' }).example('$0 ups status', 'Every UPS, now')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const rows = await upsLiveStatus(db, argv.ups);
      if (argv.json) printJson(rows);
      else {
        print(
          table(
            ['UPS', 'HOST', 'STATUS', 'FLAGS', 'CHARGE', 'RUNTIME', 'LOAD', 'INPUT'],
            rows.map((r) => [r.ups, r.host, r.ok ? r.status : 'unreadable', r.ok ? r.flags : r.error, percent(r.charge), duration(r.runtime), percent(r.load), r.inputVoltage === null ? null : `${r.inputVoltage} V`]),
          ),
        );
      }
      if (rows.some((r) => !r.ok)) process.exitCode = 2;
    }),
});

const test = command<Args<{ ups?: string; json?: boolean }>>({
  command: 'test [ups]',
  describe: "Check that upsd answers, serves the UPS with fresh data (not DATA-STALE) and takes upsmon's login",
  builder: builder<Args<{ ups?: string; json?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', describe: 'One UPS (default: all)' }).option('json', { type: 'boolean' }).example('$0 ups test rack1', 'Check rack1')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const results = await testUps(db, dataDir, argv.ups);
      if (argv.json) printJson(results);
      else {
        print(table(['UPS', 'CHECK', 'RESULT', 'DETAIL'], results.flatMap((r) => r.checks.map((c) => [r.ups, c.name, c.ok ? 'ok' : 'FAIL', c.detail]))));
        for (const r of results) print(`${r.ups} (${r.upsd}): ${r.ok ? 'ok' : 'not ok'}`);
      }
      if (results.some((r) => !r.ok)) process.exitCode = 2;
    }),
});

function printServices(result: ServicesResult, json: boolean | undefined, what: string): void {
  if (json) printJson(result);
  else {
    print(
      `\n${table(
        ['NODE', 'MODE', 'UPSMON', 'SERVICE', 'STATE', 'STATUS'],
        result.hosts.flatMap((h) =>
          h.status !== 'reported'
            ? [[h.host, h.status, null, null, null, h.reason]]
            : h.services.length === 0
              ? [[h.host, h.mode, h.monitor.join(','), 'no NUT unit', null, null]]
              : h.services.map((s) => [h.host, h.mode, h.monitor.join(','), s.name, s.state, s.status]),
        ),
      )}`,
    );
    print(`${what}: ${result.status} (operation ${result.operationId})`);
  }
  if (result.status !== 'succeeded' || result.hosts.some((h) => h.status !== 'reported')) process.exitCode = 2;
}

type TargetArgs = Args<{ target: string; json?: boolean }>;
const targetArg = (y: Argv<GlobalArgs>) =>
  y
    .positional('target', { type: 'string', demandOption: true, describe: 'Node (id or hostname) or cluster (id or name)' })
    .option('json', { type: 'boolean', describe: 'Print the per-node results as JSON (no Ansible output)' });

const services = command<TargetArgs>({
  command: 'services <target>',
  describe: 'The state of the NUT services (driver, upsd, upsmon) on a node or cluster',
  builder: builder<TargetArgs>((y) => targetArg(y).example('$0 ups services home --json', 'Every node of cluster home, as JSON')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      printServices(await nutServices(ctx.db, argv.target, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }), argv.json, 'NUT services');
    }),
});

const restart = command<TargetArgs>({
  command: 'restart <target>',
  describe: "Restart the NUT services of each node's mode (netserver: driver, upsd, upsmon; netclient: upsmon)",
  builder: builder<TargetArgs>((y) => targetArg(y).example('$0 ups restart pi1', 'Restart NUT on pi1')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      printServices(await restartNut(ctx.db, argv.target, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }), argv.json, 'NUT restart');
    }),
});

type StartArgs = Args<{ interval: number; 'dead-time': number; 'sample-every': number; 'late-limit': number }>;
const monitorSchema = {
  type: 'object',
  properties: {
    interval: { type: 'number', minimum: 0.1, maximum: 60, hint: 'seconds from 0.1 to 60' },
    deadTime: { type: 'number', minimum: 1, maximum: 3600, hint: 'seconds from 1 to 3600' },
    sampleEvery: { type: 'number', minimum: 1, maximum: 86400, hint: 'seconds from 1 to 86400' },
    lateLimit: { type: 'number', minimum: 0, maximum: 604800, hint: 'seconds from 0 to 604800' },
  },
};

const monitorStart = command<StartArgs>({
  command: 'start',
  describe: 'Run the UPS watcher in the foreground (for systemd): poll every UPS, detect events, run the rules',
  builder: builder<StartArgs>((y) =>
    y
      .option('interval', decimalOption('interval', { default: '1', describe: 'Seconds between polls' }))
      .option('dead-time', decimalOption('dead-time', { default: '15', describe: 'Seconds without data before communication counts as lost (critical when on battery)' }))
      .option('sample-every', decimalOption('sample-every', { default: '10', describe: 'Seconds between stored status samples (changes are always stored)' }))
      .option('late-limit', decimalOption('late-limit', { default: '600', describe: 'At start, actions overdue by more than this many seconds are expired instead of run' }))
      .example('$0 ups monitor start', 'Watch every UPS until stopped (SIGTERM, Ctrl-C or mko ups monitor stop)')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const settings = validate<{ interval: number; deadTime: number; sampleEvery: number; lateLimit: number }>(
        monitorSchema,
        { interval: argv.interval, deadTime: argv['dead-time'], sampleEvery: argv['sample-every'], lateLimit: argv['late-limit'] },
        { interval: '--interval', deadTime: '--dead-time', sampleEvery: '--sample-every', lateLimit: '--late-limit' },
      );
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      const log = (line: string): void => print(`${new Date().toISOString()} ${line}`);
      await runMonitor({
        db: ctx.db,
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: controller.signal,
        log,
        intervalMs: settings.interval * 1000,
        deadTimeMs: settings.deadTime * 1000,
        sampleEveryMs: settings.sampleEvery * 1000,
        lateLimitMs: settings.lateLimit * 1000,
        onStarted: (report) => {
          log(
            `started (pid ${process.pid}): ${report.rearmed.length} pending action(s) re-armed, ${report.late.length} run late, ${report.expired.length} expired, ${report.interrupted.length} interrupted`,
          );
        },
      });
      log('stopped');
    }),
});

const monitorStop = command<Args<object>>({
  command: 'stop',
  describe: 'Stop the running UPS watcher (its pending actions stay scheduled for the next start)',
  builder: builder<Args<object>>((y) => y.example('$0 ups monitor stop', 'Stop the watcher')),
  handler: (argv) =>
    withContext(argv, async ({ dbPath }) => {
      const info = await stopMonitor(dbPath);
      print(info ? `Stopped the UPS monitor (pid ${info.pid}, running since ${info.startedAt})` : 'No UPS monitor is running');
    }),
});

const monitorStatusCommand = command<Args<{ json?: boolean }>>({
  command: 'status',
  describe: 'Whether the UPS watcher runs, since when, and its last poll of each UPS',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 ups monitor status', 'Is the watcher running?')),
  handler: (argv) =>
    withContext(argv, ({ db, dbPath }) => {
      const s = monitorStatus(db, dbPath);
      if (argv.json) return printJson(s);
      print(
        details([
          ['running', s.running ? `yes (pid ${s.pid})` : 'no'],
          ['since', s.startedAt],
          ['interval', s.intervalMs !== null ? `${s.intervalMs / 1000} s` : null],
          ['last poll', s.lastPollAt],
          ['pending', `${s.pendingActions} action(s)`],
        ]),
      );
      if (s.upses.length > 0) print(`\n${table(['UPS', 'LAST POLL', 'STATUS', 'ERROR'], s.upses.map((u) => [u.ups, u.polledAt, u.status, u.error]))}`);
    }),
});

const monitor = group('monitor', 'The UPS watcher', [monitorStart, monitorStop, monitorStatusCommand], ['$0 ups monitor status', 'Is the watcher running?']);

type EventsArgs = Args<{ ups?: string; limit?: number; json?: boolean }>;
const events = command<EventsArgs>({
  command: 'events',
  describe: 'What the watcher detected: power_loss, low_battery, critical_battery, power_restored, comm_lost, comm_restored',
  builder: builder<EventsArgs>((y) =>
    y
      .option('ups', { type: 'string', describe: 'Only this UPS' })
      .option('limit', decimalOption('limit', { describe: 'At most this many, newest first', defaultDescription: '20' }))
      .option('json', { type: 'boolean' })
      .example('$0 ups events --ups rack1 --limit 5', 'The last five events of rack1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const rows = listEvents(db, { ...(argv.ups !== undefined ? { upsId: getUps(db, argv.ups).id } : {}), limit: limitOf(argv.limit, 20) });
      if (argv.json) return printJson(rows);
      if (rows.length === 0) return print('No events yet (is the watcher running? mko ups monitor status)');
      print(table(['ID', 'AT', 'UPS', 'EVENT', 'STATUS', 'CHARGE', 'RUNTIME', 'DETAIL'], rows.map((e) => [e.id, when(e.at), e.ups, e.kind, e.status, percent(e.charge), duration(e.runtime), e.detail])));
    }),
});

type HistoryArgs = Args<{ ups: string; limit?: number; json?: boolean }>;
const history = command<HistoryArgs>({
  command: 'history <ups>',
  describe: "A UPS's sampled status history (one sample per period, plus every change)",
  builder: builder<HistoryArgs>((y) =>
    y
      .positional('ups', { type: 'string', demandOption: true })
      .option('limit', decimalOption('limit', { describe: 'At most this many, newest first', defaultDescription: '20' }))
      .option('json', { type: 'boolean' })
      .example('$0 ups history rack1', 'The last samples of rack1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const rows = listSamples(db, getUps(db, argv.ups).id, limitOf(argv.limit, 20));
      if (argv.json) return printJson(rows);
      print(table(['AT', 'STATUS', 'CHARGE', 'RUNTIME', 'LOAD', 'INPUT', 'ERROR'], rows.map((s) => [when(s.at), s.status, percent(s.charge), duration(s.runtime), percent(s.load), s.inputVoltage, s.error])));
    }),
});

const ACTION_STATUSES: ActionStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'expired', 'interrupted'];
type ActionsArgs = Args<{ status?: string; rule?: string; limit?: number; json?: boolean }>;
const actions = command<ActionsArgs>({
  command: 'actions',
  describe: 'Actions the rules scheduled, ran, or cancelled (with the event that caused each and its operation)',
  builder: builder<ActionsArgs>((y) =>
    y
      .option('status', { type: 'string', describe: ACTION_STATUSES.join('|') })
      .option('rule', { type: 'string', describe: 'Only this rule' })
      .option('limit', decimalOption('limit', { defaultDescription: '20' }))
      .option('json', { type: 'boolean' })
      .example('$0 ups actions --status cancelled', 'Actions power coming back cancelled')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      if (argv.status !== undefined && !ACTION_STATUSES.includes(argv.status as ActionStatus)) {
        throw new UserError(`invalid --status ${quote(argv.status)}: must be one of ${ACTION_STATUSES.join(', ')}`);
      }
      const rows = listActions(db, {
        ...(argv.status !== undefined ? { status: argv.status as ActionStatus } : {}),
        ...(argv.rule !== undefined ? { ruleId: getRule(db, argv.rule).id } : {}),
        limit: limitOf(argv.limit, 20),
      });
      if (argv.json) return printJson(rows);
      printActions(rows);
    }),
});

function printActions(rows: ReturnType<typeof listActions>): void {
  if (rows.length === 0) return print('No actions yet');
  print(
    table(
      ['ID', 'RULE', 'ACTION', 'CLUSTER', 'EVENT', 'STATUS', 'DUE', 'STARTED', 'OPERATION', 'DETAIL'],
      rows.map((a) => [a.id, a.rule, a.action, a.cluster, `${a.eventId} ${a.event}`, a.status, when(a.dueAt), when(a.startedAt), a.operationId, a.detail]),
    ),
  );
}

type CreateArgs = Args<{
  ups: string;
  cluster: string;
  event: string;
  action: string;
  name?: string;
  'battery-threshold'?: number;
  'action-delay'?: number;
  priority?: number;
  workloads?: string;
  command?: string;
  'command-timeout'?: number;
  'drain-timeout'?: number;
  disabled?: boolean;
  json?: boolean;
}>;

function printRule(rule: PowerRule): void {
  print(
    details([
      ['rule', `${rule.name} (id ${rule.id})`],
      ['when', `${rule.event}${rule.batteryThreshold !== null ? ` at ${rule.batteryThreshold}% charge` : ''} on UPS ${rule.ups}`],
      ['do', `${rule.action} on cluster ${rule.cluster}`],
      ['delay', `${rule.actionDelay} s`],
      ['priority', rule.priority],
      ['enabled', rule.enabled ? 'yes' : 'no'],
      ['command', rule.options.command],
      ['workloads', rule.options.workloads?.map(workloadText).join(', ')],
      ['drain timeout', rule.options.drainTimeout !== undefined ? `${rule.options.drainTimeout} s` : null],
      ['executions', rule.executionCount],
      ['last run', rule.lastRunAt],
      ['last result', rule.lastResult],
    ]),
  );
}

const rulesCreate = command<CreateArgs>({
  command: 'create <ups> <cluster> <event> <action>',
  describe: `When <event> happens on <ups>, do <action> to <cluster>. Events: ${EVENT_KINDS.join(', ')}. Actions: ${ACTIONS.join(', ')}`,
  builder: builder<CreateArgs>((y) =>
    y
      .positional('ups', { type: 'string', demandOption: true })
      .positional('cluster', { type: 'string', demandOption: true })
      .positional('event', { type: 'string', demandOption: true })
      .positional('action', { type: 'string', demandOption: true })
      .option('name', { type: 'string', describe: 'Rule name', defaultDescription: '<ups>-<event>-<action>' })
      .option('battery-threshold', decimalOption('battery-threshold', { describe: 'low_battery: fire at this charge (%) or under; without it, when the UPS says LB' }))
      .option('action-delay', decimalOption('action-delay', { describe: 'Seconds to wait first; power coming back in the meantime cancels it', defaultDescription: '0' }))
      .option('priority', decimalOption('priority', { describe: 'Larger runs first when several actions for one cluster are due (a cluster’s --priority is the other way round: lower powers on first)', defaultDescription: '0' }))
      .option('workloads', { type: 'string', describe: 'scale_down/scale_up: namespace/deployment or namespace/kind/name, comma-separated' })
      .option('command', { type: 'string', describe: 'notify: shell command; gets MKO_EVENT, MKO_UPS, MKO_CLUSTER, MKO_CHARGE, MKO_RUNTIME, MKO_STATUS ...' })
      .option('command-timeout', decimalOption('command-timeout', { describe: 'notify: seconds before the command is stopped', defaultDescription: '60' }))
      .option('drain-timeout', decimalOption('drain-timeout', { describe: 'graceful_shutdown: seconds each node drain may take' }))
      .option('disabled', { type: 'boolean', describe: 'Create it disabled' })
      .option('json', { type: 'boolean' })
      .example('$0 ups rules create rack1 home power_loss graceful_shutdown --action-delay 120 --name home-off', 'Shut home down after 2 minutes on battery')
      .example('$0 ups rules create rack1 home power_restored startup', 'Start it again when power is back')
      .example('$0 ups rules create rack1 home power_loss scale_down --workloads media/jellyfin,default/web', 'Shed load at once')
      .example("$0 ups rules create rack1 home low_battery notify --battery-threshold 50 --command 'logger -t ups \"$MKO_UPS at $MKO_CHARGE%\"'", 'Log at 50%')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const rule = createRule(db, {
        ups: argv.ups,
        cluster: argv.cluster,
        event: argv.event,
        action: argv.action,
        ...(argv.name !== undefined ? { name: argv.name } : {}),
        ...(argv['battery-threshold'] !== undefined ? { batteryThreshold: argv['battery-threshold'] } : {}),
        ...(argv['action-delay'] !== undefined ? { actionDelay: argv['action-delay'] } : {}),
        ...(argv.priority !== undefined ? { priority: argv.priority } : {}),
        ...(argv.workloads !== undefined ? { workloads: argv.workloads } : {}),
        ...(argv.command !== undefined ? { command: argv.command } : {}),
        ...(argv['command-timeout'] !== undefined ? { commandTimeout: argv['command-timeout'] } : {}),
        ...(argv['drain-timeout'] !== undefined ? { drainTimeout: argv['drain-timeout'] } : {}),
        ...(argv.disabled ? { enabled: false } : {}),
      });
      if (argv.json) return printJson(rule);
      print(`Created rule ${rule.name} (id ${rule.id}): ${rule.event} on ${rule.ups} -> ${rule.action} on ${rule.cluster}${rule.actionDelay > 0 ? ` after ${rule.actionDelay} s` : ''}`);
    }),
});

const rulesList = command<Args<{ ups?: string; json?: boolean }>>({
  command: 'list',
  describe: 'Every power rule',
  builder: builder<Args<{ ups?: string; json?: boolean }>>((y) =>
    y.option('ups', { type: 'string', describe: 'Only this UPS' }).option('json', { type: 'boolean' }).example('$0 ups rules list', 'Every rule')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const rules = listRules(db, argv.ups !== undefined ? { ups: argv.ups } : {});
      if (argv.json) return printJson(rules);
      if (rules.length === 0) return print('No rules yet: mko ups rules create <ups> <cluster> <event> <action>');
      print(
        table(
          ['ID', 'NAME', 'UPS', 'EVENT', 'THRESHOLD', 'ACTION', 'CLUSTER', 'DELAY', 'PRIORITY', 'ENABLED', 'RUNS', 'LAST RESULT'],
          rules.map((r) => [r.id, r.name, r.ups, r.event, percent(r.batteryThreshold), r.action, r.cluster, `${r.actionDelay}s`, r.priority, r.enabled ? 'yes' : 'no', r.executionCount, r.lastResult]),
        ),
      );
    }),
});

const rulesShow = command<Args<{ rule: string; json?: boolean }>>({
  command: 'show <rule>',
  describe: 'One rule, with its latest actions',
  builder: builder<Args<{ rule: string; json?: boolean }>>((y) =>
    y.positional('rule', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }).example('$0 ups rules show home-off', 'Rule home-off')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const rule = getRule(db, argv.rule);
      const recent = listActions(db, { ruleId: rule.id, limit: 10 });
      if (argv.json) return printJson({ ...rule, actions: recent });
      printRule(rule);
      print('');
      printActions(recent);
    }),
});

function toggle(name: 'enable' | 'disable') {
  return command<Args<{ rule: string }>>({
    command: `${name} <rule>`,
    describe: name === 'enable' ? 'Enable a rule' : 'Disable a rule (its pending actions are dropped when they fall due)',
    builder: builder<Args<{ rule: string }>>((y) => y.positional('rule', { type: 'string', demandOption: true }).example(`$0 ups rules ${name} home-off`, `${name} home-off`)),
    handler: (argv) =>
      withContext(argv, ({ db }) => {
        const rule = setRuleEnabled(db, argv.rule, name === 'enable');
        print(`Rule ${rule.name} ${rule.enabled ? 'enabled' : 'disabled'}`);
      }),
  });
}

const rulesDelete = command<Args<{ rule: string; yes?: boolean }>>({
  command: 'delete <rule>',
  describe: 'Delete a rule and its action history',
  builder: builder<Args<{ rule: string; yes?: boolean }>>((y) =>
    y.positional('rule', { type: 'string', demandOption: true }).option('yes', { type: 'boolean', describe: 'Do not ask' }).example('$0 ups rules delete home-off --yes', 'Delete home-off')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const rule = getRule(db, argv.rule);
      if (!argv.yes) await confirm(`Delete rule ${rule.name}?`, '--yes');
      deleteRule(db, rule.name);
      print(`Deleted rule ${rule.name}`);
    }),
});

const rules = group('rules', 'Power rules: what to do to a cluster when a UPS event happens', [rulesCreate, rulesList, rulesShow, toggle('enable'), toggle('disable'), rulesDelete], [
  '$0 ups rules create rack1 home power_loss graceful_shutdown --action-delay 120',
  'Shut cluster home down after 2 minutes on battery',
]);

export const upsCommand = group('ups', groupDescription('ups'), [add, list, remove, setup, scan, status, test, services, restart, monitor, events, history, actions, rules], [
  '$0 ups status',
  'Every UPS, read live from upsd',
]);
