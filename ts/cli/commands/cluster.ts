import {
  addCluster,
  assignNode,
  getCluster,
  listClusters,
  listNodes,
  parseAddons,
  removeCluster,
  type Cluster,
  type ClusterUpdate,
  type NodeRole,
} from '../../fleet/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import type { PowerResult } from '../../cluster/index.js';
import { UserError } from '../../errors.js';
import { confirm, interruptSignal, playbookContext, reportRun, withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { details, print, printJson, table, terminalText } from '../output.js';

// Playbook-running domain code, imported by the handlers that need it (see cli/groups.ts).
const clusterCode = () => import('../../cluster/index.js');

type Args<T> = GlobalArgs & T;

interface ClusterOptions {
  description?: string;
  channel?: string;
  addons?: string;
  ha?: boolean;
  active?: boolean;
  default?: boolean;
  priority?: number;
}

const clusterOptions = builder<ClusterOptions>((y) =>
  y
    .option('description', { type: 'string', describe: 'Free text' })
    .option('channel', { type: 'string', describe: 'MicroK8s snap channel that setup installs (once MicroK8s is on a node: mko cluster upgrade)', defaultDescription: '1.31/stable' })
    .option('addons', { type: 'string', describe: 'Wanted addons: name[:args],… e.g. dns,ingress,metallb:10.0.0.10-10.0.0.20' })
    .option('ha', { type: 'boolean', describe: 'Want a highly available control plane (3+ control-plane nodes)' })
    .option('active', { type: 'boolean', describe: 'Whether UPS power rules act on this cluster (--no-active: their shutdown, startup, wake and scale actions are cancelled and say why; notify still runs)', defaultDescription: 'true' })
    .option('default', { type: 'boolean', describe: 'Make this the default cluster: node add without --cluster puts the node in it' })
    .option(
      'priority',
      decimalOption('priority', {
        describe: 'Power-on order between clusters: when startup or wake_on_lan rule actions of several clusters are due, the LOWER number goes first and the next waits until it is done (a rule’s --priority is the other way round: larger first)',
        defaultDescription: '100',
      }),
    ),
);

function changes(argv: ClusterOptions): ClusterUpdate {
  return {
    ...(argv.description !== undefined ? { description: argv.description } : {}),
    ...(argv.channel !== undefined ? { channel: argv.channel } : {}),
    ...(argv.addons !== undefined ? { addons: parseAddons(argv.addons) } : {}),
    ...(argv.ha !== undefined ? { ha: argv.ha } : {}),
    ...(argv.active !== undefined ? { active: argv.active } : {}),
    ...(argv.default !== undefined ? { isDefault: argv.default } : {}),
    ...(argv.priority !== undefined ? { priority: argv.priority } : {}),
  };
}

const addonsText = (c: Cluster): string => c.addons.map((a) => (a.args ? `${a.name}:${a.args}` : a.name)).join(',');

const add = command<Args<ClusterOptions & { name: string; json?: boolean }>>({
  command: 'add <name>',
  describe: 'Create a cluster',
  builder: builder<Args<ClusterOptions & { name: string; json?: boolean }>>((y) =>
    clusterOptions(y)
      .positional('name', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean' })
      .example('$0 cluster add home --channel 1.31/stable --addons dns,ingress --default', 'A home cluster'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const cluster = addCluster(db, { name: argv.name, ...changes(argv) });
      if (argv.json) return printJson(cluster);
      print(`Added cluster ${cluster.name} (id ${cluster.id}), channel ${cluster.channel}`);
    }, { creates: true }),
});

const update = command<Args<ClusterOptions & { cluster: string; json?: boolean }>>({
  command: 'update <cluster>',
  describe: 'Change a cluster’s settings',
  builder: builder<Args<ClusterOptions & { cluster: string; json?: boolean }>>((y) =>
    clusterOptions(y)
      .positional('cluster', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean' })
      .example('$0 cluster update home --addons dns,ingress,metrics-server', 'Want one more addon'),
  ),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { updateClusterSettings } = await clusterCode();
      const cluster = updateClusterSettings(db, argv.cluster, changes(argv));
      if (argv.json) return printJson(cluster);
      print(`Updated cluster ${cluster.name}`);
    }),
});

const list = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'List clusters',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 cluster list', 'All clusters')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const clusters = listClusters(db);
      if (argv.json) return printJson(clusters);
      if (clusters.length === 0) return print('No clusters yet: add one with mko cluster add <name>');
      print(
        table(
          ['ID', 'NAME', 'CHANNEL', 'NODES', 'HA', 'ACTIVE', 'DEFAULT', 'PRIORITY', 'ADDONS'],
          clusters.map((c) => [c.id, c.name, c.channel, c.nodeCount, c.ha ? 'yes' : 'no', c.active ? 'yes' : 'no', c.isDefault ? '*' : '', c.priority, addonsText(c)]),
        ),
      );
    }),
});

const show = command<Args<{ cluster: string; json?: boolean }>>({
  command: 'show <cluster>',
  describe: 'Show a cluster and its nodes',
  builder: builder<Args<{ cluster: string; json?: boolean }>>((y) =>
    y.positional('cluster', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }).example('$0 cluster show home', 'Cluster home'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const c = getCluster(db, argv.cluster);
      const nodes = listNodes(db, { cluster: c.name });
      if (argv.json) return printJson({ ...c, nodes });
      print(
        details([
          ['id', c.id],
          ['name', c.name],
          ['description', c.description],
          ['channel', c.channel],
          ['addons', addonsText(c)],
          ['ha', c.ha ? 'wanted' : 'not wanted'],
          ['active', c.active ? 'yes' : 'no'],
          ['default', c.isDefault ? 'yes' : 'no'],
          ['priority', c.priority],
        ]),
      );
      print('');
      print(nodes.length === 0 ? 'No nodes: mko cluster assign <cluster> <node> --role worker' : table(['HOSTNAME', 'ADDRESS', 'ROLE', 'SSH KEY'], nodes.map((n) => [n.hostname, n.address, n.role, n.sshKeyStatus])));
    }),
});

const remove = command<Args<{ cluster: string; yes?: boolean; 'detach-nodes'?: boolean }>>({
  command: 'remove <cluster>',
  describe: 'Delete a cluster from the database (nodes stay, unassigned, with --detach-nodes)',
  builder: builder<Args<{ cluster: string; yes?: boolean; 'detach-nodes'?: boolean }>>((y) =>
    y
      .positional('cluster', { type: 'string', demandOption: true })
      .option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' })
      .option('detach-nodes', { type: 'boolean', describe: 'Unassign the cluster’s nodes instead of refusing' })
      .example('$0 cluster remove lab --yes --detach-nodes', 'Drop cluster lab'),
  ),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const c = getCluster(db, argv.cluster);
      if (!argv.yes) await confirm(`Remove cluster ${c.name} (${c.nodeCount} nodes)?`, '--yes');
      removeCluster(db, c.name, { detach: argv['detach-nodes'] ?? false });
      print(`Removed cluster ${c.name}`);
    }),
});

const assign = command<Args<{ cluster: string; node: string; role: NodeRole }>>({
  command: 'assign <cluster> <node>',
  describe: 'Put a node in a cluster with a role',
  builder: builder<Args<{ cluster: string; node: string; role: NodeRole }>>((y) =>
    y
      .positional('cluster', { type: 'string', demandOption: true })
      .positional('node', { type: 'string', demandOption: true })
      .option('role', { type: 'string', choices: ['control-plane', 'worker'] as const, demandOption: true })
      .example('$0 cluster assign home pi2 --role control-plane', 'pi2 joins home’s control plane'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const node = assignNode(db, argv.node, argv.cluster, argv.role);
      print(`Assigned ${node.hostname} to ${node.cluster ?? ''} as ${node.role}`);
    }),
});

const unassign = command<Args<{ node: string }>>({
  command: 'unassign <node>',
  describe: 'Take a node out of its cluster (in the database only)',
  builder: builder<Args<{ node: string }>>((y) =>
    y.positional('node', { type: 'string', demandOption: true }).example('$0 cluster unassign pi5', 'pi5 belongs to no cluster'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const node = assignNode(db, argv.node, null);
      print(`${node.hostname} is in no cluster now`);
    }),
});

const configureHostsCommand = command<Args<{ cluster: string; check?: boolean }>>({
  command: 'configure-hosts <cluster>',
  describe: 'Write every member into /etc/hosts on every node of the cluster, and check they resolve',
  builder: builder<Args<{ cluster: string; check?: boolean }>>((y) =>
    y
      .positional('cluster', { type: 'string', demandOption: true })
      .option('check', { type: 'boolean', describe: 'Show what would change (Ansible check mode with diff)' })
      .example('$0 cluster configure-hosts home', 'Every node of home resolves every other'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { configureHosts } = await import('../../hosts/index.js');
      const result = await configureHosts(ctx.db, argv.cluster, {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: interruptSignal(),
        onOutput: (c) => process.stdout.write(terminalText(c)),
        ...(argv.check ? { check: true } : {}),
      });
      print(`
/etc/hosts on cluster ${argv.cluster}: ${result.status} (${result.exitMeaning}), operation ${result.operationId}`);
      if (result.status !== 'succeeded') process.exitCode = 2;
    }),
});

/** Playbook-running cluster commands share these flags and this reporting. */
interface RunArgs {
  cluster: string;
  check?: boolean;
}
const runOptions = builder<Args<RunArgs>>((y) =>
  y
    .positional('cluster', { type: 'string', demandOption: true })
    .option('check', { type: 'boolean', describe: 'Show what would change (Ansible check mode with diff), change nothing' }),
);

const setup = command<Args<RunArgs>>({
  command: 'setup <cluster>',
  describe: 'Prerequisites, /etc/hosts and MicroK8s on every node: forms the cluster (HA with 3+ control-plane nodes)',
  builder: builder<Args<RunArgs>>((y) =>
    runOptions(y).example('$0 cluster setup home', 'Install and join every node of home').example('$0 cluster setup home --check', 'What would it do?'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => reportRun(`setup of cluster ${argv.cluster}`, await (await clusterCode()).setupCluster(ctx.db, argv.cluster, playbookContext(ctx, argv.check)))),
});

const statusCommand = command<Args<{ cluster: string; json?: boolean }>>({
  command: 'status <cluster>',
  describe: 'Read MicroK8s status on every node (version, HA role, addons, ready), store it and print it',
  builder: builder<Args<{ cluster: string; json?: boolean }>>((y) =>
    y.positional('cluster', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }).example('$0 cluster status home', 'Is home healthy?'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { readClusterStatus } = await clusterCode();
      const { statuses, operationId } = await readClusterStatus(ctx.db, argv.cluster, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal() });
      if (argv.json) return printJson({ operation: operationId, nodes: statuses });
      const yesNo = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'no');
      print(
        table(
          ['NODE', 'REACHABLE', 'MICROK8S', 'CHANNEL', 'RUNNING', 'HA ROLE', 'READY', 'ADDONS'],
          statuses.map((s) =>
            s.reachable && !s.problem
              ? [s.hostname, 'yes', s.installed ? s.version : 'not installed', s.channel, yesNo(s.running), s.haRole, yesNo(s.ready), s.addons.join(',')]
              : [s.hostname, s.reachable ? 'yes' : 'UNREACHABLE', '-', '-', '-', '-', '-', s.problem ?? ''],
          ),
        ),
      );
    }),
});

const kubeconfig = command<Args<{ cluster: string }>>({
  command: 'kubeconfig <cluster>',
  describe: 'Path of the cluster’s kubeconfig on this machine (fetched by setup, mode 0600)',
  builder: builder<Args<{ cluster: string }>>((y) =>
    y.positional('cluster', { type: 'string', demandOption: true }).example('KUBECONFIG=$($0 cluster kubeconfig home) kubectl get nodes', 'Use it'),
  ),
  handler: (argv) => withContext(argv, async ({ db, dataDir }) => print((await clusterCode()).existingKubeconfig(db, dataDir, argv.cluster))),
});

const upgrade = command<Args<RunArgs & { channel: string }>>({
  command: 'upgrade <cluster>',
  describe: 'Upgrade MicroK8s one minor version: node by node, control plane first, drained and uncordoned',
  builder: builder<Args<RunArgs & { channel: string }>>((y) =>
    runOptions(y)
      .option('channel', { type: 'string', demandOption: true, describe: 'Target channel, one minor above the current one' })
      .example('$0 cluster upgrade home --channel 1.32/stable', 'From 1.31 to 1.32'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) =>
      reportRun(`upgrade of cluster ${argv.cluster} to ${argv.channel}`, await (await clusterCode()).upgradeCluster(ctx.db, argv.cluster, argv.channel, playbookContext(ctx, argv.check))),
    ),
});

/** The clock time of an ISO timestamp (the date is the run's), to the millisecond. */
const clock = (iso: string | null): string | null => iso?.slice(11, 23) ?? null;
const took = (from: string | null, to: string | null): string | null =>
  from && to ? `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)}s` : null;

/** The power sequence as a table (JSON with --json), then the closing line of the run. */
function reportPower(what: string, result: PowerResult, json: boolean | undefined): void {
  const run = result.power;
  if (json) {
    printJson({ operation: result.operationId, status: result.status, exitCode: result.exitCode, exitMeaning: result.exitMeaning, run });
    if (result.status !== 'succeeded') process.exitCode = 2;
    return;
  }
  if (run?.kind === 'shutdown') {
    print('');
    print(
      table(
        ['STEP', 'NODE', 'PART', 'STOP REQUESTED', 'POWERED OFF', 'TOOK', 'RESULT', 'DRAIN', 'DETAIL'],
        run.steps.map((s) => [s.step, s.hostname, s.part, clock(s.requestedAt), clock(s.doneAt), took(s.requestedAt, s.doneAt), s.outcome, s.drain, s.detail]),
      ),
    );
    if (run.backupFile || run.backupDetail) print(`backup: ${run.backupFile ?? run.backupDetail}${run.kubectlHost ? ` on ${run.kubectlHost}` : ''}`);
  } else if (run?.kind === 'startup') {
    print('');
    print(
      table(
        ['NODE', 'PART', 'METHOD', 'ASKED', 'SSH UP', 'TOOK', 'RESULT', 'MICROK8S', 'READY', 'DETAIL'],
        run.steps.map((s) => [s.hostname, s.part, s.method, clock(s.requestedAt), clock(s.doneAt), took(s.requestedAt, s.doneAt), s.outcome, s.microk8s, s.ready ? 'yes' : 'no', s.detail]),
      ),
    );
    if (!run.check) print(run.readySeconds !== null ? `Ready ${run.readySeconds.toFixed(1)} s after the startup began (${run.voters.length} voters)` : 'NOT Ready: see above');
  }
  reportRun(what, result);
}

interface ShutdownArgs extends RunArgs {
  graceful?: boolean;
  force?: boolean;
  yes?: boolean;
  'drain-timeout'?: number;
  json?: boolean;
}

const shutdownCommand = command<Args<ShutdownArgs>>({
  command: 'shutdown <cluster>',
  describe: 'Power the cluster off in order: backup, cordon, drain (graceful), workers, standby nodes, voters one at a time, the UPS host last',
  builder: builder<Args<ShutdownArgs>>((y) =>
    runOptions(y)
      .option('graceful', { type: 'boolean', describe: 'Back up the datastore, cordon every node and drain the workers first' })
      .option('force', { type: 'boolean', describe: 'Stop and power off at once (workers still before the control plane)' })
      .option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' })
      .option('drain-timeout', decimalOption('drain-timeout', { describe: 'Seconds each worker’s drain may take (graceful; 0: no drain)', defaultDescription: '120' }))
      .option('json', { type: 'boolean', describe: 'Print the power sequence as JSON instead of Ansible’s output and a table' })
      .example('$0 cluster shutdown home --graceful', 'Everything off, in order, after asking')
      .example('$0 cluster shutdown home --force --yes', 'On battery, now'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      if (Boolean(argv.graceful) === Boolean(argv.force)) throw new UserError('say how: --graceful (backup, cordon, drain first) or --force (at once)');
      const mode = argv.graceful ? 'graceful' : 'force';
      const cluster = getCluster(ctx.db, argv.cluster);
      if (!argv.yes && !argv.check) await confirm(`Power off all ${cluster.nodeCount} nodes of cluster ${cluster.name} (${mode})?`, '--yes');
      const { shutdownCluster } = await clusterCode();
      const result = await shutdownCluster(ctx.db, cluster.name, {
        ...playbookContext(ctx, argv.check),
        ...(argv.json ? { onOutput: () => {} } : {}),
        onWarning: (m) => process.stderr.write(`mko: warning: ${m}\n`),
        mode,
        ...(argv['drain-timeout'] !== undefined ? { drainTimeoutSeconds: argv['drain-timeout'] } : {}),
      });
      reportPower(`${mode} shutdown of cluster ${cluster.name}`, result, argv.json);
    }),
});

const startupCommand = command<Args<RunArgs & { json?: boolean }>>({
  command: 'startup <cluster>',
  describe: 'Power the cluster on in order: control plane (voters together), MicroK8s and its voters, workers, all Ready, uncordon',
  builder: builder<Args<RunArgs & { json?: boolean }>>((y) =>
    runOptions(y)
      .option('json', { type: 'boolean', describe: 'Print the power sequence as JSON instead of Ansible’s output and a table' })
      .example('$0 cluster startup home', 'Everything on, in order; says how long until Ready'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const cluster = getCluster(ctx.db, argv.cluster);
      const { startupCluster } = await clusterCode();
      const result = await startupCluster(ctx.db, cluster.name, {
        ...playbookContext(ctx, argv.check),
        ...(argv.json ? { onOutput: () => {} } : {}),
        onWarning: (m) => process.stderr.write(`mko: warning: ${m}\n`),
      });
      reportPower(`startup of cluster ${cluster.name}`, result, argv.json);
    }),
});

export const clusterCommand = group(
  'cluster',
  groupDescription('cluster'),
  [add, update, list, show, remove, assign, unassign, configureHostsCommand, setup, statusCommand, kubeconfig, upgrade, shutdownCommand, startupCommand],
  ['$0 cluster add home --default', 'Create the cluster home'],
);

