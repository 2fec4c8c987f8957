import { UserError } from '../../errors.js';
import { cancelOperation, getOperation, listOperations, OPERATION_STATUSES, type Operation, type OperationStatus } from '../../ops/index.js';
import { builder, command, group } from '../command.js';
import { withContext, type GlobalArgs } from '../context.js';
import { decimalOption, decimalPositional } from '../numbers.js';
import { details, print, printJson, table } from '../output.js';

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

const show = command<Args<{ id: number; log?: boolean; json?: boolean }>>({
  command: 'show <id>',
  describe: 'One operation with its per-host recap (--log prints the Ansible log)',
  builder: builder<Args<{ id: number; log?: boolean; json?: boolean }>>((y) =>
    y
      .positional('id', decimalPositional('id', { demandOption: true, describe: 'Operation id' }))
      .option('log', { type: 'boolean', describe: 'Print the full log' })
      .option('json', { type: 'boolean' })
      .example('$0 operation show 12 --log', 'What happened in operation 12'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const op = getOperation(db, argv.id);
      if (argv.json) return printJson(argv.log ? op : { ...op, log: undefined });
      print(
        details([
          ['id', op.id],
          ['kind', op.kind],
          ['target', op.target],
          ['playbook', op.playbook],
          ['command', op.args.join(' ')],
          ['source', op.source === 'mko' ? 'mko' : 'ansible-playbook (callback)'],
          ['status', op.status],
          ['exit', op.exitCode === null ? op.exitMeaning : `${op.exitCode} (${op.exitMeaning ?? ''})`],
          ['started', op.startedAt],
          ['finished', op.finishedAt],
          ['took', duration(op)],
        ]),
      );
      const recap = recapText(op);
      if (recap) print(`\nRecap:\n${recap}`);
      if (argv.log) print(`\nLog:\n${op.log}`);
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

export const operationCommand = group('operation', 'The history of every playbook run', [list, show, cancel], ['$0 operation list', 'Recent operations']);
