// Declared API routes: each names its method, path, the scope it needs and its body schema, so the
// router, the scope check and the OpenAPI document come from one list.
import type { Context, Hono } from 'hono';
import { quote, UserError } from '../errors.js';
import type { Db } from '../db/index.js';
import type { CheckMode, RunContext } from '../ops/index.js';
import { getNode } from '../fleet/index.js';
import { validate, type FieldNames } from '../validate/index.js';
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

export type WebEnv = { Variables: { principal: Token; csrf: string | null; body: Record<string, unknown> } };

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono path under /api/v1, e.g. /nodes/:node */
  path: string;
  scope: Scope;
  summary: string;
  /**
   * JSON schema of the request body (the domain's own ajv schema). Its shape (properties, types,
   * enums, required) is checked before the handler runs; values are the domain's to check.
   */
  body?: object;
  /** How the CLI spells each body property, so a 400 reads as the CLI's message does. */
  fields?: FieldNames;
  /** Answers 201: the request made a new record. */
  created?: boolean;
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
      // Made once per route: validate() compiles a schema once and keeps it.
      const shape = spec.body ? shapeOf(spec.body) : undefined;
      // A field the CLI has no option for is named as the body spells it.
      const names = { ...Object.fromEntries(Object.keys((spec.body as { properties?: object } | undefined)?.properties ?? {}).map((k) => [k, k])), ...spec.fields };
      app.on(spec.method.toUpperCase(), `${prefix}${spec.path}`, async (c) => {
        const principal = c.get('principal');
        if (!scopeAllows(principal.scope, spec.scope)) {
          return c.json({ error: `token ${principal.name} has scope ${principal.scope}; this needs ${spec.scope}`, field: null }, 403);
        }
        if (shape) c.set('body', checkBody(shape, await readBody(c), names));
        return handler(c, deps);
      });
    });
  }
}

/**
 * What the web pages need to know of the API's scopes, as JSON: every route a read token may not
 * call, as [METHOD, path pattern, scope needed]. The pages' script disables the buttons and forms
 * that call them for a token below that scope, rather than letting a click end in a 403.
 */
export function scopeTable(specs: readonly RouteSpec[], prefix: string): string {
  const pattern = (path: string): string => `^${`${prefix}${path}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}$`;
  return JSON.stringify(specs.filter((s) => s.scope !== 'read').map((s) => [s.method.toUpperCase(), pattern(s.path), s.scope]));
}

/** Keywords about a value rather than the shape of the request: the domain checks them (after normalising, e.g. a MAC in capitals). */
const VALUE_KEYWORDS = new Set(['pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'propertyNames', 'noTemplate', 'printable', 'default']);
const TYPE_HINTS: Record<string, string> = { boolean: 'true or false', integer: 'a whole number', number: 'a number', string: 'a string', object: 'a JSON object', array: 'a JSON array' };

/**
 * The shape a request body must have: the schema without its value keywords. Every property
 * without a hint gets one from its type, so that an error says what to send.
 */
export function shapeOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(shapeOf);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (VALUE_KEYWORDS.has(key)) continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, withHint(shapeOf(child))]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = shapeOf(value);
    else out[key] = value;
  }
  return out;
}

function withHint(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null || 'hint' in schema) return schema;
  const type = (schema as { type?: unknown }).type;
  const enumerated = (schema as { enum?: unknown[] }).enum;
  const hint = enumerated ? enumerated.map((v) => String(v)).join(' or ') : typeof type === 'string' ? TYPE_HINTS[type] : undefined;
  return hint ? { ...schema, hint } : schema;
}

/** The request's body as JSON; no body at all is {} (an action without options). */
async function readBody(c: Context<WebEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UserError('the request body is not JSON: send a JSON object with Content-Type: application/json');
  }
}

/** A body of the route's shape, or a 400 naming the field and the fix. The handler gets the body as sent. */
function checkBody(shape: unknown, body: unknown, fields: FieldNames): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UserError('the request body must be a JSON object');
  const { properties = {}, additionalProperties } = shape as { properties?: Record<string, unknown>; additionalProperties?: unknown };
  if (additionalProperties === false) {
    const unknown = Object.keys(body).find((name) => !Object.hasOwn(properties, name));
    if (unknown !== undefined) {
      const known = Object.keys(properties);
      throw new UserError(`unknown field ${quote(unknown)}: ${known.length ? `this request takes ${known.join(', ')}` : 'this request takes no fields: send {}'}`, 1, unknown);
    }
  }
  // Checked on a copy: ajv fills in defaults, and what the handler gets is what was sent.
  validate(shape as object, structuredClone(body), fields);
  return body as Record<string, unknown>;
}

/** The request's JSON object body, as its route's schema checked it; a body that is not a JSON object is a 400 naming the fix. */
export async function jsonBody(c: Context<WebEnv>): Promise<Record<string, unknown>> {
  const checked = c.get('body') as Record<string, unknown> | undefined;
  if (checked) return checked;
  const body = await readBody(c);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UserError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The body of a removal: `{"confirm": true}` and what else the removal takes. */
export function confirmBody(properties: Record<string, object> = {}): object {
  return { type: 'object', properties: { confirm: { type: 'boolean', hint: 'true, to say you mean it (the CLI asks, or takes --yes)' }, ...properties }, additionalProperties: false };
}

/** The body of an action that takes no options. */
export const noFields = { type: 'object', properties: {}, additionalProperties: false };

/**
 * What the web pages send with every action they asked the user to confirm; an action that is not
 * destructive takes it and needs nothing more.
 */
export const pageConfirm = { type: 'boolean', hint: 'true or false', description: 'the user confirmed (the web pages send it); this action does not need it' };

/** What a playbook-running domain function gets when the server runs it: no terminal, its own cancel. */
export const runContext = (deps: AppDeps, signal: AbortSignal, check = false): RunContext & CheckMode => ({ dbPath: deps.dbPath, dataDir: deps.dataDir, signal, ...(check ? { check: true } : {}) });

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

/**
 * A POST on one node (:node) that runs one of mko's node commands as an operation (202). `refuse`
 * may throw first (a 400, nothing started); `command` is the mko command line doing the same,
 * which the operation is recorded with (and retried by).
 */
export async function startOnNode(
  c: Context<WebEnv>,
  deps: AppDeps,
  command: (node: string) => string[],
  run: (node: string, ctx: RunContext & CheckMode) => Promise<unknown>,
  refuse?: (node: string) => void,
): Promise<Response> {
  const node = getNode(deps.db, param(c, 'node')).hostname;
  refuse?.(node);
  return accepted(c, await deps.runs.start((signal) => run(node, runContext(deps, signal)), command(node)));
}
