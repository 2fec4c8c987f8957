// `mko web`: the web UI and REST API as a foreground process (for systemd), found through a PID
// file next to the database, like the UPS watcher.
import { serve, type ServerType } from '@hono/node-server';
import { isIP } from 'node:net';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { readPidFile, removeOwnPidFile, stopPidFileProcess, writePidFile, type ServiceInfo } from '../ops/index.js';
import { createApp } from './app.js';
import { RunRegistry } from './runs.js';
import { liveTokenCount } from './tokens.js';

export interface WebInfo extends ServiceInfo {
  host: string;
  port: number;
  url: string;
}

export const webPidFile = (dbPath: string): string => `${dbPath}.web.pid`;

export const runningWeb = (dbPath: string): WebInfo | undefined => readPidFile<WebInfo>(webPidFile(dbPath));

/** Loopback addresses: only the machine itself can reach them. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface WebOptions {
  db: Db;
  dbPath: string;
  dataDir: string;
  host: string;
  port: number;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Called once the server listens, with its URL (port 0 picks a free port). */
  onListening?: (info: WebInfo) => void;
}

function listen(server: ServerType): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** Serve until the signal stops it. Refuses a second server on one database, and a non-loopback address without a token. */
export async function runWeb(options: WebOptions): Promise<void> {
  const { db, dbPath, dataDir, host, port, signal, log } = options;
  if (!isIP(host) && host !== 'localhost') throw new UserError(`invalid --host ${JSON.stringify(host)}: must be an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0`, 1, 'host');
  if (!isLoopback(host) && liveTokenCount(db) === 0) {
    throw new UserError(`mko web on ${host} would be reachable from other machines and no token exists: make one first with mko web token create --name <name> --scope admin`, 1, 'host');
  }
  const other = runningWeb(dbPath);
  if (other) throw new UserError(`mko web already runs on ${dbPath} (pid ${other.pid}, ${other.url}): mko web stop`);
  const runs = new RunRegistry();
  const server = serve({ fetch: createApp({ db, dbPath, dataDir, runs }).fetch, hostname: host, port });
  let bound: number;
  try {
    bound = await listen(server);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`port ${port} on ${host} is in use: pick another --port`, 1, 'port');
    if (code === 'EADDRNOTAVAIL') throw new UserError(`${host} is no address of this machine: pick another --host`, 1, 'host');
    throw error;
  }
  const file = webPidFile(dbPath);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  const info = writePidFile(file, { dbPath, host, port: bound, url });
  // mko operation cancel of a run this process records stops that run, never the server.
  const onCancelRequest = (): void => runs.serveCancelRequests(db);
  process.on('SIGUSR2', onCancelRequest);
  try {
    log(`serving ${url} (database ${dbPath})${liveTokenCount(db) === 0 ? '; no token yet: mko web token create --name <name> --scope admin' : ''}`);
    options.onListening?.(info);
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    log(runs.size > 0 ? `stopping: cancelling ${runs.size} running operation(s)` : 'stopping');
    runs.cancelAll();
    for (let waited = 0; runs.size > 0 && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    process.off('SIGUSR2', onCancelRequest);
    // Open event streams would hold close() up for good.
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closing;
    removeOwnPidFile(file);
  }
}

export const stopWeb = (dbPath: string, force: boolean): Promise<WebInfo | undefined> =>
  stopPidFileProcess<WebInfo>(webPidFile(dbPath), 'mko web', { force, timeoutMs: 10_000 });
