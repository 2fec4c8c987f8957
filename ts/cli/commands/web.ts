import { builder, command, group } from '../command.js';
import { withContext, type GlobalArgs } from '../context.js';
import { decimalOption } from '../numbers.js';
import { print, printJson, table } from '../output.js';

type Args<T> = GlobalArgs & T;
type ServeArgs = Args<{ host: string; port: number; 'with-watcher'?: boolean }>;

const serve = command<ServeArgs>({
  command: 'serve',
  describe: 'Serve the web UI and REST API in the foreground (for systemd), until stopped (the default: mko web)',
  builder: builder<ServeArgs>((y) =>
    y
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on; any other than loopback needs a token to exist' })
      .option('port', decimalOption('port', { default: '8080', describe: 'TCP port (0: any free port)' }))
      .option('with-watcher', { type: 'boolean', describe: 'Run the UPS watcher in this process too (as mko ups monitor start would, with its defaults)' })
      .example('$0 web serve', 'http://127.0.0.1:8080/ for this machine only')
      .example('$0 web serve --host 0.0.0.0 --port 8080', 'Reachable from the LAN (make a token first)')),
  handler: (argv) =>
    withContext(argv, async (ctx) => {
      const { runWeb } = await import('../../web/index.js');
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      const log = (line: string): void => print(`${new Date().toISOString()} ${line}`);
      const web = runWeb({ ...ctx, host: argv.host, port: argv.port, signal: controller.signal, log });
      if (!argv['with-watcher']) {
        await web;
        return log('stopped');
      }
      const { runMonitor } = await import('../../power/index.js');
      // Either one failing (the port is taken, a watcher already runs) stops the other.
      const watcher = runMonitor({
        ...ctx,
        signal: controller.signal,
        log: (line) => log(`watcher: ${line}`),
        onStarted: (report) => log(`watcher: started: ${report.rearmed.length} pending action(s) re-armed, ${report.late.length} run late, ${report.expired.length} expired`),
      });
      const results = await Promise.allSettled([web.finally(stop), watcher.finally(stop)]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      log('stopped');
    }),
});

const status = command<Args<{ json?: boolean }>>({
  command: 'status',
  describe: 'Is mko web running, and where',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 web status', 'Running, with its URL')),
  handler: (argv) =>
    withContext(argv, async ({ dbPath }) => {
      const { runningWeb } = await import('../../web/index.js');
      const info = runningWeb(dbPath);
      if (argv.json) return printJson(info ? { running: true, pid: info.pid, url: info.url, startedAt: info.startedAt } : { running: false });
      print(info ? `mko web is running: ${info.url} (pid ${info.pid}, since ${info.startedAt})` : 'mko web is not running (start it with mko web serve)');
    }),
});

const stop = command<Args<{ force?: boolean }>>({
  command: 'stop',
  describe: 'Stop the running mko web',
  builder: builder<Args<{ force?: boolean }>>((y) =>
    y.option('force', { type: 'boolean', describe: 'Kill it if it has not stopped within 10 s' }).example('$0 web stop', 'Stop the server')),
  handler: (argv) =>
    withContext(argv, async ({ dbPath }) => {
      const { stopWeb } = await import('../../web/index.js');
      const info = await stopWeb(dbPath, argv.force === true);
      print(info ? `Stopped mko web (pid ${info.pid}, ${info.url})` : 'mko web is not running');
    }),
});

const tokenCreate = command<Args<{ name: string; scope: string; json?: boolean }>>({
  command: 'create',
  describe: 'Make an API token; it is shown once, only its hash is kept',
  builder: builder<Args<{ name: string; scope: string; json?: boolean }>>((y) =>
    y
      .option('name', { type: 'string', demandOption: true, describe: 'What the token is for, e.g. ha or phone' })
      .option('scope', { type: 'string', demandOption: true, describe: 'read (look), operate (run actions) or admin (change the fleet, tokens)' })
      .option('json', { type: 'boolean' })
      .example('$0 web token create --name ha --scope operate', 'A token for Home Assistant')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { createToken } = await import('../../web/index.js');
      const { token, secret } = createToken(db, { name: argv.name, scope: argv.scope });
      if (argv.json) return printJson({ name: token.name, scope: token.scope, token: secret });
      print(`Token ${token.name} (scope ${token.scope}); shown this once, keep it safe:\n${secret}`);
    }),
});

const tokenList = command<Args<{ json?: boolean }>>({
  command: 'list',
  describe: 'List API tokens (never the tokens themselves)',
  builder: builder<Args<{ json?: boolean }>>((y) => y.option('json', { type: 'boolean' }).example('$0 web token list', 'Every token with its scope')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { listTokens } = await import('../../web/index.js');
      const tokens = listTokens(db);
      if (argv.json) return printJson(tokens);
      if (tokens.length === 0) return print('No tokens yet: mko web token create --name <name> --scope read|operate|admin');
      print(table(['ID', 'NAME', 'SCOPE', 'STARTS WITH', 'CREATED', 'LAST USED', 'REVOKED'], tokens.map((t) => [t.id, t.name, t.scope, `${t.prefix}…`, t.createdAt, t.lastUsedAt, t.revokedAt])));
    }),
});

const tokenRevoke = command<Args<{ token: string }>>({
  command: 'revoke <token>',
  describe: 'Revoke a token (by name or id): it and its browser sessions stop working at once',
  builder: builder<Args<{ token: string }>>((y) => y.positional('token', { type: 'string', demandOption: true }).example('$0 web token revoke ha', 'Revoke the token named ha')),
  handler: (argv) =>
    withContext(argv, async ({ db }) => {
      const { revokeToken } = await import('../../web/index.js');
      const token = revokeToken(db, argv.token);
      print(`Revoked token ${token.name}`);
    }),
});

const token = group('token', 'API tokens for the web UI and REST API', [tokenCreate, tokenList, tokenRevoke], ['$0 web token create --name ha --scope operate', 'A token for Home Assistant']);

export const webCommand = group('web', 'The web UI and REST API (mko web: serve them)', [serve, status, stop, token], ['$0 web --port 8080', 'Serve http://127.0.0.1:8080/'], { defaultCommand: serve });
