// The web app in-process for API tests: a real SQLite file in a temporary folder, one token per
// scope, and a `call` that sends a request the way a client does.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type Db } from '../db/index.js';
import { API_PREFIX, createApp } from '../web/app.js';
import { createToken } from '../web/tokens.js';

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
