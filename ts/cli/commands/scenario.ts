import path from 'node:path';
import { UserError } from '../../errors.js';
import { projectRoot } from '../../paths.js';
import { listScenarios, runScenarios, SCENARIO_STEPS, type ScenarioResult } from '../../scenario/harness.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { interruptSignal, withContext, type GlobalArgs } from '../context.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;

const list = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'Scenarios under molecule/',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 scenario list', 'What can be run')),
  handler: (argv) => {
    const scenarios = listScenarios();
    if (argv.json) return printJson(scenarios);
    print(table(['SCENARIO', 'HOSTS', 'DIRECTORY'], scenarios.map((s) => [s.name, s.hosts, path.relative(projectRoot, s.dir)])));
  },
});

export function summary(results: ScenarioResult[]): string {
  return table(
    ['SCENARIO', ...SCENARIO_STEPS.map((s) => s.toUpperCase()), 'TIME'],
    results.map((r) => [r.name, ...SCENARIO_STEPS.map((s) => r.steps[s]), `${r.seconds.toFixed(0)}s`]),
  );
}

const run = command<Args<{ scenarios?: string[]; 'keep-lab'?: boolean; 'lab-name': string; quiet?: boolean; json?: boolean }>>({
  command: 'run [scenarios..]',
  describe: 'Run scenarios against a fresh lab: syntax, check mode, converge, idempotence, verify',
  builder: builder<Args<{ scenarios?: string[]; 'keep-lab'?: boolean; 'lab-name': string; quiet?: boolean; json?: boolean }>>((y) =>
    y
      .positional('scenarios', { type: 'string', array: true, describe: 'Scenario names (default: all)' })
      .option('keep-lab', { type: 'boolean', describe: 'Leave the lab running afterwards' })
      .option('lab-name', { type: 'string', default: 'mol', describe: 'Name of the scenario lab (and its cluster)' })
      .option('quiet', { type: 'boolean', describe: 'Do not stream Ansible output' })
      .option('json', { type: 'boolean' })
      .example('$0 scenario run', 'Every scenario')
      .example('$0 scenario run hosts --keep-lab', 'One scenario, lab left up'),
  ),
  handler: (argv) => {
    // Scenarios get their own database unless one is named: they must not touch the user's fleet.
    const db = argv.db ?? process.env['MKO_DB'] ?? path.join(projectRoot, 'data', 'scenarios.db');
    return withContext({ db }, async (ctx) => {
      const all = listScenarios();
      const wanted = argv.scenarios?.length ? argv.scenarios.map(String) : all.map((s) => s.name);
      const unknown = wanted.filter((name) => !all.some((s) => s.name === name));
      if (unknown.length > 0) throw new UserError(`no scenario ${unknown.join(', ')}: see mko scenario list`);
      const results = await runScenarios(
        all.filter((s) => wanted.includes(s.name)),
        {
          db: ctx.db,
          dbPath: ctx.dbPath,
          dataDir: ctx.dataDir,
          labName: argv['lab-name'],
          keepLab: argv['keep-lab'] ?? false,
          signal: interruptSignal(),
          onProgress: (m) => process.stderr.write(`scenario: ${m}\n`),
          ...(argv.quiet || argv.json ? {} : { onOutput: (c: string) => process.stdout.write(c) }),
        },
      );
      if (argv.json) printJson(results);
      else {
        print(`\n${summary(results)}`);
        for (const r of results.filter((x) => x.error)) print(`${r.name}: ${r.error}`);
      }
      if (results.some((r) => r.error)) process.exitCode = 2;
    }, { creates: true });
  },
});

export const scenarioCommand = group('scenario', groupDescription('scenario'), [list, run], ['$0 scenario run', 'Run every scenario']);
