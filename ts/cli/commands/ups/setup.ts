// NUT on the nodes through the nut role and host reports: setup, scan, services, restart.
import type { Argv } from 'yargs';
import { nutServices, restartNut, scanNode, setupUps, type ServicesResult } from '../../../power/index.js';
import { builder, command } from '../../command.js';
import { interruptSignal, playbookContext, reportRun, streamTo, withContext, type GlobalArgs } from '../../context.js';
import { print, printJson, table } from '../../output.js';
import type { Args } from './format.js';

type SetupArgs = Args<{ ups: string; secondaries?: string; 'shutdown-cmd'?: string; check?: boolean }>;
export const setup = command<SetupArgs>({
  command: 'setup <ups>',
  describe: "Run the nut role: driver, upsd and upsmon (primary) on the UPS's host, upsmon (secondary) on the other nodes",
  builder: builder<SetupArgs>((y) =>
    y
      .positional('ups', { type: 'string', demandOption: true })
      .option('secondaries', { type: 'string', describe: 'Comma-separated nodes or clusters whose upsmon follows this UPS', defaultDescription: "the last setup's, else the UPS host's cluster" })
      .option('shutdown-cmd', { type: 'string', describe: "upsmon's SHUTDOWNCMD", defaultDescription: "the last setup's, else /sbin/shutdown -h +0" })
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
export const scan = command<NodeArgs>({
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

export const services = command<TargetArgs>({
  command: 'services <target>',
  describe: 'The state of the NUT services (driver, upsd, upsmon) on a node or cluster',
  builder: builder<TargetArgs>((y) => targetArg(y).example('$0 ups services home --json', 'Every node of cluster home, as JSON')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      printServices(await nutServices(ctx.db, argv.target, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }), argv.json, 'NUT services');
    }),
});

export const restart = command<TargetArgs>({
  command: 'restart <target>',
  describe: "Restart the NUT services of each node's mode (netserver: driver, upsd, upsmon; netclient: upsmon)",
  builder: builder<TargetArgs>((y) => targetArg(y).example('$0 ups restart pi1', 'Restart NUT on pi1')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      printServices(await restartNut(ctx.db, argv.target, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }), argv.json, 'NUT restart');
    }),
});
