// Declared API routes: each names its method, path, the scope it needs and its body schema, so the
// router, the scope check and the OpenAPI document come from one list.
import type { Context, Hono } from 'hono';
import { UserError } from '../errors.js';
import type { Db } from '../db/index.js';
import type { ChangeFeed } from './live.js';
import type { RunRegistry } from './runs.js';
import { scopeAllows, type Scope, type Token } from './tokens.js';

export interface WebDeps {
  db: Db;
  dbPath: string;
  dataDir: string;
  /** The server's long actions; one is made when not given. */
  runs?: RunRegistry;
}

/** What every handler gets: the service's dependencies plus its one shared change feed. */
export interface AppDeps extends WebDeps {
  feed: ChangeFeed;
  runs: RunRegistry;
}

export type WebEnv = { Variables: { principal: Token; csrf: string | null } };

export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Hono path under /api/v1, e.g. /nodes/:node */
  path: string;
  scope: Scope;
  summary: string;
  /** JSON schema of the request body (the domain's own ajv schema). */
  body?: object;
  /** Answers a Server-Sent Events stream. */
  stream?: boolean;
  /** Long actions answer 202 with the operation id. */
  accepted?: boolean;
  tag: string;
}

export type Handler = (c: Context<WebEnv>, deps: AppDeps) => Response | Promise<Response>;

export class ApiRoutes {
  readonly specs: RouteSpec[] = [];
  private readonly handlers: Handler[] = [];

  add(spec: RouteSpec, handler: Handler): void {
    this.specs.push(spec);
    this.handlers.push(handler);
  }

  mount(app: Hono<WebEnv>, prefix: string, deps: AppDeps): void {
    this.specs.forEach((spec, i) => {
      const handler = this.handlers[i];
      if (!handler) return;
      app.on(spec.method.toUpperCase(), `${prefix}${spec.path}`, async (c) => {
        const principal = c.get('principal');
        if (!scopeAllows(principal.scope, spec.scope)) {
          return c.json({ error: `token ${principal.name} has scope ${principal.scope}; this needs ${spec.scope}`, field: null }, 403);
        }
        return handler(c, deps);
      });
    });
  }
}

/** The request's JSON object body; a body that is not a JSON object is a 400 naming the fix. */
export async function jsonBody(c: Context<WebEnv>): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new UserError('the request body is not JSON: send a JSON object with Content-Type: application/json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UserError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Destructive actions need `"confirm": true`, as the CLI needs --yes. */
export function requireConfirm(body: Record<string, unknown>, what: string): void {
  if (body['confirm'] !== true) throw new UserError(`${what}: not confirmed; send "confirm": true to do it`, 1, 'confirm');
}

/** A path parameter the route declares (always present once the route matched). */
export function param(c: Context<WebEnv>, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new Error(`route has no :${name}`);
  return value;
}

/** `?limit=`: a whole number from 1 to 9999, `fallback` when not given. */
export function queryLimit(c: Context<WebEnv>, fallback: number): number {
  const text = c.req.query('limit') ?? String(fallback);
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) throw new UserError(`invalid limit ${JSON.stringify(text)}: must be a number from 1 to 9999`, 1, 'limit');
  return Number(text);
}

/** A long action's answer: 202 and the operation to follow. */
export function accepted(c: Context<WebEnv>, operationId: number): Response {
  return c.json({ operationId, status: 'running', events: `/api/v1/operations/${operationId}/events` }, 202);
}
