// The web UI's pages: server-rendered from templates/web with the views in views.ts. A page needs a
// browser session (a token logged in once); without one it sends the browser to /login.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { writeStamp, type Db } from '../db/index.js';
import { getCookie, setCookie } from 'hono/cookie';
import { getCluster, getNode, listClusters, listNodes } from '../fleet/index.js';
import { latestReport, summarizeReport } from '../hardware/index.js';
import { getOperation, listOperations, OPERATION_STATUSES, type Operation, type OperationStatus } from '../ops/index.js';
import { getUps } from '../power/index.js';
import { listProxmoxHosts } from '../proxmox/index.js';
import { instructionsInput, nodeInstructions, nodeKey, renderSetupScript } from '../ssh/index.js';
import { renderPage, renderPageBytes, renderPartial, staticFiles, type PageFrame } from './render.js';
import type { WebDeps, WebEnv } from './route.js';
import { findSession, openSession, SESSION_COOKIE, SESSION_DAYS } from './sessions.js';
import { listTokens, SCOPES } from './tokens.js';
import { choices, clusterView, fleetDashboardView, operationView, powerDashboardView, upsPageView, upsStatusView } from './views.js';
import { HEALTH_FINGERPRINT, healthDashboardView, nodeHealthView } from './health-view.js';
import { clusterDoctorView, doctorRunView, nodeDoctorView, type DoctorView } from './doctor-view.js';
import { isCheckRun } from '../doctor/index.js';
import { RunRegistry } from './runs.js';
import { clusterSleepView, nodeSleepView } from './sleep-view.js';

/** The layout's part of a page: who is signed in, with what scope, and what the API asks of each scope (scopeTable). */
const pageFrame = (c: Context<WebEnv>, title: string, routes: string): PageFrame => {
  const principal = c.get('principal');
  return { title, user: principal.name, csrf: c.get('csrf') ?? '', scope: principal.scope, routes };
};

function operationsFilter(c: Context<WebEnv>): { status?: OperationStatus; limit: number; query: string } {
  const status = c.req.query('status');
  const limit = Math.min(500, Math.max(1, Number(c.req.query('limit')) || 50));
  const valid = status && OPERATION_STATUSES.includes(status as OperationStatus) ? (status as OperationStatus) : undefined;
  const query = `?limit=${limit}${valid ? `&status=${valid}` : ''}`;
  return { ...(valid ? { status: valid } : {}), limit, query };
}

/**
 * What the dashboard shows changes rarely; twenty phones asking every second should not render it
 * twenty times. Its fleet part (clusters, nodes, operations: the bulk, about 20 ms to render for
 * 1,000 nodes) is kept, encoded, while a one-query fingerprint of its data stays the same; the
 * power part, small, while its UPS readings and the second (its "read N s ago" ages) do.
 * Every term is coalesced: one NULL (sum() over no rows) would make the whole key NULL, for good.
 */
const FLEET_FINGERPRINT = `SELECT
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM nodes) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM clusters) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(checked_at), '') FROM node_status) || '|' ||
  (SELECT coalesce(max(id), 0) || ':' || coalesce(max(finished_at), '') || ':' || coalesce(sum(status = 'running'), 0) FROM operations)`;
const POWER_FINGERPRINT = `SELECT
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM upses) || '|' ||
  (SELECT coalesce(group_concat(ups_id || '=' || polled_at || '/' || coalesce(status, '') || '/' || coalesce(charge, '') || '/' || coalesce(runtime, '') || '/' || coalesce(error, ''), ';'), '') FROM ups_state)`;

const HTML = { 'content-type': 'text/html; charset=UTF-8' };

/** `read`'s last answer again while nothing was written to the database since (see writeStamp). */
function untilWritten(db: Db, read: () => string): () => string {
  let kept: { stamp: string; value: string } | undefined;
  return () => {
    const stamp = writeStamp(db);
    if (kept?.stamp !== stamp) kept = { stamp, value: read() };
    return kept.value;
  };
}

/** Whole dashboard pages kept per session (their layout holds its user and CSRF token): at most this many. */
const KEPT_PAGES = 64;

/** A value kept while its key stays the same. */
function cachedBy<T>(key: () => string, make: () => T): () => T {
  let kept: { key: string; value: T } | undefined;
  return () => {
    const now = key();
    if (kept?.key !== now) kept = { key: now, value: make() };
    return kept.value;
  };
}

/** The header and per-host recap of an operation page, which the page re-reads when the run ends. */
function operationSummary(operation: Operation) {
  const recap = Object.entries(operation.recap).map(([host, r]) => ({ host, ...r, bad: r.failed > 0 || r.unreachable > 0 }));
  return { operation, recap };
}

export function mountPages(app: Hono<WebEnv>, deps: WebDeps, routeScopes = '[]'): void {
  const { db } = deps;
  const frame = (c: Context<WebEnv>, title: string): PageFrame => pageFrame(c, title, routeScopes);
  const runs = deps.runs ?? new RunRegistry();
  /**
   * A run's results once this server's run of it has stored them: its playbook's end (what the
   * page waited for) is recorded before the domain function stores what follows from it.
   */
  const settled = async <T extends { operation: { id: number; running: boolean } | null }>(make: () => T): Promise<T> => {
    const first = make();
    if (!first.operation || first.operation.running || !runs.runs(first.operation.id)) return first;
    await runs.settled(first.operation.id);
    return make();
  };
  const doctorPart = async (make: () => DoctorView) => renderPartial('doctor-results', await settled(make));
  const fleetQuery = db.prepare(FLEET_FINGERPRINT).pluck();
  const powerQuery = db.prepare(POWER_FINGERPRINT).pluck();
  const fleetKey = untilWritten(db, () => String(fleetQuery.get()));
  const powerKey = untilWritten(db, () => String(powerQuery.get()));
  const fleetPart = cachedBy(fleetKey, () => Buffer.from(renderPartial('dashboard-fleet', fleetDashboardView(db))));
  const powerPart = cachedBy(() => `${powerKey()}@${Math.floor(Date.now() / 1000)}`, () => Buffer.from(renderPartial('dashboard-power', powerDashboardView(db))));
  // The health part (mko health's latest states): kept while its fingerprint stays the same.
  const healthQuery = db.prepare(HEALTH_FINGERPRINT).pluck();
  const healthPart = cachedBy(untilWritten(db, () => String(healthQuery.get())), () => Buffer.from(renderPartial('dashboard-health', healthDashboardView(db))));
  let dashboard: { power?: Buffer; health?: Buffer; fleet?: Buffer; bytes: Buffer<ArrayBuffer> } = { bytes: Buffer.alloc(0) };
  const dashboardBytes = (): Buffer<ArrayBuffer> => {
    const power = powerPart();
    const health = healthPart();
    const fleet = fleetPart();
    if (dashboard.power !== power || dashboard.health !== health || dashboard.fleet !== fleet) {
      dashboard = { power, health, fleet, bytes: Buffer.concat([power, Buffer.from('\n'), health, Buffer.from('\n'), fleet]) };
    }
    return dashboard.bytes;
  };
  const pages = new Map<string, { part: Uint8Array; page: Buffer<ArrayBuffer> }>();
  const dashboardPage = (c: Context<WebEnv>): Buffer<ArrayBuffer> => {
    const part = dashboardBytes();
    const shown = frame(c, 'Dashboard');
    const key = `${shown.user ?? ''}\u0000${shown.csrf ?? ''}`;
    let kept = pages.get(key);
    if (kept?.part !== part) {
      kept = { part, page: renderPageBytes('dashboard', shown, {}, { name: 'dashboard', bytes: part }) };
      pages.delete(key);
      if (pages.size >= KEPT_PAGES) pages.delete(pages.keys().next().value ?? '');
      pages.set(key, kept);
    }
    return kept.page;
  };

  app.get('/static/:file', (c) => {
    const file = staticFiles.get(c.req.param('file'));
    if (!file) return c.text('not found', 404);
    return c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'no-cache' });
  });

  app.get('/login', (c) => c.html(renderPage('login', { title: 'Log in' }, {})));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form['token'] === 'string' ? form['token'].trim() : '';
    const opened = token ? openSession(db, token) : undefined;
    if (!opened) return c.html(renderPage('login', { title: 'Log in' }, { error: 'That token is not valid (or was revoked).' }), 401);
    setCookie(c, SESSION_COOKIE, opened.id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: SESSION_DAYS * 86_400 });
    return c.redirect('/', 303);
  });

  const session: MiddlewareHandler<WebEnv> = async (c, next) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    const found = cookie ? findSession(db, cookie) : undefined;
    if (!found) return c.redirect('/login', 303);
    c.set('principal', found.token);
    c.set('csrf', found.csrf);
    return next();
  };
  for (const prefix of ['/', '/fragments/*', '/operations', '/operations/*', '/nodes/*', '/clusters/*', '/ups/*', '/settings']) app.use(prefix, session);

  app.get('/', (c) => c.body(dashboardPage(c), 200, HTML));
  app.get('/fragments/dashboard', (c) => c.body(dashboardBytes(), 200, HTML));

  app.get('/operations', (c) => {
    const filter = operationsFilter(c);
    return c.html(
      renderPage('operations', frame(c, 'Operations'), {
        operations: listOperations(db, filter).map(operationView),
        statuses: OPERATION_STATUSES.map((value) => ({ value, selected: value === filter.status })),
        limit: filter.limit,
        query: filter.query,
      }),
    );
  });
  app.get('/fragments/operations', (c) => c.html(renderPartial('operations-table', { operations: listOperations(db, operationsFilter(c)).map(operationView) })));
  app.get('/operations/:id{[0-9]+}', (c) => {
    const operation = getOperation(db, Number(c.req.param('id')));
    return c.html(
      renderPage('operation', frame(c, `Operation ${operation.id}`), {
        ...operationSummary(operation),
        doctor: isCheckRun(operation.kind) ? doctorRunView(db, operation) : null,
        command: operation.args.join(' '),
        // Where the live log goes on from: SQLite counts a log's length in characters, as here.
        logOffset: [...operation.log].length,
        running: operation.status === 'running',
      }),
    );
  });
  app.get('/fragments/operations/:id{[0-9]+}/doctor', async (c) => {
    const id = Number(c.req.param('id'));
    return c.html(await doctorPart(() => doctorRunView(db, getOperation(db, id))));
  });
  app.get('/fragments/operations/:id{[0-9]+}/summary', (c) => c.html(renderPartial('operation-summary', operationSummary(getOperation(db, Number(c.req.param('id')))))));

  app.get('/nodes/new', (c) =>
    c.html(
      renderPage('node-new', frame(c, 'Add a node'), {
        clusters: choices(listClusters(db).map((cl) => cl.name)),
        roles: choices(['control-plane', 'worker'], 'worker'),
      }),
    ),
  );
  app.get('/nodes/:node', async (c) => {
    const node = getNode(db, c.req.param('node'));
    const report = latestReport(db, node.id);
    const key = node.sshKeyPath ? await nodeKey(node).catch(() => undefined) : undefined;
    return c.html(
      renderPage('node', frame(c, node.hostname), {
        node,
        added: c.req.query('added') !== undefined,
        instructions: await nodeInstructions(db, String(node.id)),
        script: key ? renderSetupScript(instructionsInput(node, key)) : null,
        publicKey: key?.publicKey ?? null,
        hardware: report ? summarizeReport(report.report, node.hostname) : null,
        health: nodeHealthView(db, node.hostname),
        doctor: nodeDoctorView(db, node),
        sleep: nodeSleepView(db, node),
      }),
    );
  });
  app.get('/fragments/nodes/:node/sleep', async (c) => {
    const node = getNode(db, c.req.param('node'));
    return c.html(renderPartial('node-sleep', await settled(() => nodeSleepView(db, node))));
  });
  app.get('/fragments/nodes/:node/doctor', async (c) => {
    const node = getNode(db, c.req.param('node'));
    return c.html(await doctorPart(() => nodeDoctorView(db, node)));
  });

  app.get('/clusters/:cluster', (c) => {
    const cluster = getCluster(db, c.req.param('cluster'));
    const operations = listOperations(db, { limit: 200 })
      .filter((op) => op.target === cluster.name || op.target.split(',').some((t) => t === cluster.name))
      .slice(0, 20)
      .map(operationView);
    const nodes = listNodes(db, { cluster: cluster.name });
    return c.html(
      renderPage('cluster', frame(c, cluster.name), {
        cluster: clusterView(db, cluster, nodes),
        operations,
        doctor: clusterDoctorView(db, cluster),
        sleep: clusterSleepView(db, cluster, nodes),
      }),
    );
  });
  app.get('/fragments/clusters/:cluster/sleep', (c) => {
    const cluster = getCluster(db, c.req.param('cluster'));
    return c.html(renderPartial('cluster-sleep', clusterSleepView(db, cluster, listNodes(db, { cluster: cluster.name }))));
  });
  app.get('/fragments/clusters/:cluster/doctor', async (c) => {
    const cluster = getCluster(db, c.req.param('cluster'));
    return c.html(await doctorPart(() => clusterDoctorView(db, cluster)));
  });

  app.get('/ups/:ups', (c) => {
    const ups = getUps(db, c.req.param('ups'));
    return c.html(renderPage('ups', frame(c, ups.name), upsPageView(db, ups)));
  });
  app.get('/fragments/ups/:ups', (c) => c.html(renderPartial('ups-status', upsStatusView(db, getUps(db, c.req.param('ups'))))));

  app.get('/fragments/tokens', (c) => c.html(renderPartial('tokens-table', { tokens: listTokens(db) })));
  app.get('/settings', (c) =>
    c.html(
      renderPage('settings', frame(c, 'Settings'), {
        proxmox: listProxmoxHosts(db).map((h) => ({ ...h, tls: h.insecure ? 'not verified' : h.caFile ? `pinned CA ${h.caFile}` : 'system CAs' })),
        tokens: listTokens(db),
        scopes: choices(SCOPES, 'read'),
      }),
    ),
  );
}
