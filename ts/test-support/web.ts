// The web app in-process for API tests: a real SQLite file in a temporary folder, one token per
// scope, and a `call` that sends a request the way a client does.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { addCluster } from '../fleet/index.js';
import { addNode } from '../ssh/index.js';
import { API_PREFIX, createApp } from '../web/app.js';
import { createToken } from '../web/tokens.js';
import { freePort } from './sshd.js';

export interface WebFixture {
  dir: string;
  dbPath: string;
  db: Db;
  app: ReturnType<typeof createApp>;
  tokens: Record<'read' | 'operate' | 'admin', string>;
  call(method: string, url: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  close(): void;
}

export function webFixture(): WebFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-web-'));
  const dbPath = path.join(dir, 'mko.db');
  const db = openDb(dbPath);
  const app = createApp({ db, dbPath, dataDir: dir });
  const tokens = { read: '', operate: '', admin: '' };
  for (const scope of ['read', 'operate', 'admin'] as const) tokens[scope] = createToken(db, { name: `t-${scope}`, scope }).secret;
  return {
    dir,
    dbPath,
    db,
    app,
    tokens,
    call(method, url, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers['authorization'] = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      return Promise.resolve(app.request(`${API_PREFIX}${url}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) }));
    },
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const json = async (response: Response): Promise<Record<string, unknown>> => (await response.json()) as Record<string, unknown>;

/**
 * Cluster `edge` through the API, with these nodes (hostname, and role when not the default) on
 * loopback addresses 127.0.0.2, .3... at a port nobody listens on: every run against them fails at
 * once as unreachable, and nothing leaves the machine.
 */
export async function addUnreachableEdge(web: WebFixture, nodes: readonly (readonly [string, string?])[]): Promise<void> {
  const { call, tokens } = web;
  expect((await call('POST', '/clusters', { token: tokens.admin, body: { name: 'edge' } })).status).toBe(201);
  const sshPort = await freePort();
  for (const [i, [hostname, role]] of nodes.entries()) {
    const body = { hostname, address: `127.0.0.${i + 2}`, sshPort, sshUser: 'ubuntu', cluster: 'edge', ...(role ? { role } : {}) };
    expect((await call('POST', '/nodes', { token: tokens.admin, body })).status).toBe(201);
  }
}

export interface PageFixture {
  dir: string;
  db: Db;
  app: ReturnType<typeof createApp>;
  /** The browser session's cookie (name=value). */
  cookie: string;
  /** A page as the logged-in browser gets it; anything but 200 fails the test. */
  page(url: string): Promise<string>;
  /** The page's CSRF token, as its buttons send it. */
  csrf(html: string): string;
  close(): void;
}

/**
 * The web app in-process for page tests: a real SQLite file in a temporary folder, `prepare` to
 * put the fleet in it, and a browser session logged in through /login with a token of `scope`.
 */
export async function pageFixture(scope: 'read' | 'operate' | 'admin', prepare: (db: Db, dir: string) => unknown = () => undefined): Promise<PageFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-pages-'));
  const db = openDb(path.join(dir, 'mko.db'));
  const app = createApp({ db, dbPath: path.join(dir, 'mko.db'), dataDir: dir });
  const token = createToken(db, { name: 'browser', scope }).secret;
  await prepare(db, dir);
  const login = await app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return {
    dir,
    db,
    app,
    cookie,
    async page(url) {
      const response = await app.request(url, { headers: { cookie } });
      expect(response.status, url).toBe(200);
      return response.text();
    },
    csrf: (html) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1] ?? '',
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `prepare` for pageFixture: cluster home with pi1 (control plane) and pi2, pi3... (workers), at 192.168.1.10, .11... */
export const homeFleet = (nodes: number) => async (db: Db, dir: string): Promise<void> => {
  addCluster(db, { name: 'home' });
  for (let i = 1; i <= nodes; i++) {
    await addNode(db, dir, { hostname: `pi${i}`, address: `192.168.1.${9 + i}`, sshUser: 'ubuntu', cluster: 'home', role: i === 1 ? 'control-plane' : 'worker' });
  }
};
