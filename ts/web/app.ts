// The HTTP application of `mko web`: authentication, CSRF, errors as JSON, and the /api/v1 routes.
// Every route is a thin layer over the domain functions the CLI calls; it has no behaviour of its own.
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { UserError } from '../errors.js';
import { apiRoutes } from './api/index.js';
import { ChangeFeed } from './live.js';
import { openApiDocument } from './openapi.js';
import { mountPages } from './pages.js';
import { renderPage } from './render.js';
import { RunRegistry } from './runs.js';
import { scopeTable, type WebDeps, type WebEnv } from './route.js';
import { closeSession, csrfMatches, findSession, openSession, SESSION_COOKIE, SESSION_DAYS } from './sessions.js';
import { verifyToken } from './tokens.js';

export const API_PREFIX = '/api/v1';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The HTTP status a domain error means: what is missing is 404, a clash 409, anything else 400. */
export function statusFor(error: UserError): 400 | 404 | 409 {
  if (/^no [A-Za-z]/.test(error.message)) return 404;
  if (/already exists|already (runs|running)/.test(error.message)) return 409;
  return 400;
}

function errorResponse(c: Context<WebEnv>, error: unknown): Response {
  const known = error instanceof UserError;
  // Not the user's doing: the details go to the server's log, never to the client.
  if (!known) process.stderr.write(`mko web: unexpected error on ${c.req.method} ${c.req.path}: ${(error as Error).stack ?? String(error)}\n`);
  const message = known ? error.message : 'unexpected error in mko (a bug): see the mko web log';
  const status = known ? statusFor(error) : 500;
  if (c.req.path.startsWith(API_PREFIX)) return c.json({ error: message, field: known ? (error.field ?? null) : null }, status);
  return c.html(renderPage('error', { title: 'Error' }, { message, status }), status);
}

/** Pages load nothing from elsewhere and run no inline script; nobody may frame them. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

function bearer(c: Context<WebEnv>): string | undefined {
  const header = c.req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function createApp(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const routes = apiRoutes();
  const feed = new ChangeFeed(deps.db);

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

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
  // One registry for both: a page waits for the runs the API started.
  const runs = deps.runs ?? new RunRegistry();
  routes.mount(app, API_PREFIX, { ...deps, feed, runs });
  mountPages(app, { ...deps, runs }, scopeTable(routes.specs, API_PREFIX));
  return app;
}
