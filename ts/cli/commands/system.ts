import type { Argv } from 'yargs';
import { checkPrerequisites, type PrereqResult } from '../../prereq/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs, type Context } from '../context.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;
type CheckArgs = Args<{ target: string; json?: boolean }>;
type InstallArgs = Args<{ target: string; json?: boolean; 'apt-update': boolean }>;

/** ok, FAIL (hard), warn (recommendation), fixed. */
function resultWord(check: { ok: boolean; hard: boolean; fixed: boolean }): string {
  if (check.ok) return check.fixed ? 'fixed' : 'ok';
  return check.hard ? 'FAIL' : 'warn';
}

function report(result: PrereqResult, json: boolean | undefined): void {
  if (json) {
    printJson(result);
  } else {
    const rows = result.hosts.flatMap((h) =>
      h.status === 'reported'
        ? h.report.checks.map((c) => [h.host, c.name, resultWord(c), c.detail])
        : [[h.host, '-', h.status, h.reason]],
    );
    print(`\n${table(['NODE', 'CHECK', 'RESULT', 'DETAIL'], rows)}`);
    for (const h of result.hosts) {
      if (h.status === 'reported' && h.report.reboot_required) print(`${h.host}: reboot needed for the cgroup flags to take effect`);
    }
    const failed = result.hosts.flatMap((h) => (h.status === 'reported' ? h.report.checks.filter((c) => c.hard && !c.ok) : []));
    const silent = result.hosts.filter((h) => h.status !== 'reported').length;
    const verdict = result.passed
      ? `every hard check passed on ${result.hosts.length} node(s)`
      : [failed.length > 0 && `${failed.length} hard check(s) failed`, silent > 0 && `${silent} node(s) gave no report`].filter(Boolean).join(', ');
    print(`${result.target}: ${verdict} (operation ${result.operationId})`);
  }
  if (!result.passed) process.exitCode = 2;
}

function run(ctx: Context, argv: { target: string; json?: boolean }, fix: boolean, aptUpdate: boolean): Promise<PrereqResult> {
  const onOutput = streamTo(argv.json);
  return checkPrerequisites(ctx.db, argv.target, {
    fix,
    aptUpdate,
    dbPath: ctx.dbPath,
    dataDir: ctx.dataDir,
    signal: interruptSignal(),
    ...(onOutput ? { onOutput } : {}),
  });
}

const targetArg = (y: Argv<GlobalArgs>) =>
  y
    .positional('target', { type: 'string', demandOption: true, describe: 'Node (id or hostname) or cluster (id or name)' })
    .option('json', { type: 'boolean', describe: 'Print the per-node reports as JSON (no Ansible output)' });

const check = command<CheckArgs>({
  command: 'check-prerequisites <target>',
  describe: 'Check what MicroK8s needs on a node or cluster, changing nothing (exit 2 if a hard check fails)',
  builder: builder<CheckArgs>((y) =>
    targetArg(y)
      .example('$0 system check-prerequisites pi1', 'Check pi1')
      .example('$0 system check-prerequisites home --json', 'Check every node of cluster home, as JSON')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      report(await run(ctx, argv, false, false), argv.json);
    }),
});

const install = command<InstallArgs>({
  command: 'install-prerequisites <target>',
  describe: 'Fix what can be fixed (packages, snapd, Raspberry Pi cgroup flags), then check; never reboots',
  builder: builder<InstallArgs>((y) =>
    targetArg(y)
      .option('apt-update', { type: 'boolean', default: true, describe: 'Refresh the apt cache first (--no-apt-update where nodes have no apt network)' })
      .example('$0 system install-prerequisites pi1', 'Install what pi1 lacks')
      .example('$0 system install-prerequisites home --no-apt-update', 'Every node of home, without apt-get update')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      report(await run(ctx, argv, true, argv['apt-update']), argv.json);
    }),
});

export const systemCommand = group('system', groupDescription('system'), [check, install], [
  '$0 system check-prerequisites home',
  'Check every node of cluster home',
]);
