import type { Argv } from 'yargs';
import { UserError } from '../../errors.js';
import { fleetTargets, getNode, resolveTarget } from '../../fleet/index.js';
import {
  cpuBrief,
  diffReports,
  disksBrief,
  formatChange,
  formatMb,
  latestReport,
  listReports,
  reportBefore,
  reportById,
  summarizeReport,
  type HardwareChange,
  type StoredReport,
} from '../../hardware/index.js';
import type { RecordedCollect } from '../../health/hardware.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { playbookContext, withContext, type GlobalArgs } from '../context.js';
import { print, printJson, table, terminalText } from '../output.js';
import { decimalOption } from '../numbers.js';

type Args<T> = GlobalArgs & T;
type CollectArgs = Args<{ targets?: string[]; json?: boolean }>;
type ShowArgs = Args<{ node: string; json?: boolean; history?: boolean; diff?: boolean; against?: number }>;

/** The CHANGES cell of a collected host: against its previous report. */
const changesCell = (changes: HardwareChange[] | null): string => (changes === null ? 'first report' : changes.length === 0 ? 'none' : String(changes.length));

/** One target's collection as the JSON of `collect --json`. */
const collectJson = (result: RecordedCollect) => ({
  target: result.target,
  operation: result.operationId,
  status: result.status,
  hosts: result.hosts.map((h) =>
    h.status === 'stored'
      ? { host: h.host, status: h.status, report: h.reportId, collectedAt: h.report.collected_at, wolMacFilled: h.wolMacFilled, changes: h.changes }
      : { host: h.host, status: h.status, reason: h.reason },
  ),
  events: result.events.map((e) => e.id),
});

/** One target's collection as a table, each host's changes and failures under it. */
function printCollected(result: RecordedCollect): void {
  print(
    `\n${table(
      ['HOST', 'STATUS', 'CPU', 'MEMORY', 'DISKS', 'MAC FILLED', 'CHANGES'],
      result.hosts.map((h) =>
        h.status === 'stored'
          ? [h.host, h.status, cpuBrief(h.report), formatMb(h.report.memory.total_mb), disksBrief(h.report), h.wolMacFilled, changesCell(h.changes)]
          : [h.host, h.status, null, null, null, null, null],
      ),
    )}`,
  );
  for (const h of result.hosts) {
    if (h.status !== 'stored' || !h.changes?.length) continue;
    print(`\n${h.host}: changed since its previous report`);
    for (const c of h.changes) print(`  ${terminalText(formatChange(c), { oneLine: true })}`);
  }
  for (const h of result.hosts) if (h.status !== 'stored') print(`${h.host}: ${h.status}: ${h.reason}`);
  for (const d of result.deliveries.filter((x) => !x.ok)) print(`notifier ${d.notifier} failed for health event ${d.eventId}: ${d.detail}`);
  print(`(operation ${result.operationId})`);
}

const collect = command<CollectArgs>({
  command: 'collect [targets..]',
  describe: 'Collect hardware reports from nodes, or every node of clusters (default: the whole fleet), store them and record what changed (health check hardware.changes)',
  builder: builder<CollectArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('targets', { type: 'string', array: true, describe: 'Nodes (id or hostname) or clusters (id or name); none: every cluster with nodes, and nodes in none' })
      .option('json', { type: 'boolean', describe: 'The per-host results as JSON (no Ansible output): one object for one target, else {"targets": [...]}' })
      .example('$0 hardware collect pi1', 'Report on pi1')
      .example('$0 hardware collect home --json', 'Every node of cluster home, as JSON')
      .example('$0 hardware collect', 'The whole fleet (what the mko-hardware timer of playbooks/health.yml runs)')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const named = argv.targets ?? [];
      // Every target is resolved before anything runs: a typo stops the command, not its third run.
      const targets = named.length > 0 ? named.map((t) => resolveTarget(ctx.db, t).name) : fleetTargets(ctx.db);
      const { collectAndRecord } = await import('../../health/hardware.js');
      const results: RecordedCollect[] = [];
      for (const target of targets) {
        const result = await collectAndRecord(ctx.db, target, playbookContext(ctx, false, { json: argv.json }));
        results.push(result);
        if (!argv.json) printCollected(result);
        if (result.hosts.some((h) => h.status !== 'stored')) process.exitCode = 2;
        if (result.status === 'cancelled') break;
      }
      if (argv.json) printJson(named.length === 1 && results[0] ? collectJson(results[0]) : { targets: results.map(collectJson) });
      else if (targets.length === 0) print('No nodes to collect from: add some with mko node add');
    }),
});

const show = command<ShowArgs>({
  command: 'show <node>',
  describe: "A node's latest hardware report (--history lists every stored report, --diff what changed)",
  builder: builder<ShowArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('json', { type: 'boolean', describe: 'The raw report (or the history) as JSON' })
      .option('history', { type: 'boolean', describe: 'List stored reports with their times' })
      .option('diff', { type: 'boolean', describe: 'What changed from the report before the latest to the latest (hardware and configuration, not readings)' })
      .option('against', decimalOption('against', { describe: 'With --diff: compare the latest report with this report id (see --history)' }))
      .conflicts('diff', 'history')
      .example('$0 hardware show pi1', 'Summary of the latest report')
      .example('$0 hardware show pi1 --json', 'The raw report')
      .example('$0 hardware show pi1 --history', 'When reports were collected')
      .example('$0 hardware show pi1 --diff', 'What changed between the last two reports')
      .example('$0 hardware show pi1 --diff --against 12', 'What changed since report 12')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const node = getNode(db, argv.node);
      if (argv.history) {
        const history = listReports(db, node.id);
        if (argv.json) return printJson(history);
        if (history.length === 0) return print(`No hardware reports for ${node.hostname} yet: run mko hardware collect ${node.hostname}`);
        return print(
          table(
            ['ID', 'COLLECTED', 'STORED', 'OPERATION'],
            history.map((h) => [h.id, h.collectedAt, h.storedAt, h.operationId]),
          ),
        );
      }
      if (argv.diff || argv.against !== undefined) return showDiff(db, node.hostname, node.id, argv);
      const latest = latestReport(db, node.id);
      if (!latest) throw new UserError(`no hardware report for ${node.hostname} yet: run mko hardware collect ${node.hostname}`);
      if (argv.json) return printJson(latest.report);
      print(summarizeReport(latest.report, node.hostname));
      print(`(report ${latest.id}, stored ${latest.storedAt}${latest.operationId !== null ? `, operation ${latest.operationId}` : ''})`);
    }),
});

const stamp = (r: StoredReport): string => `report ${r.id} (${r.collectedAt})`;

function showDiff(db: Parameters<typeof latestReport>[0], hostname: string, nodeId: number, argv: ShowArgs): void {
  if (!argv.diff) throw new UserError(`--against needs --diff: mko hardware show ${hostname} --diff --against ${argv.against}`);
  const against = argv.against;
  const after = latestReport(db, nodeId);
  if (!after) throw new UserError(`no hardware report for ${hostname} yet: run mko hardware collect ${hostname}, twice, to compare`);
  const before = against === undefined ? reportBefore(db, after) : reportById(db, nodeId, against);
  if (!before) {
    throw new UserError(
      against === undefined
        ? `${hostname} has one hardware report (${after.id}): run mko hardware collect ${hostname} again to compare`
        : `--against ${against}: ${hostname} has no report ${against}; mko hardware show ${hostname} --history lists them`,
    );
  }
  const changes = diffReports(before.report, after.report);
  if (argv.json) {
    printJson({ node: hostname, before: { id: before.id, collectedAt: before.collectedAt }, after: { id: after.id, collectedAt: after.collectedAt }, changes });
    return;
  }
  if (changes.length === 0) return print(`${hostname}: no hardware changes from ${stamp(before)} to ${stamp(after)}`);
  print(`${hostname}: ${changes.length} change${changes.length === 1 ? '' : 's'} from ${stamp(before)} to ${stamp(after)}`);
  for (const c of changes) print(`  ${terminalText(formatChange(c), { oneLine: true })}`);
}

export const hardwareCommand = group('hardware', groupDescription('hardware'), [collect, show], [
  '$0 hardware collect home',
  'Report on every node of cluster home',
]);
