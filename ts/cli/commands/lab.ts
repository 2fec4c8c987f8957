import { existsSync } from 'node:fs';
import path from 'node:path';
import { labDown, labStatus, labUp } from '../../lab/index.js';
import { registerLab, unregisterLab } from '../../lab/register.js';
import { dataDirFor, resolveDbPath } from '../../paths.js';
import { testSsh } from '../../ssh/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;
interface LabArgs {
  name: string;
  json?: boolean;
}

const labDir = (dataDir: string, name: string): string => path.join(dataDir, 'lab', name);
const progress = (message: string): void => {
  process.stderr.write(`lab: ${message}\n`);
};

const nameOption = builder<Args<LabArgs>>((y) =>
  y
    .option('name', { type: 'string', default: 'lab', describe: 'Lab name (also its cluster name)' })
    .option('json', { type: 'boolean' }),
);

const up = command<Args<LabArgs & { nodes: number }>>({
  command: 'up',
  describe: 'Start a lab of real systemd hosts on this machine, register it as a cluster and onboard every node',
  builder: builder<Args<LabArgs & { nodes: number }>>((y) =>
    nameOption(y)
      .option('nodes', decimalOption('nodes', { default: '5', describe: 'Number of hosts (3 control plane, the rest workers)' }))
      .example('$0 lab up', 'Five hosts: lab-n1 … lab-n5')
      .example('$0 lab up --nodes 3 --name mini', 'Three hosts in cluster mini'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const stateDir = labDir(ctx.dataDir, argv.name);
      const info = await labUp({ name: argv.name, stateDir, nodes: argv.nodes, onProgress: progress });
      const nodes = await registerLab({ db: ctx.db, dataDir: ctx.dataDir, stateDir, info, onProgress: progress });
      progress('testing SSH login and passwordless sudo on every node');
      const onOutput = streamTo(argv.json);
      const run = await testSsh(ctx.db, nodes.map((n) => n.hostname), {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      if (argv.json) return printJson({ lab: info, ssh: run.results.map((r) => ({ node: r.node.hostname, ok: r.ok, summary: r.summary })) });
      print('');
      print(
        table(
          ['HOSTNAME', 'ADDRESS', 'MAC', 'ROLE', 'SSH'],
          run.results.map((r) => [r.node.hostname, r.node.address, r.node.wol.mac, r.node.role, r.ok ? 'verified' : r.summary]),
        ),
      );
      print(`\nLab ${info.name} is up: cluster ${info.name}, bridge ${info.bridge} (${info.subnet}).`);
      if (run.results.some((r) => !r.ok)) process.exitCode = 2;
    }, { creates: true }),
});

const status = command<Args<LabArgs>>({
  command: 'status',
  describe: 'Which lab hosts are up',
  builder: builder<Args<LabArgs>>((y) => nameOption(y).example('$0 lab status', 'Hosts of the lab and their power state')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const info = await labStatus({ name: argv.name, stateDir: labDir(ctx.dataDir, argv.name) });
      if (argv.json) return printJson(info);
      if (!info) return print(`No lab ${argv.name}: start one with mko lab up`);
      print(table(['HOSTNAME', 'ADDRESS', 'MAC', 'POWER'], info.hosts.map((h) => [h.hostname, h.address, h.mac, h.running ? 'on' : 'off'])));
    }),
});

const down = command<Args<LabArgs>>({
  command: 'down',
  describe: 'Stop the lab and remove everything it made, including its cluster in the database',
  builder: builder<Args<LabArgs>>((y) => nameOption(y).example('$0 lab down', 'Remove the lab')),
  handler: async (argv) => {
    // The lab is this machine's, not the database's: with no fleet yet (a fresh checkout, the
    // main job's first step) there is nothing to forget, and no database is made to say so.
    const dbPath = resolveDbPath(argv.db);
    if (dbPath !== ':memory:' && !existsSync(dbPath)) {
      await labDown({ name: argv.name, stateDir: labDir(dataDirFor(dbPath), argv.name), onProgress: progress });
      return print(`Lab ${argv.name} is down`);
    }
    return withContext(argv, async (ctx) => {
      await labDown({ name: argv.name, stateDir: labDir(ctx.dataDir, argv.name), onProgress: progress });
      const removed = unregisterLab(ctx.db, ctx.dataDir, argv.name);
      const what = [removed.cluster ? `cluster ${argv.name}` : '', removed.nodes ? `${removed.nodes} lab node(s)` : ''].filter(Boolean);
      print(`Lab ${argv.name} is down${what.length ? `; removed ${what.join(' and ')}` : ''}`);
    });
  },
});

export const labCommand = group('lab', groupDescription('lab'), [up, status, down], ['$0 lab up', 'Start a five-host lab']);
