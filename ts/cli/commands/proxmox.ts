import { insecureWarning, addProxmoxHost, listProxmoxHosts, nodesUsing, removableProxmoxHost, removeProxmoxHost, testProxmoxHost } from '../../proxmox/index.js';
import { builder, command, group } from '../command.js';
import { groupDescription } from '../groups.js';
import { confirm, playbookContext, withContext, type GlobalArgs } from '../context.js';
import { print, printJson, table, terminalText } from '../output.js';
import { secretArg } from '../secret-arg.js';

type Args<T> = GlobalArgs & T;
type AddArgs = Args<{ name: string; url: string; 'token-id': string; 'token-secret': string; 'ca-file'?: string; insecure?: boolean; json?: boolean }>;

const add = command<AddArgs>({
  command: 'add <name>',
  describe: 'Register a Proxmox VE API endpoint and its API token (the secret is stored as a secret, never shown)',
  builder: builder<AddArgs>((y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'Name nodes use with --proxmox-host, e.g. pve1' })
      .option('url', { type: 'string', demandOption: true, describe: 'API URL, e.g. https://pve1.lan:8006' })
      .option('token-id', { type: 'string', demandOption: true, describe: 'API token id USER@REALM!TOKENID' })
      // nargs 1 lets the value be "-" (stdin), which yargs otherwise takes for a positional.
      .option('token-secret', { type: 'string', nargs: 1, demandOption: true, describe: 'API token secret (- reads it from stdin)' })
      .option('ca-file', { type: 'string', describe: "PEM file of the CA that signed the API's certificate (/etc/pve/pve-root-ca.pem)" })
      .option('insecure', { type: 'boolean', describe: 'Do not verify TLS at all (warned about on every use)' })
      .option('json', { type: 'boolean' })
      .example('$0 proxmox add pve1 --url https://pve1.lan:8006 --token-id root@pam!mko --token-secret - --ca-file pve-root-ca.pem', 'Secret from stdin, CA pinned')),
  handler: (argv) =>
    withContext(argv, ({ db, dataDir }) => {
      const host = addProxmoxHost(db, dataDir, {
        name: argv.name,
        url: argv.url,
        tokenId: argv['token-id'],
        tokenSecret: secretArg(argv['token-secret'], '--token-secret'),
        ...(argv['ca-file'] !== undefined ? { caFile: argv['ca-file'] } : {}),
        ...(argv.insecure ? { insecure: true } : {}),
      });
      if (host.insecure) process.stderr.write(`mko: warning: ${insecureWarning(host.name)}\n`);
      if (argv.json) return printJson(host);
      print(`Added Proxmox host ${host.name} (${host.url}), token ${host.tokenId}, TLS ${tlsText(host)}`);
    }, { creates: true }),
});

function tlsText(host: { caFile: string | null; insecure: boolean }): string {
  return host.insecure ? 'NOT verified (--insecure)' : host.caFile ? `verified against ${host.caFile}` : "verified against this machine's CAs";
}

const list = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'Registered Proxmox hosts (token secrets are never shown)',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 proxmox list', 'Every Proxmox host')),
  handler: (argv) =>
    withContext(argv, ({ db }) => {
      const hosts = listProxmoxHosts(db).map((h) => ({ ...h, nodes: nodesUsing(db, h) }));
      if (argv.json) return printJson(hosts);
      if (hosts.length === 0) return print('No Proxmox hosts: add one with mko proxmox add');
      print(table(['NAME', 'URL', 'TOKEN ID', 'TLS', 'NODES'], hosts.map((h) => [h.name, h.url, h.tokenId, tlsText(h), h.nodes.join(',')])));
    }),
});

const remove = command<Args<{ name: string; force?: boolean; yes?: boolean }>>({
  command: 'remove <name>',
  describe: 'Forget a Proxmox host and its token secret',
  builder: builder<Args<{ name: string; force?: boolean; yes?: boolean }>>((y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('force', { type: 'boolean', describe: 'Remove it even though nodes still name it' })
      .option('yes', { type: 'boolean', alias: 'y', describe: 'Do not ask for confirmation' })
      .example('$0 proxmox remove pve1 --yes', 'Forget pve1')),
  handler: (argv) =>
    withContext(argv, async ({ db, dataDir }) => {
      const found = removableProxmoxHost(db, argv.name, { force: argv.force ?? false });
      if (!argv.yes) await confirm(`Remove Proxmox host ${found.name} and its token secret?`, '--yes');
      const host = removeProxmoxHost(db, dataDir, found.name, { force: argv.force ?? false });
      print(`Removed Proxmox host ${host.name} and its token secret`);
    }),
});

type TestArgs = Args<{ name: string; json?: boolean }>;
const test = command<TestArgs>({
  command: 'test <name>',
  describe: "Test the connection: the API's version with the stored token and TLS pinning, and the state of each VM mko starts there (changes nothing)",
  builder: builder<TestArgs>((y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'Proxmox host name or id' })
      .option('json', { type: 'boolean' })
      .example('$0 proxmox test pve1', 'pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const result = await testProxmoxHost(ctx.db, argv.name, {
        ...playbookContext(ctx, false, { json: argv.json }),
        onWarning: (message) => process.stderr.write(`mko: warning: ${message}\n`),
      });
      if (!result.ok) process.exitCode = 2;
      if (argv.json) return printJson(result);
      if (result.ok) return print(result.summary);
      process.stderr.write(`mko: ${terminalText(result.summary, { oneLine: true })} (operation ${result.operationId})\n`);
    }),
});

export const proxmoxCommand = group('proxmox', groupDescription('proxmox'), [add, list, remove, test], [
  '$0 proxmox list',
  'Registered Proxmox hosts',
]);
