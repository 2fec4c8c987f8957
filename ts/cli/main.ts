import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../errors.js';
import { resolveCommandLine } from './command.js';
import { parserMessage } from './parser-errors.js';
import { clusterCommand } from './commands/cluster.js';
import { hardwareCommand } from './commands/hardware.js';
import { inventoryCommand } from './commands/inventory.js';
import { labCommand } from './commands/lab.js';
import { migrateCommand } from './commands/migrate.js';
import { nodeCommand } from './commands/node.js';
import { operationCommand } from './commands/operation.js';
import { scenarioCommand } from './commands/scenario.js';
import { systemCommand } from './commands/system.js';
import { proxmoxCommand } from './commands/proxmox.js';
import { wolCommand } from './commands/wol.js';
import { upsCommand } from './commands/ups.js';
import { webCommand } from './commands/web.js';
import { stopSignalExitCode } from './context.js';
import { terminalText } from './output.js';

export const commands = [nodeCommand, clusterCommand, operationCommand, inventoryCommand, migrateCommand, labCommand, scenarioCommand, hardwareCommand, systemCommand, wolCommand, proxmoxCommand, upsCommand, webCommand];

function isSqliteError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('SQLITE_');
}

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName('mko')
    .usage('$0 <command>\n\nMicroK8s clusters on machines you own, driven by Ansible.\nNodes, clusters, UPSes, rules and Proxmox hosts are named by name or by id: a plain number is always an id, so no name is digits only.')
    .option('db', { type: 'string', global: true, describe: 'Fleet database (default: $MKO_DB or data/mko.db)' })
    .strict()
    .demandCommand(1, 'name a command: node, cluster, operation, inventory, migrate, lab, scenario, hardware, system, wol, proxmox, ups, web')
    .recommendCommands()
    .example('$0 node add --hostname pi1 --ip 192.168.1.10 --user ubuntu', 'Onboard a node')
    // Wrap to the terminal; unwrapped when piped, so help text stays greppable.
    .wrap(process.stdout.columns ? Math.min(120, process.stdout.columns) : null)
    .help()
    .alias('help', 'h')
    .version(false)
    .fail((message, error) => {
      // yargs wraps what a coerce function throws (parseDecimal's UserError) in a YError.
      if (error && error.name !== 'YError') throw error;
      throw new UserError(parserMessage(message ?? error?.message ?? 'invalid command line', argv, resolveCommandLine(commands, argv)));
    });
  for (const command of commands) cli.command(command);
  await cli.parseAsync();
}

// `mko node list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  await main(hideBin(process.argv));
} catch (error) {
  if (error instanceof UserError || (error instanceof Error && error.name === 'LabError')) {
    process.stderr.write(`mko: ${terminalText(error.message)}\n`);
    process.exitCode = error instanceof UserError ? error.exitCode : 1;
  } else if (isSqliteError(error) && error.code === 'SQLITE_BUSY') {
    process.stderr.write('mko: the database is busy (another mko is writing): try again in a moment\n');
    process.exitCode = 1;
  } else {
    process.stderr.write(`mko: unexpected error (a bug, please report it):\n${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 70;
  }
}
// Stopped by Ctrl-C or SIGTERM: whatever the command made of its cancelled run, exit as a process
// ended by that signal (130, 143), as shells and systemd expect.
process.exitCode = stopSignalExitCode() ?? process.exitCode;
