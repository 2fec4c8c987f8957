// mko health: the latest state of the cheap checks per node and cluster, the history of their
// changes, the watch that runs them, and where changes are sent.
import type { CheckStatus } from '../../health/checks.js';
import { deliveriesOf, getNotifier, listNotifiers, addNotifier, removeNotifier, type Notifier } from '../../health/notifiers.js';
import { latestStates, listHealthEvents, subjectHealth } from '../../health/store.js';
import { parseInterval } from '../../health/duration.js';
import { parseAge } from '../../ops/prune.js';
import { eventText } from '../../health/notify.js';
import type { HealthPass } from '../../health/watch.js';
import { UserError } from '../../errors.js';
import { builder, command, group } from '../command.js';
import { confirm, interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { groupDescription } from '../groups.js';
import { decimalOption } from '../numbers.js';
import { print, printJson, table } from '../output.js';
import { secretArg } from '../secret-arg.js';
import { limitOf, when } from './ups/format.js';

type Args<T> = GlobalArgs & T;

const MARK: Record<CheckStatus, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL', unknown: 'unknown' };

type ShowArgs = Args<{ subject?: string; json?: boolean }>;
const show = command<ShowArgs>({
  command: 'show [subject]',
  describe: 'The latest state of the cheap checks: per cluster and node, then each check that does not pass (with one subject: its every check)',
  builder: builder<ShowArgs>((y) =>
    y
      .positional('subject', { type: 'string', describe: 'A node hostname or cluster name: every check of it' })
      .option('json', { type: 'boolean' })
      .example('$0 health', 'Every cluster and node, and what fails')
      .example('$0 health show pi1', 'Every check of pi1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const states = latestStates(db, argv.subject !== undefined ? { subject: argv.subject } : {});
      if (argv.subject !== undefined) {
        if (states.length === 0) throw new UserError(`no check results for ${JSON.stringify(argv.subject)}: see mko health for the nodes and clusters checked, or run mko health watch --once`);
        if (argv.json) return printJson(states);
        return print(table(['CHECK', 'STATUS', 'SINCE', 'SUMMARY', 'FIX'], states.map((s) => [s.id, MARK[s.status], when(s.since), s.summary, s.fix])));
      }
      const subjects = subjectHealth(states);
      if (argv.json) return printJson(subjects);
      if (subjects.length === 0) return print('No check results yet: run mko health watch --once (or install the timer: ansible-playbook playbooks/health.yml)');
      print(table(['SCOPE', 'SUBJECT', 'STATUS', 'CHECKS', 'NOT PASSING', 'CHECKED'], subjects.map((s) => [s.scope, s.subject, MARK[s.status], s.checks, s.notPassing.map((c) => c.id).join(','), when(s.checkedAt)])));
      const problems = subjects.flatMap((s) => s.notPassing);
      if (problems.length > 0) {
        print(`\n${table(['SUBJECT', 'CHECK', 'STATUS', 'SINCE', 'SUMMARY', 'FIX'], problems.map((c) => [c.subject, c.id, MARK[c.status], when(c.since), c.summary, c.fix]))}`);
      }
    }),
});

type HistoryArgs = Args<{ subject?: string; check?: string; limit?: number; json?: boolean }>;
const history = command<HistoryArgs>({
  command: 'history',
  describe: 'Health events: each time a check changed status, newest first, and how its notifications went',
  builder: builder<HistoryArgs>((y) =>
    y
      .option('subject', { type: 'string', describe: 'Only this node or cluster' })
      .option('check', { type: 'string', describe: 'Only this check id, e.g. microk8s.services' })
      .option('limit', decimalOption('limit', { describe: 'At most this many, newest first', defaultDescription: '20' }))
      .option('json', { type: 'boolean' })
      .example('$0 health history --subject pi1', 'What changed on pi1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const events = listHealthEvents(db, {
        ...(argv.subject !== undefined ? { subject: argv.subject } : {}),
        ...(argv.check !== undefined ? { check: argv.check } : {}),
        limit: limitOf(argv.limit, 20),
      });
      const deliveries = deliveriesOf(db, events.map((e) => e.id));
      const rows = events.map((e) => ({ ...e, deliveries: deliveries.get(e.id) ?? [] }));
      if (argv.json) return printJson(rows);
      if (rows.length === 0) return print('No health events yet: nothing has changed status since the checks first ran (mko health watch)');
      print(
        table(
          ['ID', 'AT', 'SCOPE', 'SUBJECT', 'CHECK', 'CHANGE', 'SUMMARY', 'NOTIFIED'],
          rows.map((e) => [
            e.id,
            when(e.at),
            e.scope,
            e.subject,
            e.check,
            `${e.from ?? 'new'} -> ${e.to}`,
            e.summary,
            e.deliveries.map((d) => `${d.notifier} ${d.ok ? 'ok' : 'FAILED'}`).join(', '),
          ]),
        ),
      );
    }),
});

type WatchArgs = Args<{ targets?: string[]; interval: string; keep: string; once?: boolean; json?: boolean }>;
const watch = command<WatchArgs>({
  command: 'watch [targets..]',
  describe: 'Run the cheap checks (mko doctor --cheap) on a schedule: store each result, record an event when a check changes status, notify',
  builder: builder<WatchArgs>((y) =>
    y
      .positional('targets', { type: 'string', array: true, describe: 'Clusters or nodes to check (default: every cluster with nodes, and nodes in none)' })
      .option('interval', { type: 'string', nargs: 1, default: '5m', describe: 'Time between passes: 30s, 5m, 1h30m (10s to 24h)' })
      .option('keep', { type: 'string', nargs: 1, default: '7d', describe: "How long each pass's check run (its operation) is kept: 7d, 30d, 12h" })
      .option('once', { type: 'boolean', describe: 'One pass, then exit (what the systemd timer runs)' })
      .option('json', { type: 'boolean', describe: 'With --once: the pass as JSON' })
      .example('$0 health watch --once', 'One pass over the fleet')
      .example('$0 health watch --interval 2m', 'A pass every two minutes until stopped')),
  handler: async (argv) => {
    const intervalMs = parseInterval(argv.interval);
    const keepMs = parseAge(argv.keep, '--keep');
    if (argv.json && !argv.once) throw new UserError('--json goes with --once (one pass, one JSON document): add --once, or drop --json');
    // Loaded here: the watch runs playbooks, the other health commands only read.
    const { healthPass, passText, watchHealth } = await import('../../health/watch.js');
    await withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json || !argv.once);
      const run = { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) };
      const targets = argv.targets ?? [];
      const log = (line: string): void => print(`${new Date().toISOString()} ${line}`);
      /** A pass as log lines: what was checked, each change, each notifier that failed. */
      const logPass = (pass: HealthPass): void => {
        log(passText(pass));
        for (const e of pass.events) log(`change: ${eventText(e)}`);
        for (const d of pass.deliveries.filter((x) => !x.ok)) log(`notifier ${d.notifier} failed for ${d.retry ? 'earlier ' : ''}event ${d.eventId}: ${d.detail}`);
      };
      if (argv.once) {
        const pass = await healthPass(ctx.db, run, { targets, keepMs });
        if (argv.json) printJson(pass);
        else logPass(pass);
        // A target that could not be checked at all: the timer's unit shows it failed.
        if (pass.targets.some((t) => t.error !== null)) process.exitCode = 2;
        return;
      }
      log(`watching ${targets.length ? targets.join(', ') : 'the whole fleet'} every ${argv.interval} (pid ${process.pid})`);
      await watchHealth(ctx.db, run, {
        ...(targets.length ? { targets } : {}),
        intervalMs,
        keepMs,
        onPass: logPass,
        onError: (error) => log(`pass failed: ${error.message}`),
      });
      log('stopped');
    });
  },
});

const notifierTarget = (n: Notifier): string => (n.kind === 'command' ? (n.argv ?? []).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ') : `POST ${n.url ?? ''}`);

type AddArgs = Args<{ name: string; command?: string; arg?: string[]; webhook?: string; timeout?: number; json?: boolean }>;
const notifyAdd = command<AddArgs>({
  command: 'add <name>',
  describe: 'Send health events to a command (the event as JSON on its stdin, no shell) or a webhook (a JSON POST; the URL is kept as a secret)',
  builder: builder<AddArgs>((y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'A name for it, e.g. ops-mail' })
      .option('command', { type: 'string', nargs: 1, describe: 'The program to run, e.g. /usr/local/bin/notify-ops' })
      .option('arg', { type: 'string', array: true, nargs: 1, describe: 'One argument of the command, as it is (repeat for more)' })
      .option('webhook', { type: 'string', nargs: 1, describe: 'The URL to POST to (- reads it from stdin; stored as a secret, only its origin is ever shown)' })
      .option('timeout', decimalOption('timeout', { describe: 'Seconds a delivery may take', defaultDescription: '30' }))
      .option('json', { type: 'boolean' })
      .example('$0 health notify add ops --command /usr/local/bin/notify-ops --arg --channel --arg ops', 'A command')
      .example('$0 health notify add ntfy --webhook -', 'A webhook, its URL from stdin')),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      const notifier = addNotifier(db, dataDir, {
        name: argv.name,
        ...(argv.command !== undefined ? { command: argv.command } : {}),
        ...(argv.arg !== undefined ? { args: argv.arg.map(String) } : {}),
        ...(argv.webhook !== undefined ? { webhook: secretArg(argv.webhook, '--webhook') } : {}),
        ...(argv.timeout !== undefined ? { timeout: argv.timeout } : {}),
      });
      if (argv.json) return printJson(notifier);
      print(`Added notifier ${notifier.name}: ${notifierTarget(notifier)}`);
    }),
});

const notifyList = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'Where health events go, and how the last delivery went (webhook URLs show their origin only)',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 health notify list', 'Every notifier')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const notifiers = listNotifiers(db);
      if (argv.json) return printJson(notifiers);
      if (notifiers.length === 0) return print('No notifiers: add one with mko health notify add');
      print(
        table(
          ['NAME', 'KIND', 'SENDS TO', 'TIMEOUT', 'LAST', 'RESULT'],
          notifiers.map((n) => [n.name, n.kind, notifierTarget(n), `${n.timeout} s`, when(n.lastAt), n.lastOk === null ? null : `${n.lastOk ? 'ok' : 'FAILED'}: ${n.lastDetail ?? ''}`]),
        ),
      );
    }),
});

const notifyRemove = command<Args<{ name: string; yes?: boolean }>>({
  command: 'remove <name>',
  describe: 'Stop sending health events there (a webhook URL is removed from the secrets file)',
  builder: builder<Args<{ name: string; yes?: boolean }>>((y) =>
    y.positional('name', { type: 'string', demandOption: true }).option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' }).example('$0 health notify remove ops --yes', 'Forget ops')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const found = getNotifier(db, argv.name);
      if (!argv.yes) await confirm(`Remove notifier ${found.name}?`, '--yes');
      print(`Removed notifier ${removeNotifier(db, dataDir, found.name).name}`);
    }),
});

const notify = group('notify', 'Where health events are sent: commands and webhooks', [notifyAdd, notifyList, notifyRemove], ['$0 health notify list', 'Every notifier']);

export const healthCommand = group('health', groupDescription('health'), [show, history, watch, notify], ['$0 health', 'The latest state of every node and cluster'], { defaultCommand: show });
