import path from 'node:path';
import type { Argv } from 'yargs';
import { quote, UserError } from '../../errors.js';
import { getNode, listNodes, updateNode, type FleetNode, type NodeChanges, type NodeInput, type NodeRole } from '../../fleet/index.js';
import type { KeyType } from '../../ssh/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { confirm, interruptSignal, playbookContext, reportRun, streamTo, withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { details, print, printJson, table, writeOutputFile } from '../output.js';

type Args<T> = GlobalArgs & T;

function parseLabels(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  return Object.fromEntries(
    pairs.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UserError(`invalid --label ${quote(pair)}: must be key=value, e.g. --label rack=a`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

function nodeRow(node: FleetNode): unknown[] {
  return [node.id, node.hostname, node.address, node.sshUser, node.sshPort, node.cluster, node.role, node.sshKeyStatus];
}
const NODE_HEADERS = ['ID', 'HOSTNAME', 'ADDRESS', 'USER', 'PORT', 'CLUSTER', 'ROLE', 'SSH KEY'];

interface AddArgs {
  hostname: string;
  ip: string;
  user: string;
  port?: number;
  role?: NodeRole;
  cluster?: string;
  label?: string[];
  mac?: string;
  wol?: boolean;
  'wol-broadcast'?: string;
  'wol-port'?: number;
  'proxmox-host'?: string;
  'proxmox-node'?: string;
  vmid?: number;
  'generate-ssh-key': boolean;
  'ssh-key'?: string;
  'key-type': KeyType;
  json?: boolean;
}

const add = command<Args<AddArgs>>({
  command: 'add',
  describe: 'Register a node, give it its own SSH key and print its setup instructions',
  builder: builder<Args<AddArgs>>((y) =>
    y
      .option('hostname', { type: 'string', demandOption: true, describe: 'Node hostname (unique)' })
      .option('ip', { type: 'string', demandOption: true, describe: 'IPv4 or IPv6 address mko connects to' })
      .option('user', { type: 'string', demandOption: true, describe: 'SSH user on the node' })
      .option('port', decimalOption('port', { describe: 'SSH port', defaultDescription: '22' }))
      .option('cluster', { type: 'string', describe: 'Cluster to put the node in', defaultDescription: 'the default cluster, if one is marked --default' })
      .option('role', { type: 'string', choices: ['control-plane', 'worker'] as const, describe: 'Role in the cluster', defaultDescription: 'worker' })
      .option('label', { type: 'string', array: true, describe: 'key=value label (repeatable)' })
      .option('mac', { type: 'string', describe: 'MAC address for Wake-on-LAN' })
      .option('wol', { type: 'boolean', describe: 'Enable Wake-on-LAN for this node' })
      .option('wol-broadcast', { type: 'string', describe: 'Directed broadcast address for magic packets' })
      .option('wol-port', decimalOption('wol-port', { describe: 'UDP port for magic packets', defaultDescription: '9' }))
      .option('proxmox-host', { type: 'string', describe: 'Proxmox API host of a virtual node' })
      .option('proxmox-node', { type: 'string', describe: 'Proxmox node name that runs the VM' })
      .option('vmid', decimalOption('vmid', { describe: 'Proxmox VM id' }))
      .option('generate-ssh-key', { type: 'boolean', default: true, describe: 'Generate a key pair for this node (--no-generate-ssh-key to use --ssh-key)' })
      .option('ssh-key', { type: 'string', describe: 'Existing private key to use with --no-generate-ssh-key' })
      .option('key-type', { type: 'string', choices: ['ed25519', 'rsa'] as const, default: 'ed25519' as const, describe: 'Key type (rsa is 4096 bits)' })
      .option('json', { type: 'boolean', describe: 'Print the node as JSON' })
      .example('$0 node add --hostname pi1 --ip 192.168.1.10 --user ubuntu --cluster home --role control-plane', 'Add a Raspberry Pi')
      .example('$0 node add --hostname nuc1 --ip 192.168.1.20 --user admin --no-generate-ssh-key --ssh-key ~/.ssh/id_ed25519', 'Use a key you already have')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const input: NodeInput = {
        hostname: argv.hostname,
        address: argv.ip,
        sshUser: argv.user,
        ...(argv.port !== undefined ? { sshPort: argv.port } : {}),
        ...(argv.role ? { role: argv.role } : {}),
        ...(argv.cluster ? { cluster: argv.cluster } : {}),
        ...(argv.label ? { labels: parseLabels(argv.label) ?? {} } : {}),
        ...(argv.mac ? { wolMac: argv.mac } : {}),
        ...(argv.wol !== undefined ? { wolEnabled: argv.wol } : {}),
        ...(argv['wol-broadcast'] ? { wolBroadcast: argv['wol-broadcast'] } : {}),
        ...(argv['wol-port'] !== undefined ? { wolPort: argv['wol-port'] } : {}),
        ...(argv['proxmox-host'] ? { proxmoxHost: argv['proxmox-host'] } : {}),
        ...(argv['proxmox-node'] ? { proxmoxNode: argv['proxmox-node'] } : {}),
        ...(argv.vmid !== undefined ? { proxmoxVmid: argv.vmid } : {}),
      };
      const { addNode } = await import('../../ssh/index.js');
      const { node, instructions, joinedDefault } = await addNode(ctx.db, ctx.dataDir, input, {
        generateKey: argv['generate-ssh-key'],
        keyType: argv['key-type'],
        ...(argv['ssh-key'] ? { existingKey: path.resolve(argv['ssh-key']) } : {}),
      });
      if (argv.json) return printJson(node);
      print(`Added node ${node.hostname} (id ${node.id}), key ${node.sshKeyFingerprint}`);
      if (joinedDefault) print(`${node.hostname} joined the default cluster ${joinedDefault} as ${node.role} (no --cluster given; mko cluster unassign ${node.hostname} takes it out)`);
      print('');
      print(instructions);
    }, { creates: true }),
});

const list = command<Args<{ cluster?: string; role?: NodeRole; json?: boolean }>>({
  command: 'list',
  describe: 'List nodes',
  builder: builder<Args<{ cluster?: string; role?: NodeRole; json?: boolean }>>((y) =>
    y
      .option('cluster', { type: 'string', describe: 'Only nodes of this cluster' })
      .option('role', { type: 'string', choices: ['control-plane', 'worker'] as const })
      .option('json', { type: 'boolean' })
      .example('$0 node list --cluster home', 'Nodes of cluster home')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const nodes = listNodes(db, { ...(argv.cluster ? { cluster: argv.cluster } : {}), ...(argv.role ? { role: argv.role } : {}) });
      if (argv.json) return printJson(nodes);
      print(nodes.length === 0 ? 'No nodes yet: add one with mko node add' : table(NODE_HEADERS, nodes.map(nodeRow)));
    }),
});

const nodeArg = (y: Argv<GlobalArgs>) => y.positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' });

const show = command<Args<{ node: string; json?: boolean }>>({
  command: 'show <node>',
  describe: 'Show one node',
  builder: builder<Args<{ node: string; json?: boolean }>>((y) => nodeArg(y).option('json', { type: 'boolean' }).example('$0 node show pi1', 'Details of pi1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const n = getNode(db, argv.node);
      if (argv.json) return printJson(n);
      print(
        details([
          ['id', n.id],
          ['hostname', n.hostname],
          ['address', n.address],
          ['ssh', `${n.sshUser}@${n.address} port ${n.sshPort}`],
          ['cluster', n.cluster],
          ['role', n.role],
          ['labels', Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ')],
          ['ssh key', n.sshKeyPath ? `${n.sshKeyPath} (${n.sshKeyType})` : null],
          ['fingerprint', n.sshKeyFingerprint],
          ['key status', n.sshKeyStatus],
          ['last test', n.sshTestedAt ? `${n.sshTestedAt} ${n.sshTestResult}` : 'never'],
          ['wake-on-lan', `${n.wol.enabled ? 'enabled' : 'disabled'}, mac ${n.wol.mac ?? '-'}, broadcast ${n.wol.broadcast ?? '-'}, port ${n.wol.port}`],
          ['proxmox', n.proxmox.vmid !== null ? `vm ${n.proxmox.vmid} on ${n.proxmox.node ?? '-'} via ${n.proxmox.host ?? '-'}` : null],
        ]),
      );
    }),
});

type UpdateArgs = Args<{ node: string; ip?: string; user?: string; port?: number; label?: string[]; json?: boolean }>;

const update = command<UpdateArgs>({
  command: 'update <node>',
  describe: 'Change how mko reaches a node (address, SSH user and port) or its labels',
  builder: builder<UpdateArgs>((y) =>
    nodeArg(y)
      .option('ip', { type: 'string', describe: 'New address mko connects to' })
      .option('user', { type: 'string', describe: 'New SSH user' })
      .option('port', decimalOption('port', { describe: 'New SSH port' }))
      .option('label', { type: 'string', array: true, describe: 'key=value label (repeatable): replaces all labels' })
      .option('json', { type: 'boolean', describe: 'Print the node as JSON' })
      .example('$0 node update pi1 --ip 192.168.1.40', 'pi1 moved: test it again with mko node test-ssh pi1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const changes: NodeChanges = {
        ...(argv.ip !== undefined ? { address: argv.ip } : {}),
        ...(argv.user !== undefined ? { sshUser: argv.user } : {}),
        ...(argv.port !== undefined ? { sshPort: argv.port } : {}),
        ...(argv.label ? { labels: parseLabels(argv.label) ?? {} } : {}),
      };
      const before = getNode(db, argv.node);
      const node = updateNode(db, argv.node, changes);
      if (argv.json) return printJson(node);
      print(`Updated node ${node.hostname}: ${node.sshUser}@${node.address} port ${node.sshPort}`);
      if (before.sshKeyStatus === 'verified' && node.sshKeyStatus !== 'verified') print(`Its key is to be tested there again: mko node test-ssh ${node.hostname}`);
    }),
});

const remove = command<Args<{ node: string; yes?: boolean; 'from-cluster'?: boolean; force?: boolean; check?: boolean }>>({
  command: 'remove <node>',
  describe: 'Forget a node (database and key); with --from-cluster, take it out of its MicroK8s cluster instead',
  builder: builder<Args<{ node: string; yes?: boolean; 'from-cluster'?: boolean; force?: boolean; check?: boolean }>>((y) =>
    nodeArg(y)
      .option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' })
      .option('from-cluster', { type: 'boolean', describe: 'Drain, microk8s leave, remove-node on a survivor, update /etc/hosts on the rest' })
      .option('force', { type: 'boolean', describe: 'With --from-cluster: allow losing quorum, or remove a node that is gone for good' })
      .option('check', { type: 'boolean', describe: 'With --from-cluster: show what would happen, change nothing' })
      .example('$0 node remove pi4 --from-cluster --yes', 'Take pi4 out of its cluster')
      .example('$0 node remove pi4 --yes', 'Forget pi4 entirely'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      // Forgetting a node runs no playbook: a --check or --force there would be silently ignored.
      if (!argv['from-cluster']) {
        for (const flag of ['check', 'force'] as const) {
          if (argv[flag]) throw new UserError(`--${flag} applies to node remove --from-cluster only: without it the node is forgotten at once (drop --${flag}, or add --from-cluster)`);
        }
      }
      const n = getNode(ctx.db, argv.node);
      if (argv['from-cluster']) {
        if (!n.cluster) throw new UserError(`node ${n.hostname} is in no cluster: nothing to remove it from`);
        if (!argv.yes && !argv.check) await confirm(`Remove ${n.hostname} from cluster ${n.cluster} (drain, leave, remove-node)?`, '--yes');
        const { removeFromCluster } = await import('../../cluster/index.js');
        const { removal, hosts } = await removeFromCluster(ctx.db, n.hostname, {
          ...playbookContext(ctx, argv.check),
          ...(argv.force ? { force: true } : {}),
        });
        reportRun(`remove ${n.hostname} from ${n.cluster}`, removal);
        if (hosts) reportRun(`/etc/hosts on the rest of ${n.cluster}`, hosts);
        return;
      }
      if (!argv.yes) await confirm(`Remove node ${n.hostname} (${n.address}) from the fleet?`, '--yes');
      (await import('../../ssh/index.js')).forgetNode(ctx.db, ctx.dataDir, String(n.id));
      print(`Removed node ${n.hostname}`);
    }),
});

const install = command<Args<{ node: string; check?: boolean }>>({
  command: 'install <node>',
  describe: 'Prerequisites, /etc/hosts and MicroK8s for one node, joining it to its cluster',
  builder: builder<Args<{ node: string; check?: boolean }>>((y) =>
    nodeArg(y)
      .option('check', { type: 'boolean', describe: 'Show what would change, change nothing' })
      .example('$0 node install pi6', 'pi6 joins its cluster'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { installNode } = await import('../../cluster/index.js');
      reportRun(`install of ${argv.node}`, await installNode(ctx.db, argv.node, playbookContext(ctx, argv.check)));
    }),
});

const reset = command<Args<{ nodes: string[]; yes?: boolean; check?: boolean; force?: boolean }>>({
  command: 'reset <nodes..>',
  describe: 'Leave the cluster and remove MicroK8s from these nodes (safe to re-run)',
  builder: builder<Args<{ nodes: string[]; yes?: boolean; check?: boolean; force?: boolean }>>((y) =>
    y
      .positional('nodes', { type: 'string', array: true, demandOption: true })
      .option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' })
      .option('check', { type: 'boolean', describe: 'Show what would change, change nothing' })
      .option('force', { type: 'boolean', describe: 'Go ahead even if the cluster loses HA or quorum, or a node is gone for good' })
      .example('$0 node reset pi5 --yes', 'Wipe MicroK8s from pi5'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      // Every node must exist before anyone is asked to confirm wiping it.
      const names = argv.nodes.map((ref) => getNode(ctx.db, String(ref)).hostname);
      if (!argv.yes && !argv.check) await confirm(`Remove MicroK8s and its data from ${names.join(', ')}?`, '--yes');
      const { resetNodes } = await import('../../cluster/index.js');
      reportRun(
        `reset of ${names.join(', ')}`,
        await resetNodes(ctx.db, names, { ...playbookContext(ctx, argv.check), ...(argv.force ? { force: true } : {}) }),
      );
    }),
});

const testSshCommand = command<Args<{ nodes: string[]; json?: boolean }>>({
  command: 'test-ssh <nodes..>',
  describe: 'Check SSH login and passwordless sudo through Ansible, and record the result',
  builder: builder<Args<{ nodes: string[]; json?: boolean }>>((y) =>
    y
      .positional('nodes', { type: 'string', array: true, demandOption: true, describe: 'Node ids or hostnames' })
      .option('json', { type: 'boolean' })
      .example('$0 node test-ssh pi1', 'Test pi1')
      .example('$0 node test-ssh pi1 pi2 pi3', 'Test three nodes in one run'),
  ),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { testSsh } = await import('../../ssh/index.js');
      const onOutput = streamTo(argv.json);
      const run = await testSsh(ctx.db, argv.nodes.map(String), {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      if (argv.json) {
        printJson({
          operation: run.operationId,
          results: run.results.map((r) => ({ node: r.node.hostname, ok: r.ok, failure: r.failure ?? null, summary: r.summary })),
        });
      } else {
        print('');
        for (const r of run.results) print(`${r.node.hostname}: ${r.summary}`);
        print(`(operation ${run.operationId})`);
      }
      if (run.results.some((r) => !r.ok)) process.exitCode = 2;
    }),
});

const sshStatus = command<Args<{ cluster?: string; json?: boolean }>>({
  command: 'ssh-status',
  describe: 'Key status and last SSH test of every node',
  builder: builder<Args<{ cluster?: string; json?: boolean }>>((y) => y.option('cluster', { type: 'string' }).option('json', { type: 'boolean' }).example('$0 node ssh-status', 'Which nodes are verified')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const nodes = listNodes(db, argv.cluster ? { cluster: argv.cluster } : {});
      const rows = nodes.map((n) => ({
        hostname: n.hostname,
        keyType: n.sshKeyType,
        fingerprint: n.sshKeyFingerprint,
        status: n.sshKeyStatus,
        testedAt: n.sshTestedAt,
        result: n.sshTestResult,
      }));
      if (argv.json) return printJson(rows);
      print(table(['HOSTNAME', 'TYPE', 'FINGERPRINT', 'STATUS', 'LAST TEST', 'RESULT'], rows.map((r) => [r.hostname, r.keyType, r.fingerprint, r.status, r.testedAt, r.result])));
    }),
});

const regenerate = command<Args<{ node: string; force?: boolean; 'key-type'?: KeyType }>>({
  command: 'regenerate-ssh-key <node>',
  describe: 'Rotate the node key (the old one is kept in keys/retired) and print fresh instructions',
  builder: builder<Args<{ node: string; force?: boolean; 'key-type'?: KeyType }>>((y) =>
    nodeArg(y)
      .option('force', { type: 'boolean', describe: 'Do not ask for confirmation' })
      .option('key-type', { type: 'string', choices: ['ed25519', 'rsa'] as const })
      .example('$0 node regenerate-ssh-key pi1 --force', 'New key for pi1')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const n = getNode(ctx.db, argv.node);
      if (!argv.force) await confirm(`Replace the SSH key of ${n.hostname}? mko cannot reach it until the new key is installed`, '--force');
      const { regenerateKey } = await import('../../ssh/index.js');
      const { node, instructions, retired } = await regenerateKey(ctx.db, ctx.dataDir, argv.node, argv['key-type']);
      print(`New key for ${node.hostname}: ${node.sshKeyFingerprint}${retired ? ` (old key kept at ${retired})` : ''}\n`);
      print(instructions);
    }),
});

const instructions = command<Args<{ node: string; output?: string }>>({
  command: 'instructions <node>',
  describe: 'Print the node setup instructions again (--output writes them as Markdown)',
  builder: builder<Args<{ node: string; output?: string }>>((y) =>
    nodeArg(y)
      .option('output', { type: 'string', alias: 'o', describe: 'Write Markdown to this file' })
      .example('$0 node instructions pi1 -o pi1-setup.md', 'Markdown for pi1')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { nodeInstructions } = await import('../../ssh/index.js');
      if (argv.output === undefined) return print(await nodeInstructions(db, argv.node, 'text'));
      const file = writeOutputFile(argv.output, await nodeInstructions(db, argv.node, 'markdown'), '-o');
      print(`Wrote ${file}`);
    }),
});

export const nodeCommand = group(
  'node',
  groupDescription('node'),
  [add, list, show, update, remove, install, reset, testSshCommand, sshStatus, regenerate, instructions],
  ['$0 node add --hostname pi1 --ip 192.168.1.10 --user ubuntu', 'Onboard a node'],
);
