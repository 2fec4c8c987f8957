// A node page's auto-sleep section, in-process against a real SQLite file: the node's effective
// settings (which it sets itself) and a form over its own, what the node said at the last run that
// asked it (the autosleep role's set_stats, kept in the operation's results, as the history
// callback stores them), its latest journal entry, and Enable or Disable as it stands. Whatever a
// user or a node stored is shown escaped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index.js';
import { getNode, type FleetNode } from '../fleet/index.js';
import { finishOperation, startOperation, type OperationEnd } from '../ops/index.js';
import { recordJournal, SLEEP_REPORT_STAT, writeOverrides } from '../sleep/index.js';
import { homeFleet, pageFixture, type PageFixture } from '../test-support/web.js';

let web: PageFixture;
let db: Db;
let worker: FleetNode;

/** Text a user could store in a custom check, or a node report in a check's detail. */
const PLANTED = '<script>alert(1)</script>';
const PLANTED_SHOWN = '&lt;script&gt;alert(1)&lt;/script&gt;';

const page = (url: string) => web.page(url);
const section = async () => {
  const html = await page(`/nodes/${worker.id}`);
  const start = html.indexOf('<section class="card" id="sleep">');
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</section>', start));
};
/** A finished run of `kind` on `target`, with what the history callback stores of it. */
function sleepRun(kind: string, target: string, stored: { results?: object; failures?: object; end?: OperationEnd | null }): number {
  const id = startOperation(db, { kind, target, playbook: 'sleep-status.yml' });
  db.prepare('UPDATE operations SET results = ?, failures = ? WHERE id = ?').run(JSON.stringify(stored.results ?? {}), JSON.stringify(stored.failures ?? {}), id);
  if (stored.end !== null) finishOperation(db, id, stored.end ?? { status: 'succeeded', exitCode: 0, exitMeaning: 'ok' });
  return id;
}

beforeAll(async () => {
  web = await pageFixture('operate', homeFleet(2));
  db = web.db;
  worker = getNode(db, 'pi2');
});

afterAll(() => web.close());

describe('auto-sleep on the node page', () => {
  it('shows the settings with what the node sets itself, the form over them, and Enable while not sleepable', async () => {
    writeOverrides(db, { kind: 'cluster', id: worker.clusterId ?? 0, name: 'home' }, { timeout: 900, action: 'poweroff' });
    writeOverrides(db, { kind: 'node', id: worker.id, name: 'pi2' }, { timeout: 300, commands: [['sh', '-c', PLANTED]] });
    const html = await section();
    expect(html).toContain('<dt>sleepable</dt><dd data-sleepable>no</dd>');
    expect(html).toContain('not asked yet: press "Check now"');
    expect(html).toContain('<dt>last event</dt><dd data-sleep-event>none recorded</dd>');
    expect(html).toContain('<dd data-setting="timeout">300 <span class="badge" title="set on this node">node</span></dd>');
    expect(html).toContain('<dd data-setting="action">poweroff</dd>');
    expect(html).toContain('<dd data-setting="excludedNamespaces">kube-system</dd>');
    expect(html).toContain(`<dd data-setting="commands">[&quot;sh&quot;,&quot;-c&quot;,&quot;${PLANTED_SHOWN}&quot;] <span class="badge"`);
    expect(html).toContain(`<button type="button" data-action="/api/v1/nodes/${worker.id}/sleep/enable" data-follow data-refresh>Enable</button>`);
    expect(html).not.toContain('>Disable</button>');
    expect(html).toContain(`data-action="/api/v1/nodes/${worker.id}/sleep/status" data-follow data-refresh>Check now</button>`);
    expect(html).toMatch(/<button type="button" class="danger" data-action="\/api\/v1\/nodes\/\d+\/sleep" data-follow data-refresh data-confirm="Put pi2 to sleep now\?" data-warning="[^"]+">Sleep now<\/button>/);
    // The form: the node's own values filled in, what it would inherit as placeholders.
    expect(html).toContain(`<form data-api="/api/v1/nodes/${worker.id}/sleep" data-method="PATCH" data-empty="null" data-refresh`);
    expect(html).toContain('<input type="number" name="timeout" value="300" placeholder="900" step="1" min="0">');
    expect(html).toContain('<input type="number" name="cpuLoad" value="" placeholder="0.5" step="any" min="0">');
    expect(html).toContain('<option value="">inherit (poweroff)</option><option value="suspend" >suspend</option>');
    expect(html).toContain(`<textarea name="commands" data-type="json-lines" rows="2" placeholder="none">[&quot;sh&quot;,&quot;-c&quot;,&quot;${PLANTED_SHOWN}&quot;]</textarea>`);
    expect(html).toContain(`data-action="/api/v1/nodes/${worker.id}/sleep/apply" data-follow data-refresh>Send settings</button>`);
    expect(html).not.toContain(PLANTED);
  });

  it("shows what the node said at the last run that asked it: the verdict, and each check's", async () => {
    const verdict = {
      installed: true,
      error: '',
      status: {
        state: 'idle', sleeps_in: 1200, detail: 'idle since 2026-01-02T03:04:05Z: poweroff in 1200 s', idle_since: '2026-01-02T03:04:05Z',
        checks: [{ check: 'pods', state: 'idle', detail: `no pods outside kube-system ${PLANTED}` }, { check: 'ssh', state: 'idle', detail: 'no SSH sessions' }],
      },
    };
    const id = sleepRun('sleep-status', 'pi2', { results: { pi2: { [SLEEP_REPORT_STAT]: verdict } } });
    const html = await section();
    expect(html).toMatch(new RegExp(`<dd data-sleep-state><span class="badge sleep-idle">idle</span> sleeps in 1200 s <small>\\(sleep-status <a href="/operations/${id}">#${id}</a>, <time>[^<]+</time>\\)</small></dd>`));
    expect(html).toContain('<dd data-sleep-detail>idle since 2026-01-02T03:04:05Z: poweroff in 1200 s</dd>');
    expect(html).toContain(`<tr data-sleep-check="pods"><td>pods</td><td><span class="badge sleep-idle">idle</span></td><td class="text">no pods outside kube-system ${PLANTED_SHOWN}</td></tr>`);
    expect(html).toContain('<tr data-sleep-check="ssh">');
    expect(html).not.toContain(PLANTED);
    // The part the page re-reads when a run ends says the same.
    const part = await page(`/fragments/nodes/${worker.id}/sleep`);
    expect(part).toContain('<span class="badge sleep-idle">idle</span> sleeps in 1200 s');
  });

  it('says why the node said nothing: a run under way, unreachable (asleep or off), not installed', async () => {
    const running = sleepRun('sleep-status', 'home', { end: null });
    expect(await section()).toContain(`<span class="badge sleep-asking">asking</span> <small>(sleep-status <a href="/operations/${running}">`);
    finishOperation(db, running, { status: 'failed', exitCode: 4, exitMeaning: 'a host was unreachable' });
    db.prepare('UPDATE operations SET failures = ? WHERE id = ?').run(JSON.stringify({ pi2: { task: 'Ask the node', status: 'unreachable', message: 'ssh: connect to host 192.168.1.11 port 22: No route to host', ignored: false } }), running);
    const unreachable = await section();
    expect(unreachable).toContain('<span class="badge sleep-unreachable">unreachable</span>');
    expect(unreachable).toContain('<dd data-sleep-detail>did not answer SSH: asleep or off (ssh: connect to host 192.168.1.11 port 22: No route to host)</dd>');
    sleepRun('sleep-apply', 'pi2', { results: { pi2: { [SLEEP_REPORT_STAT]: { installed: false, status: null, error: '' } } } });
    expect(await section()).toContain('<span class="badge sleep-not-installed">not installed</span>');
    // Another node's run says nothing of this one.
    sleepRun('sleep-status', 'pi1', { results: { pi1: { [SLEEP_REPORT_STAT]: { installed: true, status: { state: 'awake' }, error: '' } } } });
    expect(await section()).toContain('sleep-not-installed');
  });

  it('shows Disable once sleepable, and the latest entry of the node\'s journal', async () => {
    writeOverrides(db, { kind: 'node', id: worker.id, name: 'pi2' }, { sleepable: true });
    recordJournal(db, worker, [{ id: 'e1', at: '2026-01-02T04:00:00Z', node: 'pi2', trigger: 'timer', action: 'poweroff', outcome: 'slept', reason: 'idle', cordoned: true, drained: false }]);
    const html = await section();
    expect(html).toContain('<dd data-sleepable>yes</dd>');
    expect(html).toContain(`<button type="button" data-action="/api/v1/nodes/${worker.id}/sleep/disable" data-follow data-refresh>Disable</button>`);
    expect(html).not.toContain('>Enable</button>');
    expect(html).toMatch(/<dd data-sleep-event>slept at <time>2026-01-02T04:00:00Z<\/time> \(<a href="\/operations\/\d+">#\d+<\/a>\)<\/dd>/);
  });

  it("an operate session's settings change is refused with the reason (it needs admin)", async () => {
    const html = await page(`/nodes/${worker.id}`);
    const refused = await web.app.request(`/api/v1/nodes/${worker.id}/sleep`, { method: 'PATCH', headers: { cookie: web.cookie, 'x-csrf-token': web.csrf(html), 'content-type': 'application/json' }, body: JSON.stringify({ timeout: 60 }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('token browser has scope operate; this needs admin');
  });
});

describe('auto-sleep on the cluster page', () => {
  const clusterSection = async (clusterId: number) => {
    const html = await page(`/clusters/${clusterId}`);
    const start = html.indexOf('<section class="card" id="sleep">');
    expect(start).toBeGreaterThan(0);
    return html.slice(start, html.indexOf('</section>', start));
  };

  it("lists each node's sleepable flag and last state, the cluster's own settings, a form over them, and sends them", async () => {
    const clusterId = worker.clusterId ?? 0;
    writeOverrides(db, { kind: 'cluster', id: clusterId, name: 'home' }, { timeout: 900, action: 'poweroff', commands: [['pgrep', PLANTED]] });
    writeOverrides(db, { kind: 'node', id: worker.id, name: 'pi2' }, { sleepable: true });
    sleepRun('sleep-status', 'home', { results: { pi2: { [SLEEP_REPORT_STAT]: { installed: true, status: { state: 'idle', sleeps_in: 42, detail: 'idle', checks: [] } } } } });
    const html = await clusterSection(clusterId);
    expect(html).toContain(`<div data-part="/fragments/clusters/${clusterId}/sleep">`);
    expect(html).toMatch(/<tr data-sleep-node="pi2"><td><a href="\/nodes\/\d+#sleep">pi2<\/a><\/td><td>worker<\/td><td>yes<\/td><td><span class="badge sleep-idle">idle<\/span> sleeps in 42 s<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-sleep-node="pi1">.*<td>no<\/td>/);
    expect(html).toContain('<dd data-setting="timeout">900 <span class="badge" title="set on this cluster">cluster</span></dd>');
    expect(html).toContain('<dd data-setting="grace">60</dd>');
    expect(html).toContain(`<dd data-setting="commands">[&quot;pgrep&quot;,&quot;${PLANTED_SHOWN}&quot;] <span class="badge" title="set on this cluster">`);
    // The form edits the cluster's own values; mko's defaults are the placeholders.
    expect(html).toContain(`<form data-api="/api/v1/clusters/${clusterId}/sleep" data-method="PATCH" data-empty="null" data-refresh`);
    expect(html).toContain('<input type="number" name="timeout" value="900" placeholder="1800" step="1" min="0">');
    expect(html).toContain('<option value="">inherit (suspend)</option><option value="suspend" >suspend</option><option value="poweroff" selected>poweroff</option>');
    expect(html).toContain(`data-action="/api/v1/clusters/${clusterId}/sleep/apply" data-follow data-refresh>Send settings to every node</button>`);
    expect(html).not.toContain(PLANTED);
    // The part alone, as the page re-reads it after a change.
    const part = await page(`/fragments/clusters/${clusterId}/sleep`);
    expect(part).not.toContain('<html');
    expect(part).toContain('<dd data-setting="timeout">900');
  });
});
