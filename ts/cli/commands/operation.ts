import { UserError } from '../../errors.js';
import { resultsOf } from '../../doctor/store.js';
import { checksReport } from '../checks-output.js';
import {
  cancelOperation,
  getOperation,
  listEvents,
  listOperations,
  OPERATION_STATUSES,
  parseAge,
  pruneOperations,
  runRetry,
  type Operation,
  type OperationEvent,
  type OperationStatus,
} from '../../ops/index.js';
import { builder, command, group } from '../command.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { decimalOption, decimalPositional } from '../numbers.js';
import { details, print, printJson, table, terminalText } from '../output.js';
import { showOperation, stderrProgress } from '../progress.js';

type Args<T> = GlobalArgs & T;

function duration(op: Operation): string {
  if (!op.finishedAt) return '';
  const seconds = (Date.parse(op.finishedAt) - Date.parse(op.startedAt)) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)}s` : `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
}

function recapText(op: Operation): string {
  return Object.entries(op.recap)
    .map(([host, r]) => `${host} ok=${r.ok} changed=${r.changed} unreachable=${r.unreachable} failed=${r.failed} skipped=${r.skipped}`)
    .join('\n');
}

function failuresText(op: Operation): string {
  return Object.entries(op.failures)
    .map(([host, f]) => `${host} ${f.status}${f.ignored ? ' (ignored)' : ''}${f.task ? ` in ${f.task}` : ''}: ${f.message}`)
    .join('\n');
}

function eventsTable(events: OperationEvent[]): string {
  return table(
    ['SEQ', 'TIME', 'TYPE', 'TASK', 'HOST', 'STATUS', 'MESSAGE'],
    events.map((e) => [
      e.seq,
      e.time.slice(11, 23),
      e.type,
      e.type === 'play_start' ? e.play : e.taskIndex !== null ? `${e.taskIndex}/${e.taskCount ?? '?'} ${e.task ?? ''}` : e.task,
      e.host,
      e.type === 'retry' ? `attempt ${e.attempt ?? '?'}` : e.status,
      e.message,
    ]),
  );
}

/** How a followed or retried operation ended, in one line; not succeeding makes the exit code 2. */
function reportEnd(op: Operation, prefix = `Operation ${op.id} (${op.kind} ${op.target})`): void {
  print(`${prefix}: ${op.status}${op.exitMeaning ? ` (${op.exitMeaning})` : ''}`);
  if (op.status !== 'succeeded') process.exitCode = 2;
}

const list = command<Args<{ status?: OperationStatus; limit: number; json?: boolean }>>({
  command: 'list',
  describe: 'Recent operations, newest first',
  builder: builder<Args<{ status?: OperationStatus; limit: number; json?: boolean }>>((y) =>
    y
      .option('status', { type: 'string', choices: OPERATION_STATUSES })
      .option('limit', decimalOption('limit', { default: '20', describe: 'At most this many' }))
      .option('json', { type: 'boolean' })
      .example('$0 operation list --status failed --limit 5', 'The last five failures'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      if (!Number.isInteger(argv.limit) || argv.limit < 1) {
        throw new UserError(`invalid --limit ${argv.limit}: must be a whole number of at least 1`);
      }
      const ops = listOperations(db, { ...(argv.status ? { status: argv.status } : {}), limit: argv.limit });
      if (argv.json) return printJson(ops.map(({ log: _log, ...rest }) => rest));
      if (ops.length === 0) return print('No operations recorded yet');
      print(
        table(
          ['ID', 'KIND', 'TARGET', 'SOURCE', 'STATUS', 'EXIT', 'STARTED', 'TOOK'],
          ops.map((op) => [op.id, op.kind, op.target, op.source, op.status, op.exitCode, op.startedAt.replace('T', ' ').slice(0, 19), duration(op)]),
        ),
      );
    }),
});

const show = command<Args<{ id: number; log?: boolean; events?: boolean; json?: boolean }>>({
  command: 'show <id>',
  describe: 'One operation with its per-host recap and failures (--log prints the log, --events its steps)',
  builder: builder<Args<{ id: number; log?: boolean; events?: boolean; json?: boolean }>>((y) =>
    y
      .positional('id', decimalPositional('id', { demandOption: true, describe: 'Operation id' }))
      .option('log', { type: 'boolean', describe: 'Print the full log' })
      .option('events', { type: 'boolean', describe: 'Print its events: plays, tasks, host results, retries' })
      .option('json', { type: 'boolean' })
      .example('$0 operation show 12 --log', 'What happened in operation 12'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const op = getOperation(db, argv.id);
      const events = argv.events ? listEvents(db, op.id) : undefined;
      // A doctor run's check results (mko doctor), stored with the operation.
      const checks = resultsOf(db, op.id);
      if (argv.json) return printJson({ ...op, log: argv.log ? op.log : undefined, ...(events ? { events } : {}), ...(checks.length ? { checks } : {}) });
      print(
        details([
          ['id', op.id],
          ['kind', op.kind],
          ['target', op.target],
          ['playbook', op.playbook],
          ['command', op.args.join(' ')],
          ['source', op.source === 'mko' ? 'mko' : 'ansible-playbook (callback)'],
          ...(op.command ? ([['mko command', `mko ${op.command.join(' ')}`]] as [string, unknown][]) : []),
          ...(op.retryOf !== null ? ([['retry of', `operation ${op.retryOf}`]] as [string, unknown][]) : []),
          ['status', op.status],
          ['exit', op.exitCode === null ? op.exitMeaning : `${op.exitCode} (${op.exitMeaning ?? ''})`],
          ['started', op.startedAt],
          ['finished', op.finishedAt],
          ['took', duration(op)],
        ]),
      );
      const recap = recapText(op);
      if (recap) print(`\nRecap:\n${recap}`);
      const failures = failuresText(op);
      if (failures) print(`\nFailures:\n${terminalText(failures)}`);
      if (checks.length) print(`\nChecks:\n${checksReport(checks)}`);
      if (events) print(`\nEvents:\n${eventsTable(events)}`);
      if (argv.log) print(`\nLog:\n${terminalText(op.log)}`);
    }),
});

const cancel = command<Args<{ id: number; json?: boolean }>>({
  command: 'cancel <id>',
  describe: 'Stop a running operation (from any shell) and mark it cancelled',
  builder: builder<Args<{ id: number; json?: boolean }>>((y) =>
    y
      .positional('id', decimalPositional('id', { demandOption: true, describe: 'Operation id' }))
      .option('json', { type: 'boolean', describe: 'Print the final operation' })
      .example('$0 operation cancel 12', 'Stop operation 12 and wait until it has stopped'),
  ),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { outcome, operation: op } = await cancelOperation(db, argv.id);
      if (argv.json) return printJson({ ...op, log: undefined });
      if (outcome === 'cancelled') return print(`Cancelled operation ${op.id} (${op.kind} ${op.target})`);
      print(`Operation ${op.id} (${op.kind} ${op.target}) had lost the process running it: marked interrupted (${op.exitMeaning ?? ''})`);
    }),
});

const follow = command<Args<{ id: number }>>({
  command: 'follow <id>',
  describe: 'Follow an operation until it ends (from any shell): its progress line, or its log with --verbose',
  builder: builder<Args<{ id: number }>>((y) =>
    y
      .positional('id', decimalPositional('id', { demandOption: true, describe: 'Operation id' }))
      .example('$0 operation follow 12', 'Watch operation 12 progress')
      .example('$0 operation follow 12 --verbose', 'Tail its log'),
  ),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const op = await showOperation(db, argv.id, {
        verbose: argv.verbose === true,
        progress: stderrProgress(),
        log: (text) => process.stdout.write(text),
        signal: interruptSignal(),
      });
      if (op) reportEnd(op);
    }),
});

const retry = command<Args<{ id: number }>>({
  command: 'retry <id>',
  describe: 'Run a failed, cancelled or interrupted operation again, as a new operation linked to it',
  builder: builder<Args<{ id: number }>>((y) =>
    y
      .positional('id', decimalPositional('id', { demandOption: true, describe: 'Operation id' }))
      .example('$0 operation retry 12', 'Run operation 12 again with the same target and arguments'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(false);
      // A retried mko command shares this terminal: Ctrl-C reaches it as it reaches this process.
      const { operation: made, exitCode } = await runRetry(ctx.db, argv.id, {
        dbPath: ctx.dbPath,
        stdio: 'inherit',
        extraArgs: argv.verbose ? ['--verbose'] : [],
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      reportEnd(made, `Retry of operation ${argv.id}: operation ${made.id}`);
      if (made.status === 'succeeded' && exitCode) process.exitCode = exitCode;
    }),
});

const prune = command<Args<{ olderThan: string; kind: string[]; dryRun?: boolean; json?: boolean }>>({
  command: 'prune',
  describe: 'Forget finished operations older than an age, with their logs, events and check results',
  builder: builder<Args<{ olderThan: string; kind: string[]; dryRun?: boolean; json?: boolean }>>((y) =>
    y
      .option('older-than', { type: 'string', demandOption: true, describe: 'Age in days and hours: 30d, 12h, 1d12h' })
      .option('kind', { type: 'string', array: true, default: [], describe: 'Only operations of these kinds (see operation list)' })
      .option('dry-run', { type: 'boolean', describe: 'Count them, forget nothing' })
      .option('json', { type: 'boolean' })
      .example('$0 operation prune --older-than 90d', 'Forget what finished more than 90 days ago')
      .example('$0 operation prune --older-than 7d --kind health --dry-run', 'How many health checks runs are older than a week'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const result = pruneOperations(db, { olderThanMs: parseAge(argv.olderThan, '--older-than'), kinds: argv.kind, dryRun: argv.dryRun === true });
      if (argv.json) return printJson(result);
      const which = `operation(s)${argv.kind.length > 0 ? ` of kind ${argv.kind.join(', ')}` : ''} finished before ${result.before.replace('T', ' ').slice(0, 16)} UTC`;
      print(result.dryRun ? `Would forget ${result.operations} ${which}` : `Forgot ${result.operations} ${which}`);
    }),
});

export const operationCommand = group('operation', 'The history of every playbook run', [list, show, follow, cancel, retry, prune], ['$0 operation list', 'Recent operations']);
