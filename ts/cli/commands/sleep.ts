import type { Argv } from 'yargs';
import { quote, UserError } from '../../errors.js';
import {
  applySleep,
  resolveScope,
  scopeOverrides,
  scopeSettings,
  setSleepable,
  settingText,
  SLEEP_DEFAULTS,
  SLEEP_LABELS,
  sleepNow,
  sleepStatus,
  writeOverrides,
  type SleepOverrides,
  type SleepRunResult,
} from '../../sleep/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type Context, type GlobalArgs } from '../context.js';
import type { CheckMode, RunContext } from '../../ops/index.js';
import { decimalOption } from '../numbers.js';
import { details, print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;

/** Progress (or --verbose's log) unless --json; Ctrl-C cancels; --check is Ansible's check mode. */
function runContext(ctx: Context, json: boolean | undefined, check?: boolean): RunContext & CheckMode {
  const onOutput = streamTo(json);
  return { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}), ...(check ? { check: true } : {}) };
}

const seconds = (n: number | null): string | null => (n === null ? null : `${n}s`);

function printStatus(result: SleepRunResult, json: boolean | undefined, withChecks: boolean, notes: string[] = []): void {
  if (json) return printJson(result);
  print(
    `\n${table(
      ['NODE', 'SLEEPABLE', 'ACTION', 'STATE', 'SLEEPS IN', 'DETAIL'],
      result.nodes.map((n) => [n.host, n.settings.sleepable ? 'yes' : 'no', n.settings.action, n.state, seconds(n.sleepsIn), n.detail]),
    )}`,
  );
  if (withChecks) {
    for (const n of result.nodes.filter((x) => x.checks.length > 0)) {
      print(`\n${n.host}:\n${table(['CHECK', 'STATE', 'DETAIL'], n.checks.map((c) => [c.check, c.state, c.detail]))}`);
    }
  }
  for (const n of result.nodes.filter((x) => x.recorded.length > 0)) {
    print(`${n.host}: its own sleeps and wakes recorded as operation(s) ${n.recorded.join(', ')}`);
  }
  for (const note of notes) print(note);
  print(`(operation ${result.operationId})`);
}

const failIfNot = (result: SleepRunResult): void => {
  if (!result.ok) process.exitCode = 2;
};

type NodeArgs = Args<{ node: string; check?: boolean; json?: boolean }>;
function sleepableCommand(name: 'enable' | 'disable') {
  const on = name === 'enable';
  return command<NodeArgs>({
    command: `${name} <node>`,
    describe: on
      ? 'Make a node sleepable: its auto-sleep timer runs (refused for a control-plane node when fewer than 2 others would stay awake)'
      : "Stop a node's auto-sleep timer (the node stays as it is)",
    builder: builder<NodeArgs>((y: Argv<GlobalArgs>) =>
      y
        .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
        .option('check', { type: 'boolean', describe: "Ansible's check mode: say what would change, store nothing" })
        .option('json', { type: 'boolean' })
        .example(`$0 sleep ${name} pi4`, on ? 'pi4 sleeps after its inactivity timeout' : 'pi4 stays awake')),
    handler: (argv) =>
      withContext(argv, async (ctx) => {
        const result = await setSleepable(ctx.db, argv.node, on, runContext(ctx, argv.json, argv.check));
        // Asleep or off: the setting is stored all the same, and the node gets it when it is back.
        const stored = argv.check ? [] : result.nodes.filter((x) => x.result === 'unreachable');
        printStatus(
          result,
          argv.json,
          false,
          stored.map((n) => `${n.host}: auto-sleep ${on ? 'enabled' : 'disabled'} in mko; the node gets it when it answers again (mko wol wake-node ${n.host} wakes it and applies it)`),
        );
        failIfNot(result);
      }),
  });
}

type ConfigArgs = Args<{
  target: string;
  timeout?: number;
  interval?: number;
  'cpu-load'?: number;
  'net-bytes'?: number;
  'exclude-namespaces'?: string;
  action?: string;
  drain?: boolean;
  'drain-timeout'?: number;
  grace?: number;
  'hooks-dir'?: string;
  command?: string[];
  'clear-commands'?: boolean;
  reset?: boolean;
  json?: boolean;
}>;

/** --command '["pgrep","-x","rsync"]': one argv list as JSON. */
function parseCommand(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UserError(`invalid --command ${quote(text)}: must be a JSON argument list, e.g. --command '["pgrep","-x","rsync"]'`);
  }
}

function overridesFrom(argv: ConfigArgs): SleepOverrides {
  const out: Record<string, unknown> = {};
  if (argv.timeout !== undefined) out['timeout'] = argv.timeout;
  if (argv.interval !== undefined) out['interval'] = argv.interval;
  if (argv['cpu-load'] !== undefined) out['cpuLoad'] = argv['cpu-load'];
  if (argv['net-bytes'] !== undefined) out['netBytesPerSecond'] = argv['net-bytes'];
  if (argv['exclude-namespaces'] !== undefined) out['excludedNamespaces'] = argv['exclude-namespaces'] === '' ? [] : argv['exclude-namespaces'].split(',').map((s) => s.trim());
  if (argv.action !== undefined) out['action'] = argv.action;
  if (argv.drain !== undefined) out['drain'] = argv.drain;
  if (argv['drain-timeout'] !== undefined) out['drainTimeout'] = argv['drain-timeout'];
  if (argv.grace !== undefined) out['grace'] = argv.grace;
  if (argv['hooks-dir'] !== undefined) out['hooksDir'] = argv['hooks-dir'];
  if (argv.command !== undefined) out['commands'] = argv.command.map(parseCommand);
  if (argv['clear-commands']) {
    if (argv.command !== undefined) throw new UserError('--command and --clear-commands contradict each other');
    out['commands'] = [];
  }
  return out as SleepOverrides;
}

const config = command<ConfigArgs>({
  command: 'config <target>',
  describe: 'Auto-sleep settings of a cluster, or a node\'s overrides (shows them without options); mko sleep apply sends them to the nodes',
  builder: builder<ConfigArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'Cluster (id or name) or node (id or hostname)' })
      .option('timeout', decimalOption('timeout', { describe: 'Seconds idle before the node sleeps', defaultDescription: String(SLEEP_DEFAULTS.timeout) }))
      .option('interval', decimalOption('interval', { describe: 'Seconds between two evaluations', defaultDescription: String(SLEEP_DEFAULTS.interval) }))
      .option('cpu-load', decimalOption('cpu-load', { describe: '1-minute load per CPU above which the node is busy', defaultDescription: String(SLEEP_DEFAULTS.cpuLoad) }))
      .option('net-bytes', decimalOption('net-bytes', { describe: 'Network bytes per second above which the node is busy', defaultDescription: String(SLEEP_DEFAULTS.netBytesPerSecond) }))
      .option('exclude-namespaces', { type: 'string', describe: 'Comma-separated namespaces whose pods do not keep a node awake', defaultDescription: 'kube-system' })
      .option('action', { type: 'string', describe: 'suspend or poweroff', defaultDescription: 'suspend' })
      .option('drain', { type: 'boolean', describe: 'Drain after cordoning (--no-drain: cordon only)' })
      .option('drain-timeout', decimalOption('drain-timeout', { describe: 'Bound on the drain, seconds', defaultDescription: String(SLEEP_DEFAULTS.drainTimeout) }))
      .option('grace', decimalOption('grace', { describe: 'Seconds between the notice and the sleep; activity cancels', defaultDescription: String(SLEEP_DEFAULTS.grace) }))
      .option('hooks-dir', { type: 'string', describe: 'Directory of pre-sleep hooks on the node', defaultDescription: SLEEP_DEFAULTS.hooksDir })
      .option('command', { type: 'string', array: true, nargs: 1, describe: 'A custom check as a JSON argument list (exit 0 = busy); repeat for more' })
      .option('clear-commands', { type: 'boolean', describe: 'Drop the custom checks' })
      .option('reset', { type: 'boolean', describe: 'Forget the stored settings of this cluster or node first (inherit again)' })
      .option('json', { type: 'boolean' })
      .example('$0 sleep config home --timeout 1800 --action poweroff', 'Every node of cluster home powers off after 30 idle minutes')
      .example(`$0 sleep config pi4 --command '["pgrep","-x","rsync"]'`, 'pi4 stays awake while rsync runs')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const scope = resolveScope(db, argv.target);
      const input = overridesFrom(argv);
      const stored = Object.keys(input).length > 0 || argv.reset ? writeOverrides(db, scope, input, { reset: argv.reset ?? false }) : scopeOverrides(db, scope);
      const effective = scopeSettings(db, scope, stored);
      if (argv.json) return printJson({ [scope.kind]: scope.name, stored, effective });
      print(`${scope.kind} ${scope.name} (* set here, the rest inherited)`);
      print(details(SLEEP_LABELS.map(([key, label]) => [label, `${settingText(effective[key])}${stored[key] !== undefined && stored[key] !== null ? ' *' : ''}`])));
    }),
});

type TargetArgs = Args<{ target: string; check?: boolean; json?: boolean }>;
const apply = command<TargetArgs>({
  command: 'apply <target>',
  describe: 'Install auto-sleep on a node or cluster and send it the stored settings (timer on where sleepable)',
  builder: builder<TargetArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'Node or cluster' })
      .option('check', { type: 'boolean', describe: "Ansible's check mode" })
      .option('json', { type: 'boolean' })
      .example('$0 sleep apply home', 'Every node of cluster home')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const result = await applySleep(ctx.db, argv.target, runContext(ctx, argv.json, argv.check));
      printStatus(result, argv.json, false);
      failIfNot(result);
    }),
});

const status = command<TargetArgs>({
  command: 'status <target>',
  describe: 'Per node and per check: why it is awake, or how long until it sleeps',
  builder: builder<TargetArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'Node or cluster' })
      .option('json', { type: 'boolean' })
      .example('$0 sleep status pi4', 'Every check on pi4')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const result = await sleepStatus(ctx.db, argv.target, runContext(ctx, argv.json));
      printStatus(result, argv.json, true);
      if (result.nodes.some((n) => n.state === 'failed')) process.exitCode = 2;
    }),
});

const now = command<NodeArgs>({
  command: 'now <node>',
  describe: 'Put a node to sleep now: pre-sleep hooks, voter re-check, cordon (and drain), then suspend or power off',
  builder: builder<NodeArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('check', { type: 'boolean', describe: "Ansible's check mode: say what would happen" })
      .option('json', { type: 'boolean' })
      .example('$0 sleep now pi4', 'pi4 goes to sleep; mko wol wake-node pi4 --wait brings it back')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const result = await sleepNow(ctx.db, argv.node, runContext(ctx, argv.json, argv.check));
      if (argv.json) printJson(result);
      else {
        print(`\n${table(['NODE', 'OUTCOME', 'CORDONED', 'DRAINED', 'OFF', 'REASON'], [[result.host, result.outcome, result.cordoned ? 'yes' : 'no', result.drained ? 'yes' : 'no', result.gone === null ? null : result.gone ? 'yes' : 'no', result.reason]])}`);
        print(`(operation ${result.operationId})`);
      }
      if (!result.ok) process.exitCode = 2;
    }),
});

export const sleepCommand = group('sleep', groupDescription('sleep'), [sleepableCommand('enable'), sleepableCommand('disable'), config, apply, status, now], [
  '$0 sleep status pi4',
  'Why pi4 is awake, or when it sleeps',
]);
