import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildInventory, markInventory, writeYamlInventory } from '../../inventory/index.js';
import { projectRoot } from '../../paths.js';
import { builder, command, group } from '../command.js';
import { withContext, type GlobalArgs } from '../context.js';
import { print, printJson } from '../output.js';

type Args<T> = GlobalArgs & T;

const exportCommand = command<Args<{ output: string }>>({
  command: 'export',
  describe: 'Write the fleet as a static YAML inventory',
  builder: builder<Args<{ output: string }>>((y) =>
    y
      .option('output', { type: 'string', alias: 'o', default: path.join('inventories', 'generated', 'hosts.yml'), describe: 'File to write' })
      .example('$0 inventory export -o fleet.yml', 'Then: ansible-inventory -i fleet.yml --graph'),
  ),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      const file = path.resolve(path.isAbsolute(argv.output) ? argv.output : path.join(process.cwd(), argv.output));
      mkdirSync(path.dirname(file), { recursive: true });
      const inventory = buildInventory(db, { dataDir });
      writeYamlInventory(inventory, file);
      print(`Wrote ${path.relative(projectRoot, file).startsWith('..') ? file : path.relative(projectRoot, file)} (${Object.keys(inventory._meta.hostvars).length} hosts)`);
    }),
});

const list = command<Args<object>>({
  command: 'list',
  describe: 'Print the dynamic inventory JSON (what Ansible sees)',
  builder: builder<Args<object>>((y) => y.example('$0 inventory list', 'Same as inventories/mko --list')),
  handler: (argv) => withContext(argv, ({ db, dataDir }) => printJson(markInventory(buildInventory(db, { dataDir })))),
});

export const inventoryCommand = group('inventory', 'The fleet as an Ansible inventory', [exportCommand, list], ['$0 inventory export', 'Write inventories/generated/hosts.yml']);
