// The UPS watcher (monitor start|stop|status) and what it recorded: events, history.
import { getUps, listEvents, listSamples, monitorStatus, runMonitor, stopMonitor } from '../../../power/index.js';
import { validate } from '../../../validate/index.js';
import { builder, command, group } from '../../command.js';
import { withContext } from '../../context.js';
import { decimalOption } from '../../numbers.js';
import { details, print, printJson, table } from '../../output.js';
import { duration, limitOf, percent, when, type Args } from './format.js';

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

export const monitor = group('monitor', 'The UPS watcher', [monitorStart, monitorStop, monitorStatusCommand], ['$0 ups monitor status', 'Is the watcher running?']);

type EventsArgs = Args<{ ups?: string; limit?: number; json?: boolean }>;
export const events = command<EventsArgs>({
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
export const history = command<HistoryArgs>({
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
