import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildInventory, markInventory, toYamlInventory } from '../../inventory/index.js';
import { projectRoot } from '../../paths.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { withContext, type GlobalArgs } from '../context.js';
import { print, printJson, writeOutputFile } from '../output.js';

type Args<T> = GlobalArgs & T;

const defaultOutput = path.join(projectRoot, 'inventories', 'generated', 'hosts.yml');

const exportCommand = command<Args<{ output?: string }>>({
  command: 'export',
  describe: 'Write the fleet as a static YAML inventory',
  builder: builder<Args<{ output?: string }>>((y) =>
    y
      .option('output', { type: 'string', alias: 'o', nargs: 1, defaultDescription: 'inventories/generated/hosts.yml in the project', describe: 'File to write (its folder must exist)' })
      .example('$0 inventory export -o fleet.yml', 'Then: ansible-inventory -i fleet.yml --graph'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      // mko's own default folder is made when missing; a folder the user names never is.
      if (argv.output === undefined) mkdirSync(path.dirname(defaultOutput), { recursive: true });
      const inventory = buildInventory(db, { dataDir });
      const file = writeOutputFile(argv.output ?? defaultOutput, toYamlInventory(inventory), argv.output === undefined ? 'the default output' : '-o');
      print(`Wrote ${path.relative(projectRoot, file).startsWith('..') ? file : path.relative(projectRoot, file)} (${Object.keys(inventory._meta.hostvars).length} hosts)`);
    }),
});

const list = command<Args<object>>({
  command: 'list',
  describe: 'Print the dynamic inventory JSON (what Ansible sees)',
  builder: builder<Args<object>>((y) => y.example('$0 inventory list', 'Same as inventories/mko --list')),
  handler: (argv) => withContext(argv, ({ db, dataDir }) => printJson(markInventory(buildInventory(db, { dataDir })))),
});

export const inventoryCommand = group('inventory', groupDescription('inventory'), [exportCommand, list], ['$0 inventory export', 'Write inventories/generated/hosts.yml']);
