import type { Argv } from 'yargs';
import { quote, UserError } from '../../errors.js';
import { getNode } from '../../fleet/index.js';
import type { RunContext } from '../../ops/index.js';
import {
  collectMacs,
  configureWol,
  setRtcAlarm,
  setWakeOnLan,
  wakeCluster,
  wakeNode,
  wolConfigOf,
  wolStatus,
  type NicRunResult,
  type WakeOptions,
  type WakeResult,
  type WolConfig,
} from '../../wol/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { details, print, printJson, table } from '../output.js';
import { secretArg } from '../secret-arg.js';

type Args<T> = GlobalArgs & T;

const warn = (message: string): void => {
  process.stderr.write(`mko: warning: ${message}\n`);
};

function printConfig(config: WolConfig): void {
  print(
    details([
      ['node', config.node],
      ['enabled', config.enabled ? 'yes' : 'no'],
      ['method', config.method],
      ['mac', config.mac],
      ['broadcast', config.broadcast],
      ['port', config.port],
      ['secureon', config.secureon ? 'set (not shown)' : 'none'],
      ['proxmox', config.proxmox.vmid !== null ? `VM ${config.proxmox.vmid} on ${config.proxmox.node ?? '-'} via ${config.proxmox.host ?? '-'}` : null],
    ]),
  );
}

type ConfigureArgs = Args<{
  node: string;
  mac?: string;
  broadcast?: string;
  port?: number;
  method?: string;
  secureon?: string;
  'clear-secureon'?: boolean;
  'proxmox-host'?: string;
  'proxmox-node'?: string;
  vmid?: number;
  json?: boolean;
}>;

const configure = command<ConfigureArgs>({
  command: 'configure <node>',
  describe: "Set a node's Wake-on-LAN MAC, broadcast address, port, method and SecureOn password (shows them without options)",
  builder: builder<ConfigureArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('mac', { type: 'string', describe: 'MAC of the NIC that wakes it' })
      .option('broadcast', { type: 'string', describe: "Directed broadcast address of the node's subnet, e.g. 192.168.1.255" })
      .option('port', decimalOption('port', { describe: 'UDP port of the magic packet', defaultDescription: '9' }))
      .option('method', { type: 'string', describe: 'ethernet (magic packet), proxmox (start the VM) or rtc (RTC alarm)' })
      // nargs 1 lets the value be "-" (stdin), which yargs otherwise takes for a positional.
      .option('secureon', { type: 'string', nargs: 1, describe: 'SecureOn password, 4 or 6 hex bytes (- reads it from stdin); stored as a secret' })
      .option('clear-secureon', { type: 'boolean', describe: 'Forget the SecureOn password' })
      .option('proxmox-host', { type: 'string', describe: 'Proxmox host (as added with mko proxmox add) that runs the VM' })
      .option('proxmox-node', { type: 'string', describe: 'Proxmox node name that runs the VM' })
      .option('vmid', decimalOption('vmid', { describe: 'Proxmox VM id' }))
      .option('json', { type: 'boolean' })
      .example('$0 wol configure pi4 --mac 2c:cf:67:00:00:04 --broadcast 192.168.1.255', 'Wake pi4 by magic packet')
      .example('$0 wol configure vm1 --method proxmox --proxmox-host pve1 --proxmox-node pve1 --vmid 101', 'Start vm1 through Proxmox')
      .example('echo 01:02:03:04:05:06 | $0 wol configure nuc1 --secureon -', 'Add a SecureOn password from stdin')),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      if (argv.secureon !== undefined && argv['clear-secureon']) throw new UserError('--secureon and --clear-secureon contradict each other');
      const input = {
        ...(argv.mac !== undefined ? { mac: argv.mac } : {}),
        ...(argv.broadcast !== undefined ? { broadcast: argv.broadcast } : {}),
        ...(argv.port !== undefined ? { port: argv.port } : {}),
        ...(argv.method !== undefined ? { method: argv.method } : {}),
        ...(argv.secureon !== undefined ? { secureon: secretArg(argv.secureon, '--secureon') } : {}),
        ...(argv['clear-secureon'] ? { secureon: null } : {}),
        ...(argv['proxmox-host'] !== undefined ? { proxmoxHost: argv['proxmox-host'] } : {}),
        ...(argv['proxmox-node'] !== undefined ? { proxmoxNode: argv['proxmox-node'] } : {}),
        ...(argv.vmid !== undefined ? { vmid: argv.vmid } : {}),
      };
      const config = Object.keys(input).length > 0 ? configureWol(db, dataDir, argv.node, input) : wolConfigOf(db, getNode(db, argv.node));
      if (argv.json) return printJson(config);
      printConfig(config);
    }),
});

function printNicRun(result: NicRunResult, json: boolean | undefined): void {
  if (json) printJson(result);
  else {
    print(
      `\n${table(
        ['NODE', 'RESULT', 'INTERFACE', 'SUPPORTS', 'WAKE-ON', 'PERSISTED', 'DETAIL'],
        result.hosts.map((h) =>
          h.status === 'reported'
            ? [
                h.host,
                h.report.supported ? (h.report.enabled ? 'enabled' : 'disabled') : 'unsupported',
                h.report.interface,
                h.report.supports_wake_on,
                h.report.wake_on,
                h.report.persistence,
                h.report.detail,
              ]
            : [h.host, h.status, null, null, null, null, h.reason],
        ),
      )}`,
    );
    if (result.operationId !== null) print(`(operation ${result.operationId})`);
  }
  if (!result.ok) process.exitCode = 2;
}

type TargetArgs = Args<{ target: string; json?: boolean }>;
const targetOptions = (y: Argv<GlobalArgs>) =>
  y
    .positional('target', { type: 'string', demandOption: true, describe: 'Node (id or hostname) or cluster (id or name)' })
    .option('json', { type: 'boolean', describe: 'Print the per-node results as JSON (no Ansible output)' });

function nicCommand(name: 'enable' | 'disable') {
  const enabled = name === 'enable';
  return command<TargetArgs>({
    command: `${name} <target>`,
    describe: enabled
      ? 'Turn Wake-on-LAN on for a node or cluster: enable magic-packet wake on each NIC that supports it and persist it'
      : 'Turn Wake-on-LAN off for a node or cluster, on the NICs and in mko',
    builder: builder<TargetArgs>((y) =>
      targetOptions(y)
        .example(`$0 wol ${name} home`, `Every node of cluster home`)
        .example(`$0 wol ${name} pi4 --json`, 'One node, results as JSON')),
    handler: (argv) =>
      withContext(argv, async (ctx) => {
        const onOutput = streamTo(argv.json);
        const result = await setWakeOnLan(ctx.db, argv.target, enabled, {
          dbPath: ctx.dbPath,
          dataDir: ctx.dataDir,
          signal: interruptSignal(),
          ...(onOutput ? { onOutput } : {}),
        });
        printNicRun(result, argv.json);
      }),
  });
}

type CollectArgs = Args<{ target: string; json?: boolean; source: string }>;
const collectMac = command<CollectArgs>({
  command: 'collect-mac <target>',
  describe: "Read each node's MAC (and broadcast address, where none is set) into the database",
  builder: builder<CollectArgs>((y) =>
    targetOptions(y)
      .option('source', {
        type: 'string',
        default: 'auto',
        describe: 'hardware: the latest hardware report; facts: ask the node; auto: the report where there is one',
      })
      .example('$0 wol collect-mac home', 'Every node of cluster home')
      .example('$0 wol collect-mac pi4 --source facts', 'Ask pi4 itself')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      if (!['auto', 'hardware', 'facts'].includes(argv.source)) {
        throw new UserError(`invalid --source ${quote(argv.source)}: must be auto, hardware or facts`);
      }
      const onOutput = streamTo(argv.json);
      const result = await collectMacs(ctx.db, argv.target, {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        source: argv.source as 'auto' | 'hardware' | 'facts',
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      if (argv.json) printJson(result);
      else {
        print(
          `\n${table(
            ['NODE', 'STATUS', 'SOURCE', 'MAC', 'BEFORE', 'BROADCAST'],
            result.hosts.map((h) => [h.host, h.status, h.source, h.mac, h.previousMac === h.mac ? 'same' : h.previousMac, h.broadcast]),
          )}`,
        );
        for (const h of result.hosts.filter((x) => x.reason)) print(`${h.host}: ${h.reason}`);
        if (result.operationId !== null) print(`(operation ${result.operationId})`);
      }
      if (result.hosts.some((h) => h.status !== 'stored')) process.exitCode = 2;
    }),
});

const status = command<Args<{ target?: string; json?: boolean }>>({
  command: 'status [target]',
  describe: 'Per node: enabled, MAC, method, NIC support, last wake; per cluster: Ready, Partial or Disabled',
  builder: builder<Args<{ target?: string; json?: boolean }>>((y) =>
    y
      .positional('target', { type: 'string', describe: 'Node or cluster (default: every node)' })
      .option('json', { type: 'boolean' })
      .example('$0 wol status', 'Every node and cluster')
      .example('$0 wol status home --json', 'Cluster home as JSON')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const result = wolStatus(db, argv.target);
      if (argv.json) return printJson(result);
      if (result.nodes.length === 0) return print('No nodes: add some with mko node add');
      print(
        table(
          ['NODE', 'CLUSTER', 'ENABLED', 'METHOD', 'MAC', 'BROADCAST', 'NIC', 'LAST WAKE', 'RESULT', 'READY'],
          result.nodes.map((n) => [
            n.node,
            n.cluster,
            n.enabled ? 'yes' : 'no',
            n.method,
            n.mac,
            n.method === 'ethernet' && n.broadcast ? `${n.broadcast}:${n.port}` : null,
            n.method === 'proxmox' ? null : n.nic ? `${n.nic.interface ?? '?'} ${n.nic.supported ? `supported (${n.nic.wakeOn ?? '?'})` : 'unsupported'}` : 'unchecked',
            n.lastWake?.at.replace('T', ' ').slice(0, 19),
            n.lastWake?.result,
            n.ready ? 'yes' : 'no',
          ]),
        ),
      );
      print('');
      for (const n of result.nodes) print(`${n.node}: ${n.note}`);
      for (const c of result.clusters) print(`cluster ${c.cluster}: ${c.state} (${c.ready} of ${c.total} node(s) can be woken on demand, ${c.enabled} enabled)`);
    }),
});

function printWake(result: WakeResult, json: boolean | undefined, strict: boolean): void {
  if (json) printJson(result);
  else {
    print(
      `\n${table(
        ['NODE', 'ROLE', 'METHOD', 'RESULT', 'SENT', 'TOOK', 'DETAIL'],
        result.nodes.map((n) => [
          n.host,
          n.role,
          n.method,
          n.outcome,
          n.sentAt?.slice(11, 23),
          n.seconds === null ? null : `${n.seconds.toFixed(1)}s`,
          n.resumed ? `${n.detail}; ${n.resumed.detail}` : n.detail,
        ]),
      )}`,
    );
    print(`(operation ${result.operationId})`);
  }
  const bad = result.nodes.filter((n) => n.outcome === 'failed' || (strict && n.outcome === 'skipped'));
  if (bad.length > 0 || !result.ok) process.exitCode = 2;
}

type WakeFlags = { retries?: number; delay?: number; wait?: boolean; timeout?: number; json?: boolean };
type WakeNodeArgs = Args<WakeFlags & { node: string }>;
type WakeClusterArgs = Args<WakeFlags & { cluster: string }>;
const wakeOptions = (y: Argv<GlobalArgs>) =>
  y
    .option('retries', decimalOption('retries', { describe: 'Extra magic packets after the first', defaultDescription: '2' }))
    .option('delay', decimalOption('delay', { describe: 'Seconds between packets', defaultDescription: '1' }))
    .option('wait', { type: 'boolean', describe: 'Wait until each node answers SSH, and say how long it took' })
    .option('timeout', decimalOption('timeout', { describe: 'With --wait: seconds before a node counts as failed', defaultDescription: '180' }))
    .option('json', { type: 'boolean' });

function wakeArgs(argv: WakeFlags, ctx: { dbPath: string; dataDir: string }, json: boolean | undefined): RunContext & WakeOptions {
  const onOutput = streamTo(json);
  return {
    dbPath: ctx.dbPath,
    dataDir: ctx.dataDir,
    ...(argv.retries !== undefined ? { retries: argv.retries } : {}),
    ...(argv.delay !== undefined ? { delay: argv.delay } : {}),
    ...(argv.timeout !== undefined ? { timeout: argv.timeout } : {}),
    wait: argv.wait ?? false,
    signal: interruptSignal(),
    onWarning: warn,
    ...(onOutput ? { onOutput } : {}),
  };
}

const wakeNodeCommand = command<WakeNodeArgs>({
  command: 'wake-node <node>',
  describe: 'Wake a node: magic packet to its broadcast address, or start its VM through Proxmox',
  builder: builder<WakeNodeArgs>((y) =>
    wakeOptions(y.positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' }))
      .example('$0 wol wake-node pi4 --wait', 'Wake pi4 and wait for SSH')
      .example('$0 wol wake-node nuc1 --retries 5 --delay 2', 'Six packets, two seconds apart')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      printWake(await wakeNode(ctx.db, argv.node, wakeArgs(argv, ctx, argv.json)), argv.json, true);
    }),
});

const wakeClusterCommand = command<WakeClusterArgs>({
  command: 'wake-cluster <cluster>',
  describe: 'Wake every node of a cluster: control plane first, then workers',
  builder: builder<WakeClusterArgs>((y) =>
    wakeOptions(y.positional('cluster', { type: 'string', demandOption: true, describe: 'Cluster id or name' }))
      .example('$0 wol wake-cluster home --wait', 'Control plane, wait for it, then workers')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      printWake(await wakeCluster(ctx.db, argv.cluster, wakeArgs(argv, ctx, argv.json)), argv.json, false);
    }),
});

type RtcArgs = Args<{ node: string; in: number; json?: boolean }>;
const rtcAlarm = command<RtcArgs>({
  command: 'rtc-alarm <node>',
  describe: "Set a node's RTC wake alarm before a planned power-off, so it boots again by itself",
  builder: builder<RtcArgs>((y) =>
    y
      .positional('node', { type: 'string', demandOption: true, describe: 'Node id or hostname' })
      .option('in', decimalOption('in', { demandOption: true, describe: 'Seconds from now' }))
      .option('json', { type: 'boolean' })
      .example('$0 wol rtc-alarm pi4 --in 3600', 'pi4 boots in an hour (power it off now)')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const onOutput = streamTo(argv.json);
      const result = await setRtcAlarm(ctx.db, argv.node, argv.in, {
        dbPath: ctx.dbPath,
        dataDir: ctx.dataDir,
        signal: interruptSignal(),
        ...(onOutput ? { onOutput } : {}),
      });
      if (argv.json) return printJson(result);
      print(`\n${result.node}: RTC wake alarm set to fire in ${result.seconds} s (wakealarm ${result.value}), operation ${result.operationId}`);
    }),
});

export const wolCommand = group(
  'wol',
  groupDescription('wol'),
  [configure, nicCommand('enable'), nicCommand('disable'), collectMac, status, wakeNodeCommand, wakeClusterCommand, rtcAlarm],
  ['$0 wol wake-cluster home --wait', 'Wake cluster home, control plane first'],
);
