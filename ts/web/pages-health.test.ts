// The dashboard's health part and a node page's health section, in-process against a real SQLite
// file: what mko health stored is shown (escaped), and the kept dashboard follows a new pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index.js';
import { getNode } from '../fleet/index.js';
import type { CheckResult } from '../health/checks.js';
import { recordResults } from '../health/store.js';
import { homeFleet, pageFixture, type PageFixture } from '../test-support/web.js';

let web: PageFixture;
let db: Db;
let nodeId: number;

/** Stored text as a node could plant it in a check's summary: markup, and a template expression. */
const PLANTED = '<script>alert(1)</script> {{7*7}}';
const PLANTED_SHOWN = '&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}';

const check = (id: string, status: CheckResult['status'], over: Partial<CheckResult> = {}): CheckResult => ({
  id, scope: 'node', subject: 'pi1', severity: 'critical', status, summary: `${id} ${status}`, evidence: '', fix: status === 'pass' ? null : 'sudo microk8s start', cheap: true, ...over,
});
const page = (url: string) => web.page(url);

beforeAll(async () => {
  web = await pageFixture('read', homeFleet(1));
  db = web.db;
  nodeId = getNode(db, 'pi1').id;
});

afterAll(() => web.close());

describe('health on the pages', () => {
  it('the dashboard says there are no results yet, then follows each pass (the kept part is renewed)', async () => {
    expect(await page('/')).toContain('No check results yet: <code>mko health watch --once</code>');
    recordResults(db, [check('microk8s.services', 'pass'), check('dqlite.quorum', 'pass', { scope: 'cluster', subject: 'home' })], { operationId: null });
    const fine = await page('/fragments/dashboard');
    expect(fine).toMatch(new RegExp(`<tr class="health-pass" data-health="node:pi1"><td>node</td><td><a href="/nodes/${nodeId}">pi1</a></td><td><span class="badge health-pass">pass</span></td><td></td>`));
    expect(fine).toContain('data-health="cluster:home"');
    expect(fine).not.toContain('Latest changes');

    recordResults(db, [check('microk8s.services', 'fail', { summary: PLANTED })], { operationId: null });
    const dashboard = await page('/');
    expect(dashboard).toMatch(/<tr class="health-fail" data-health="node:pi1">.*<span class="badge health-fail">fail<\/span><\/td><td><span title="[^"]*">microk8s\.services<\/span><\/td>/);
    expect(dashboard).toContain(`<td>microk8s.services</td><td>pass -&gt; fail</td><td>${PLANTED_SHOWN}</td>`);
    expect(dashboard).not.toContain(PLANTED);
  });

  it("the node page lists the node's checks with their fix, and its latest changes", async () => {
    const html = await page(`/nodes/${nodeId}`);
    expect(html).toContain('<section class="card" id="health">');
    expect(html).toMatch(/<tr class="health-fail" data-check="microk8s\.services"><td>microk8s\.services<\/td><td><span class="badge health-fail">fail<\/span><\/td><td>[^<]+<\/td><td>&lt;script&gt;.*<\/td><td><code>sudo microk8s start<\/code><\/td><\/tr>/);
    expect(html).toMatch(/<li class="health-fail" data-health-event="\d+">[^<]* microk8s\.services pass -&gt; fail: &lt;script&gt;/);
    expect(html).not.toContain(PLANTED);
  });
});
