import type { Argv } from 'yargs';
import { UserError } from '../../errors.js';
import { getNode } from '../../fleet/index.js';
import { collectHardware, cpuBrief, disksBrief, formatMb, latestReport, listReports, summarizeReport } from '../../hardware/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;
type CollectArgs = Args<{ target: string; json?: boolean }>;
type ShowArgs = Args<{ node: string; json?: boolean; history?: boolean }>;

const collect = command<CollectArgs>({
  command: 'collect <target>',
  describe: 'Collect a hardware report from a node, or from every node of a cluster, and store it',
  builder: builder<CollectArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'Node (id or hostname) or cluster (id or name)' })
      .option('json', { type: 'boolean', describe: 'Print the per-host results as JSON (no Ansible output)' })
      .example('$0 hardware collect pi1', 'Report on pi1')
      .example('$0 hardware collect home --json', 'Every node of cluster home, as JSON')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      const result = await collectHardware(ctx.db, argv.target, {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      const failed = result.hosts.flatMap((h) => (h.status === 'stored' ? [] : [h]));
      if (argv.json) {
        printJson({
          target: result.target,
          operation: result.operationId,
          status: result.status,
          hosts: result.hosts.map((h) =>
            h.status === 'stored'
              ? { host: h.host, status: h.status, report: h.reportId, collectedAt: h.report.collected_at, wolMacFilled: h.wolMacFilled }
              : { host: h.host, status: h.status, reason: h.reason },
          ),
        });
      } else {
        print(
          `\n${table(
            ['HOST', 'STATUS', 'CPU', 'MEMORY', 'DISKS', 'MAC FILLED'],
            result.hosts.map((h) =>
              h.status === 'stored'
                ? [h.host, h.status, cpuBrief(h.report), formatMb(h.report.memory.total_mb), disksBrief(h.report), h.wolMacFilled]
                : [h.host, h.status, null, null, null, null],
            ),
          )}`,
        );
        for (const h of failed) print(`${h.host}: ${h.status}: ${h.reason}`);
        print(`(operation ${result.operationId})`);
      }
      if (failed.length > 0) process.exitCode = 2;
    }),
});

const show = command<ShowArgs>({
  command: 'show <node>',
  describe: "A node's latest hardware report (--history lists every stored report)",
  builder: builder<ShowArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('json', { type: 'boolean', describe: 'The raw report (or the history) as JSON' })
      .option('history', { type: 'boolean', describe: 'List stored reports with their times' })
      .example('$0 hardware show pi1', 'Summary of the latest report')
      .example('$0 hardware show pi1 --json', 'The raw report')
      .example('$0 hardware show pi1 --history', 'When reports were collected')),
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
      const latest = latestReport(db, node.id);
      if (!latest) throw new UserError(`no hardware report for ${node.hostname} yet: run mko hardware collect ${node.hostname}`);
      if (argv.json) return printJson(latest.report);
      print(summarizeReport(latest.report, node.hostname));
      print(`(report ${latest.id}, stored ${latest.storedAt}${latest.operationId !== null ? `, operation ${latest.operationId}` : ''})`);
    }),
});

export const hardwareCommand = group('hardware', groupDescription('hardware'), [collect, show], [
  '$0 hardware collect home',
  'Report on every node of cluster home',
]);
