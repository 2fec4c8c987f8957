// mko doctor on the pages, in-process against a real SQLite file: the cluster and node pages show
// their latest run's stored results (failed first, escaped, each fix with a copy button) under a
// "Run doctor" button, and a doctor operation's page shows its own results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index.js';
import { storeResults } from '../doctor/index.js';
import { getCluster, getNode } from '../fleet/index.js';
import type { CheckResult } from '../health/index.js';
import { finishOperation, startOperation } from '../ops/index.js';
import { homeFleet, pageFixture, type PageFixture } from '../test-support/web.js';

let web: PageFixture;
let db: Db;
let nodeId: number;
let clusterId: number;

/** Text a node could plant in a check's evidence: markup, and a template expression. */
const PLANTED = '<script>alert(1)</script> {{7*7}}';
const PLANTED_SHOWN = '&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}';

const check = (id: string, status: CheckResult['status'], over: Partial<CheckResult> = {}): CheckResult => ({
  id, scope: 'node', subject: 'pi1', severity: 'critical', status, summary: `${id} ${status}`, evidence: '', fix: status === 'pass' ? null : `fix ${id}`, cheap: false, ...over,
});
const page = (url: string) => web.page(url);
/** A finished doctor run on `target` with these results, as runDoctor leaves it. */
function doctorRun(target: string, results: CheckResult[]): number {
  const id = startOperation(db, { kind: 'doctor', target, playbook: 'doctor.yml' });
  finishOperation(db, id, { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
  storeResults(db, id, results);
  return id;
}
/** The check ids of a page's results table, in the order shown. */
const shownChecks = (html: string): string[] => [...html.matchAll(/<tr class="health-\w+" data-check="([^"]+)" data-subject="([^"]+)">/g)].map((m) => `${m[1] ?? ''}@${m[2] ?? ''}`);

beforeAll(async () => {
  web = await pageFixture('read', homeFleet(2));
  db = web.db;
  nodeId = getNode(db, 'pi1').id;
  clusterId = getCluster(db, 'home').id;
});

afterAll(() => web.close());

describe('doctor on the pages', () => {
  it('the cluster and node pages offer "Run doctor" on themselves before any run', async () => {
    const cluster = await page(`/clusters/${clusterId}`);
    expect(cluster).toContain('<button type="button" data-action="/api/v1/doctor" data-body="{&quot;target&quot;:&quot;home&quot;}" data-follow data-refresh>Run doctor</button>');
    expect(cluster).toContain(`<div data-part="/fragments/clusters/${clusterId}/doctor">`);
    expect(cluster).toContain('No doctor run yet: press "Run doctor", or <code>mko doctor home</code>');
    const node = await page(`/nodes/${nodeId}`);
    expect(node).toContain('data-body="{&quot;target&quot;:&quot;pi1&quot;}"');
    expect(node).toContain('<code>mko doctor pi1</code>');
  });

  it("the cluster page shows its latest run's results, failed first, escaped, fixes with copy buttons", async () => {
    doctorRun('home', [check('ssh.sudo', 'pass')]);
    const id = doctorRun('home', [
      check('ssh.sudo', 'pass'),
      check('microk8s.services', 'warn', { severity: 'warning' }),
      check('certs.expiry', 'fail', { evidence: PLANTED, fix: `sudo microk8s refresh-certs --cert ca.crt ${PLANTED}` }),
      check('ssh.sudo', 'pass', { subject: 'pi2' }),
      check('dqlite.quorum', 'fail', { scope: 'cluster', subject: 'home' }),
    ]);
    const html = await page(`/clusters/${clusterId}`);
    expect(html).toContain(`Run <a href="/operations/${id}">#${id}</a> on home <span class="badge status-succeeded">succeeded</span>`);
    expect(html).toContain('2 fail, 1 warn, 0 unknown, 2 pass');
    expect(shownChecks(html)).toEqual(['certs.expiry@pi1', 'dqlite.quorum@home', 'microk8s.services@pi1', 'ssh.sudo@pi1', 'ssh.sudo@pi2']);
    expect(html).toContain(
      `<td>certs.expiry</td><td>pi1</td><td>critical</td><td class="text">certs.expiry fail</td><td class="text evidence">${PLANTED_SHOWN}</td>` +
        `<td class="text"><code id="doctor-fix-${id}-0">sudo microk8s refresh-certs --cert ca.crt ${PLANTED_SHOWN}</code> <button type="button" data-copy="#doctor-fix-${id}-0">Copy</button></td>`,
    );
    expect(html).toContain('<td>dqlite.quorum</td><td>home (cluster)</td>');
    expect(html).not.toContain(PLANTED);
    // The part the page re-reads when a new run ends is the same table.
    const part = await page(`/fragments/clusters/${clusterId}/doctor`);
    expect(shownChecks(part)).toEqual(shownChecks(html));
  });

  it("the node page shows the node's own results of its cluster's run, then of its own run", async () => {
    const ofCluster = await page(`/nodes/${nodeId}`);
    expect(ofCluster).toMatch(/Run <a href="\/operations\/\d+">#\d+<\/a> on home <span/);
    expect(shownChecks(ofCluster)).toEqual(['certs.expiry@pi1', 'microk8s.services@pi1', 'ssh.sudo@pi1']);
    const own = doctorRun('pi1', [check('hosts.resolve', 'unknown', { severity: 'info', fix: null })]);
    const html = await page(`/fragments/nodes/${nodeId}/doctor`);
    expect(html).toContain(`Run <a href="/operations/${own}">#${own}</a> on pi1`);
    expect(shownChecks(html)).toEqual(['hosts.resolve@pi1']);
    expect(html).not.toContain('data-copy');
  });

  it("a doctor operation's page shows its stored results; a running one says they come when it ends", async () => {
    const id = doctorRun('home', [check('ssh.sudo', 'pass'), check('ssh.reachable', 'fail', { subject: 'pi2', evidence: PLANTED })]);
    const html = await page(`/operations/${id}`);
    expect(html).toContain("<h2>Doctor's results</h2>");
    expect(html).toContain(`<div data-part="/fragments/operations/${id}/doctor">`);
    expect(shownChecks(html)).toEqual(['ssh.reachable@pi2', 'ssh.sudo@pi1']);
    expect(html).not.toContain(PLANTED);

    const running = startOperation(db, { kind: 'doctor', target: 'home', playbook: 'doctor.yml' });
    const live = await page(`/operations/${running}`);
    expect(live).toContain('Running: the results appear here when it ends.');
    expect(shownChecks(live)).toEqual([]);
    finishOperation(db, running, { status: 'failed', exitCode: 4, exitMeaning: 'a host was unreachable' });
    expect(await page(`/fragments/operations/${running}/doctor`)).toContain('This run stored no results: its log says why.');

    // Another kind of operation has no results section.
    const other = startOperation(db, { kind: 'configure-hosts', target: 'home' });
    expect(await page(`/operations/${other}`)).not.toContain('id="doctor"');
  });

  it('a read-only session sees the button, and the API refuses its run with the reason', async () => {
    const html = await page(`/clusters/${clusterId}`);
    const refused = await web.app.request('/api/v1/doctor', { method: 'POST', headers: { cookie: web.cookie, 'x-csrf-token': web.csrf(html), 'content-type': 'application/json' }, body: JSON.stringify({ target: 'home' }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('token browser has scope read; this needs operate');
  });
});
