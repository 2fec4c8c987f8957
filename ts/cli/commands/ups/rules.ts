// Power rules and the actions they scheduled: rules create|list|show|enable|disable|delete, actions.
import { quote, UserError } from '../../../errors.js';
import {
  ACTIONS,
  createRule,
  deleteRule,
  EVENT_KINDS,
  getRule,
  listActions,
  listRules,
  setRuleEnabled,
  workloadText,
  type ActionStatus,
  type PowerRule,
} from '../../../power/index.js';
import { builder, command, group } from '../../command.js';
import { confirm, withContext } from '../../context.js';
import { decimalOption } from '../../numbers.js';
import { details, print, printJson, table } from '../../output.js';
import { limitOf, percent, when, type Args } from './format.js';

const ACTION_STATUSES: ActionStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'expired', 'interrupted'];
type ActionsArgs = Args<{ status?: string; rule?: string; limit?: number; json?: boolean }>;
export const actions = command<ActionsArgs>({
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

export const rules = group('rules', 'Power rules: what to do to a cluster when a UPS event happens', [rulesCreate, rulesList, rulesShow, toggle('enable'), toggle('disable'), rulesDelete], [
  '$0 ups rules create rack1 home power_loss graceful_shutdown --action-delay 120',
  'Shut cluster home down after 2 minutes on battery',
]);
