import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import { commandWords, resolveCommandLine } from './command.js';
import { parserMessage } from './parser-errors.js';
import { commandsFor, GROUPS } from './groups.js';
import { stopSignalExitCode } from './context.js';
import { terminalText } from './output.js';

// yargs's CommonJS build is one bundled file; its ES module build is some thirty, and loading
// them was a tenth of every start-up. Same code, same messages.
const require = createRequire(import.meta.url);
const yargs = require('yargs/yargs') as typeof import('yargs/yargs');
const { hideBin } = require('yargs/helpers') as typeof import('yargs/helpers');

function isSqliteError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('SQLITE_');
}

export async function main(argv: string[]): Promise<void> {
  // Only the group the command line names is imported (see groups.ts).
  const commands = await commandsFor(commandWords(argv)[0]);
  const cli = yargs(argv)
    .scriptName('mko')
    .usage('$0 <command>\n\nMicroK8s clusters on machines you own, driven by Ansible.\nNodes, clusters, UPSes, rules and Proxmox hosts are named by name or by id: a plain number is always an id, so no name is digits only.')
    .option('db', { type: 'string', global: true, describe: 'Fleet database (default: $MKO_DB or data/mko.db)' })
    .strict()
    .demandCommand(1, `name a command: ${GROUPS.map((g) => g.name).join(', ')}`)
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
