// The UPS registry and live reads from upsd: add, list, remove, status, test.
import type { Argv } from 'yargs';
import { addUps, getUps, listRules, listUpses, parseDriverOptions, removeUps, testUps, updateUps, upsLiveStatus, type UpsChanges } from '../../../power/index.js';
import { builder, command } from '../../command.js';
import { confirm, withContext, type GlobalArgs } from '../../context.js';
import { decimalOption } from '../../numbers.js';
import { print, printJson, table } from '../../output.js';
import { secretArg } from '../../secret-arg.js';
import { duration, percent, type Args } from './format.js';

type AddArgs = Args<{
  name: string;
  host: string;
  driver?: string;
  port?: string;
  description?: string;
  option?: string[];
  'upsd-port'?: number;
  user?: string;
  password?: string;
  json?: boolean;
}>;

export const add = command<AddArgs>({
  command: 'add <name>',
  describe: 'Register a UPS: the node that runs its driver and upsd, the driver and its port',
  builder: builder<AddArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: "The UPS's name in NUT (upsc <name>@<host>)" })
      .option('host', { type: 'string', demandOption: true, describe: 'Node (id or hostname) the UPS is plugged into' })
      .option('driver', { type: 'string', describe: 'NUT driver', defaultDescription: 'usbhid-ups' })
      .option('port', { type: 'string', describe: "The driver's port", defaultDescription: 'auto' })
      .option('description', { type: 'string', describe: 'Free text' })
      .option('option', { type: 'string', array: true, describe: 'Further driver option key=value (repeatable), e.g. vendorid=0463' })
      .option('upsd-port', decimalOption('upsd-port', { describe: "upsd's TCP port", defaultDescription: '3493' }))
      .option('user', { type: 'string', describe: 'upsmon secondary account on this upsd', defaultDescription: 'upsmon_secondary' })
      // nargs 1 lets the value be "-" (stdin), which yargs otherwise takes for a positional.
      .option('password', { type: 'string', nargs: 1, describe: 'Its password (- reads it from stdin); stored as a secret, never shown. Made up when not given' })
      .option('json', { type: 'boolean' })
      .example('$0 ups add rack1 --host pi1', 'A USB UPS on pi1 (usbhid-ups, port auto)')
      .example('echo "$PW" | $0 ups add nas --host nas1 --driver usbhid-ups --user monuser --password -', 'An existing upsd account, password from stdin')),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      const ups = addUps(db, dataDir, {
        name: argv.name,
        host: argv.host,
        ...(argv.driver !== undefined ? { driver: argv.driver } : {}),
        ...(argv.port !== undefined ? { port: argv.port } : {}),
        ...(argv.description !== undefined ? { description: argv.description } : {}),
        ...(argv.option !== undefined ? { driverOptions: parseDriverOptions(argv.option) } : {}),
        ...(argv['upsd-port'] !== undefined ? { upsdPort: argv['upsd-port'] } : {}),
        ...(argv.user !== undefined ? { user: argv.user } : {}),
        ...(argv.password !== undefined ? { password: secretArg(argv.password, '--password') } : {}),
      });
      if (argv.json) return printJson(ups);
      print(`Added UPS ${ups.name} on ${ups.host} (${ups.driver}, port ${ups.port}); upsmon passwords stored as secrets`);
      print(`Next: mko ups setup ${ups.name}    # driver, upsd and upsmon on ${ups.host}, upsmon on its cluster's other nodes`);
    }),
});

type UpdateArgs = Args<{ ups: string; driver?: string; port?: string; description?: string; option?: string[]; 'upsd-port'?: number; json?: boolean }>;

export const update = command<UpdateArgs>({
  command: 'update <ups>',
  describe: "Change a UPS's driver, port, driver options, upsd port or description (then mko ups setup applies it)",
  builder: builder<UpdateArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('ups', { type: 'string', demandOption: true })
      .option('driver', { type: 'string', describe: 'NUT driver' })
      .option('port', { type: 'string', describe: "The driver's port" })
      .option('description', { type: 'string', describe: 'Free text' })
      .option('option', { type: 'string', array: true, describe: 'Driver option key=value (repeatable): replaces all options' })
      .option('upsd-port', decimalOption('upsd-port', { describe: "upsd's TCP port" }))
      .option('json', { type: 'boolean' })
      .example('$0 ups update rack1 --driver blazer_usb --port auto', 'Another driver for rack1')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const changes: UpsChanges = {
        ...(argv.driver !== undefined ? { driver: argv.driver } : {}),
        ...(argv.port !== undefined ? { port: argv.port } : {}),
        ...(argv.description !== undefined ? { description: argv.description } : {}),
        ...(argv.option !== undefined ? { driverOptions: parseDriverOptions(argv.option) } : {}),
        ...(argv['upsd-port'] !== undefined ? { upsdPort: argv['upsd-port'] } : {}),
      };
      const ups = updateUps(db, argv.ups, changes);
      if (argv.json) return printJson(ups);
      print(`Updated UPS ${ups.name} (${ups.driver}, port ${ups.port}, upsd port ${ups.upsdPort})`);
      print(`Next: mko ups setup ${ups.name}    # the nodes get the change`);
    }),
});

export const list = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'The registered UPSes',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 ups list', 'Every UPS')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const upses = listUpses(db);
      if (argv.json) return printJson(upses);
      if (upses.length === 0) return print('No UPS yet: mko ups scan <node>, then mko ups add <name> --host <node>');
      const rules = listRules(db);
      print(
        table(
          ['NAME', 'HOST', 'UPSD', 'DRIVER', 'PORT', 'SECONDARY USER', 'RULES', 'DESCRIPTION'],
          upses.map((u) => [u.name, u.host, `${u.address}:${u.upsdPort}`, u.driver, u.port, u.secondaryUser, rules.filter((r) => r.upsId === u.id).length, u.description]),
        ),
      );
    }),
});

export const remove = command<Args<{ ups: string; yes?: boolean }>>({
  command: 'remove <ups>',
  describe: 'Forget a UPS, its rules, events and stored passwords (the nodes keep their NUT files)',
  builder: builder<Args<{ ups: string; yes?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', demandOption: true }).option('yes', { type: 'boolean', describe: 'Do not ask' }).example('$0 ups remove rack1 --yes', 'Forget rack1')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const ups = getUps(db, argv.ups);
      if (!argv.yes) await confirm(`Remove UPS ${ups.name} with its rules and events?`, '--yes');
      removeUps(db, dataDir, ups.name);
      print(`Removed UPS ${ups.name}`);
    }),
});

export const status = command<Args<{ ups?: string; json?: boolean }>>({
  command: 'status [ups]',
  describe: 'Read each UPS live from its upsd: status flags, charge, runtime, load, input voltage',
  builder: builder<Args<{ ups?: string; json?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', describe: 'One UPS (default: all)' }).option('json', { type: 'boolean' }).example('$0 ups status', 'Every UPS, now')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const rows = await upsLiveStatus(db, argv.ups);
      if (argv.json) printJson(rows);
      else {
        print(
          table(
            ['UPS', 'HOST', 'STATUS', 'FLAGS', 'CHARGE', 'RUNTIME', 'LOAD', 'INPUT'],
            rows.map((r) => [r.ups, r.host, r.ok ? r.status : 'unreadable', r.ok ? r.flags : r.error, percent(r.charge), duration(r.runtime), percent(r.load), r.inputVoltage === null ? null : `${r.inputVoltage} V`]),
          ),
        );
      }
      if (rows.some((r) => !r.ok)) process.exitCode = 2;
    }),
});

export const test = command<Args<{ ups?: string; json?: boolean }>>({
  command: 'test [ups]',
  describe: "Check that upsd answers, serves the UPS with fresh data (not DATA-STALE) and takes upsmon's login",
  builder: builder<Args<{ ups?: string; json?: boolean }>>((y) =>
    y.positional('ups', { type: 'string', describe: 'One UPS (default: all)' }).option('json', { type: 'boolean' }).example('$0 ups test rack1', 'Check rack1')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const results = await testUps(db, dataDir, argv.ups);
      if (argv.json) printJson(results);
      else {
        print(table(['UPS', 'CHECK', 'RESULT', 'DETAIL'], results.flatMap((r) => r.checks.map((c) => [r.ups, c.name, c.ok ? 'ok' : 'FAIL', c.detail]))));
        for (const r of results) print(`${r.ups} (${r.upsd}): ${r.ok ? 'ok' : 'not ok'}`);
      }
      if (results.some((r) => !r.ok)) process.exitCode = 2;
    }),
});
