// The HTTP application of `mko web`: authentication, CSRF, errors as JSON, and the /api/v1 routes.
// Every route is a thin layer over the domain functions the CLI calls; it has no behaviour of its own.
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { UserError } from '../errors.js';
import { apiRoutes } from './api/index.js';
import { openApiDocument } from './openapi.js';
import type { WebDeps, WebEnv } from './route.js';
import { closeSession, csrfMatches, findSession, openSession, SESSION_COOKIE, SESSION_DAYS } from './sessions.js';
import { verifyToken } from './tokens.js';

export const API_PREFIX = '/api/v1';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The HTTP status a domain error means: what is missing is 404, a clash 409, anything else 400. */
export function statusFor(error: UserError): 400 | 404 | 409 {
  if (/^no [a-z]/.test(error.message)) return 404;
  if (/already exists|already (runs|running)/.test(error.message)) return 409;
  return 400;
}

function errorResponse(c: Context<WebEnv>, error: unknown): Response {
  if (error instanceof UserError) return c.json({ error: error.message, field: error.field ?? null }, statusFor(error));
  // Not the user's doing: the details go to the server's log, never to the client.
  process.stderr.write(`mko web: unexpected error on ${c.req.method} ${c.req.path}: ${(error as Error).stack ?? String(error)}\n`);
  return c.json({ error: 'unexpected error in mko (a bug): see the mko web log', field: null }, 500);
}

function bearer(c: Context<WebEnv>): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function createApp(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const routes = apiRoutes();

  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}: see ${API_PREFIX}/openapi.json`, field: null }, 404));

  // Log in with a token (JSON {token}); answers the CSRF token the page must send back.
  app.post(`${API_PREFIX}/session`, async (c) => {
    const body = (await c.req.json().catch(() => null)) as { token?: unknown } | null;
    const secret = typeof body?.token === 'string' ? body.token : '';
    const opened = secret ? openSession(deps.db, secret) : undefined;
    if (!opened) return c.json({ error: 'invalid token: check it, or make one with mko web token create', field: 'token' }, 401);
    setCookie(c, SESSION_COOKIE, opened.id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: SESSION_DAYS * 86_400 });
    return c.json({ token: opened.session.token.name, scope: opened.session.token.scope, csrf: opened.session.csrf });
  });

  app.use(`${API_PREFIX}/*`, async (c, next) => {
    const presented = bearer(c);
    if (presented) {
      const token = verifyToken(deps.db, presented);
      if (!token) return c.json({ error: 'invalid or revoked token: make one with mko web token create', field: null }, 401);
      c.set('principal', token);
      c.set('csrf', null);
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    const session = cookie ? findSession(deps.db, cookie) : undefined;
    if (!session) return c.json({ error: 'not logged in: send Authorization: Bearer <token>, or log in', field: null }, 401);
    // A cookie rides along with any request the browser makes, so changes need the page's CSRF token.
    if (!SAFE_METHODS.has(c.req.method) && !csrfMatches(session, c.req.header('x-csrf-token'))) {
      return c.json({ error: 'missing or wrong X-CSRF-Token header: reload the page', field: null }, 403);
    }
    c.set('principal', session.token);
    c.set('csrf', session.csrf);
    return next();
  });

  app.delete(`${API_PREFIX}/session`, (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) closeSession(deps.db, cookie);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });
  app.get(`${API_PREFIX}/openapi.json`, (c) => c.json(openApiDocument(routes.specs, API_PREFIX)));
  routes.mount(app, API_PREFIX, deps);
  return app;
}
