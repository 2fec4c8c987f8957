import type { Argv } from 'yargs';
import { builder, command } from '../command.js';
import { checksReport } from '../checks-output.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, streamTo, withContext, type GlobalArgs } from '../context.js';
import { print, printJson } from '../output.js';

type DoctorArgs = GlobalArgs & { target: string; json?: boolean; cheap?: boolean; bundle?: boolean };

export const doctorCommand = command<DoctorArgs>({
  command: 'doctor <target>',
  describe: groupDescription('doctor'),
  builder: builder<DoctorArgs>((y: Argv<GlobalArgs>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'Node (id or hostname) or cluster (id or name)' })
      .option('json', { type: 'boolean', describe: 'Print the results as JSON (no Ansible output)' })
      .option('cheap', { type: 'boolean', describe: 'Only the cheap checks (the ones mko health watch runs)' })
      .option('bundle', { type: 'boolean', describe: 'Also fetch a support bundle (microk8s inspect tarballs, mko records, secrets redacted) to the controller' })
      .option('verbose', { type: 'boolean', describe: 'Show the full log of each playbook run instead of a progress line' })
      .example('$0 doctor home', 'Check every node of cluster home; exit 2 when a critical check fails')
      .example('$0 doctor pi1 --json', 'One node, as JSON')
      .example('$0 doctor home --bundle', 'Check, then fetch a support bundle')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { hasFailures, runDoctor, fetchBundle } = await import('../../doctor/index.js');
      const onOutput = streamTo(argv.json);
      const run = await runDoctor(ctx.db, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }, argv.target, {
        cheapOnly: argv.cheap === true,
      });
      const bundle = argv.bundle ? await fetchBundle(ctx.db, { dbPath: ctx.dbPath, dataDir: ctx.dataDir, signal: interruptSignal(), ...(onOutput ? { onOutput } : {}) }, argv.target, run.operationId) : null;
      const failing = hasFailures(run.results);
      if (argv.json) {
        printJson({ target: run.target, operation: run.operationId, healthy: !failing, results: run.results, ...(bundle ? { bundle } : {}) });
      } else {
        print(`\n${checksReport(run.results)} (operation ${run.operationId})`);
        if (bundle) print(`Support bundle: ${bundle.path}${bundle.missing.length ? ` (no inspect report from ${bundle.missing.join(', ')})` : ''}`);
        print(failing ? `${run.target.name}: critical checks failed: run the fixes above, then mko doctor ${run.target.name} again` : `${run.target.name}: healthy`);
      }
      if (failing) process.exitCode = 2;
    }),
});
