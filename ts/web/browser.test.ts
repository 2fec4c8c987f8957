// The web UI in a real browser: Debian's chromium driven by playwright-core (executablePath, no
// browser download), against `mko web --with-watcher` serving a lab: real SSH, real upsd with the
// dummy-ups driver, real playbooks. Screenshots of each page go to test-artifacts/web/.
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { buildCli, mkoBin } from '../test-support/cli.js';
import { labUpsText, pollUntil, tearDownLab, testLabName } from '../test-support/lab.js';

const CHROMIUM = '/usr/bin/chromium';
const isRoot = process.getuid?.() === 0;
const LAB = testLabName('web');
const NODE = `${LAB}-n1`;
const UPS_HOST = `${LAB}-n2`;
export const SCREENSHOTS = path.join(projectRoot, 'test-artifacts', 'web');

describe.skipIf(!isRoot)('the web UI in chromium, against a lab', () => {
  let dir = '';
  let dbPath = '';
  let server: ResultPromise | undefined;
  let url = '';
  let token = '';
  let browser: Browser;
  let page: Page;
  const run = (args: string[]) => execa(mkoBin, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true });
  const ok = async (...args: string[]) => {
    const result = await run(args);
    expect(result.exitCode, `mko ${args.join(' ')}\n${result.all}`).toBe(0);
    return result;
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  async function setUps(status: string): Promise<void> {
    const result = await execa('ansible', [UPS_HOST, '-i', path.join(projectRoot, 'inventories', 'mko'), '--become', '-m', 'ansible.builtin.copy', '-a', `dest=/etc/nut/dummy.dev owner=root group=nut mode=0640 content=${JSON.stringify(labUpsText(status))}`], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') },
      reject: false,
    });
    expect(result.exitCode, result.stdout).toBe(0);
  }

  beforeAll(async () => {
    await buildCli();
    mkdirSync(SCREENSHOTS, { recursive: true });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-browser-'));
    dbPath = path.join(dir, 'mko.db');
    await run(['lab', 'down', '--name', LAB]);
    await ok('lab', 'up', '--name', LAB, '--nodes', '2');
    await ok('ups', 'add', 'rack', '--host', UPS_HOST, '--driver', 'dummy-ups', '--port', 'dummy.dev', '--option', 'mode=dummy-loop', '--option', 'pollinterval=1');
    await ok('ups', 'setup', 'rack', '--shutdown-cmd', '/usr/bin/logger -t upsmon "SHUTDOWNCMD (mko browser test: not shutting down)"');
    token = (JSON.parse((await ok('web', 'token', 'create', '--name', 'browser', '--scope', 'admin', '--json')).stdout) as { token: string }).token;
    server = execa(mkoBin, ['web', '--port', '0', '--with-watcher'], { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore', all: true });
    url = await pollUntil('mko web to listen', 30_000, async () => {
      const status = JSON.parse((await run(['web', 'status', '--json'])).stdout || '{}') as { running?: boolean; url?: string };
      return status.running ? status.url : undefined;
    }, 200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // A phone-sized screen: the pages must work there.
    page = await browser.newPage({ viewport: { width: 412, height: 915 } });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (server) {
      await run(['web', 'stop', '--force']);
      await server;
    }
    await tearDownLab(LAB, dbPath, dir);
  }, 300_000);

  it('logs in with a token and shows the dashboard', async () => {
    await page.goto(url);
    expect(page.url()).toBe(`${url}login`);
    await shot('login');
    await page.fill('#token', 'mko_wrong');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('That token is not valid');
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForURL(url);
    await page.waitForSelector(`[data-node="${NODE}"]`);
    expect(await page.textContent(`[data-cluster="${LAB}"]`)).toContain(NODE);
    await shot('dashboard');
  }, 60_000);

  it('shows a node with its SSH set-up, and tests SSH with the log arriving live', async () => {
    await page.click(`[data-node="${NODE}"] a`);
    await page.waitForSelector('#setup-script');
    expect(await page.textContent('#setup-script')).toContain('ssh-ed25519 ');
    expect(await page.textContent('#instructions')).toContain(`mko node test-ssh ${NODE}`);
    await page.click('button:has-text("Test SSH")');
    await page.waitForSelector('[data-follow-target]:not([hidden])');
    // The log fills in while the run goes on, then the badge says how it ended.
    await expect.poll(() => page.textContent('[data-follow-log]'), { timeout: 60_000 }).toContain('TASK [');
    await expect.poll(() => page.textContent('[data-follow-status]'), { timeout: 60_000 }).toBe('succeeded');
    expect(await page.textContent('[data-follow-log]')).toContain('PLAY RECAP');
    await shot('node');
  }, 120_000);

  it('runs a cluster action after its confirmation dialog and follows its log', async () => {
    await page.goto(`${url}clusters/${LAB}`);
    await page.click('button:has-text("Configure /etc/hosts")');
    await page.waitForSelector('dialog#confirm[open]');
    await shot('cluster-confirm');
    await page.click('[data-confirm-ok]');
    await expect.poll(() => page.textContent('[data-follow-status]'), { timeout: 120_000 }).toBe('succeeded');
    expect(await page.textContent('[data-follow-log]')).toMatch(/PLAY RECAP[^]*failed=0/);
    await shot('cluster');
    await page.goto(`${url}operations`);
    await shot('operations');
    await page.click('table.operations tbody tr:first-child a');
    await page.waitForSelector('pre.log');
    expect(await page.textContent('table.recap')).toContain(NODE);
    await shot('operation');
  }, 180_000);

  it('runs doctor from the cluster page: the log arrives live, then the results table, failed checks first', async () => {
    await page.goto(`${url}clusters/${LAB}`);
    await page.click('button:has-text("Run doctor")');
    await page.waitForSelector('[data-follow-target]:not([hidden])');
    await expect.poll(() => page.textContent('[data-follow-log]'), { timeout: 60_000 }).toContain('TASK [');
    await page.waitForSelector(`#doctor table.checks tr[data-subject="${NODE}"]`, { timeout: 120_000 });
    expect(await page.textContent('[data-follow-log]')).toContain('PLAY RECAP');
    const rows = await page.$$eval('#doctor table.checks tbody tr', (trs) => trs.map((tr) => tr.className));
    const rank = (c: string) => ['health-fail', 'health-warn', 'health-unknown', 'health-pass'].indexOf(c);
    expect(rows.map(rank)).toEqual(rows.map(rank).sort((a, b) => a - b));
    const run = (await page.getAttribute('#doctor [data-doctor-run]', 'data-doctor-run')) ?? '';
    expect(await page.textContent('[data-follow-link]')).toBe(`#${run}`);
    await shot('cluster-doctor');
    // The run's own page shows the same results, stored with it.
    await page.goto(`${url}operations/${run}`);
    expect(await page.$$eval('#doctor table.checks tbody tr', (trs) => trs.map((tr) => tr.className))).toEqual(rows);
  }, 180_000);

  it('follows a running operation\'s log on its own page, then shows how it ended and the per-host recap', async () => {
    // Started as the page's own buttons start actions: the session cookie and the page's CSRF token.
    const operationId = await page.evaluate(async (cluster) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const response = await fetch(`/api/v1/clusters/${cluster}/configure-hosts`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: '{}' });
      return ((await response.json()) as { operationId: number }).operationId;
    }, LAB);
    await page.goto(`${url}operations/${operationId}`);
    expect(await page.getAttribute('pre.log', 'data-running')).toBe('true');
    const before = (await page.textContent('pre.log')) ?? '';
    await expect.poll(() => page.textContent('pre.log'), { timeout: 120_000 }).toContain('PLAY RECAP');
    expect(((await page.textContent('pre.log')) ?? '').startsWith(before)).toBe(true);
    await expect.poll(() => page.textContent('[data-operation-status]'), { timeout: 30_000 }).toBe('succeeded');
    expect(await page.textContent('table.recap')).toContain(NODE);
    // What the page put together equals the log as stored: nothing lost or doubled at the seam.
    const stored = JSON.parse((await ok('operation', 'show', String(operationId), '--log', '--json')).stdout) as { log: string };
    expect(await page.textContent('pre.log')).toBe(stored.log);
    await shot('operation-live');
  }, 180_000);

  it('shows the UPS going on battery on the dashboard within 2 s of the watcher seeing it', async () => {
    await page.goto(url);
    await page.waitForSelector('[data-ups="rack"]');
    await expect.poll(() => page.textContent('[data-ups="rack"] [data-ups-status]'), { timeout: 30_000 }).toMatch(/^OL/);
    await setUps('OB DISCHRG');
    await page.waitForFunction(() => document.querySelector('[data-ups="rack"] [data-ups-status]')?.textContent === 'ON BATTERY', undefined, { timeout: 30_000 });
    const shown = Date.now();
    // From the watcher recording the power loss to the page showing it: at most 2 s.
    const events = JSON.parse((await ok('ups', 'events', '--json')).stdout) as { kind: string; at: string }[];
    const lost = events.find((e) => e.kind === 'power_loss');
    expect(lost).toBeDefined();
    expect(shown - Date.parse(lost?.at ?? '')).toBeLessThan(2000);
    await shot('dashboard-on-battery');
    await setUps('OL CHRG');
  }, 120_000);

  it('shows a UPS page with its live status, ticking age and test, and manages a rule through its forms', async () => {
    await page.goto(url);
    await page.click('[data-ups="rack"]');
    await page.waitForURL(/\/ups\/\d+$/);
    await expect.poll(() => page.textContent('[data-ups="rack"] [data-ups-status]'), { timeout: 30_000 }).toMatch(/^OL/);
    expect(await page.textContent('[data-ups-charge]')).toBe('100 %');
    // The age counts up in the page between the server's answers.
    await page.waitForFunction(() => {
      const age = document.querySelector<HTMLElement>('[data-ups="rack"] [data-age]');
      return age !== null && Number(age.textContent) >= Number(age.dataset['age']) + 2;
    }, undefined, { timeout: 15_000 });
    expect(await page.textContent('table.events')).toContain('power_loss');
    await page.click('button:has-text("Test")');
    await expect.poll(() => page.textContent('[data-result]'), { timeout: 30_000 }).toMatch(/: ok/);
    expect(await page.textContent('[data-result]')).not.toMatch(/not ok|HTTP/);

    const form = page.locator('details.new-rule form');
    await form.locator('[name=name]').fill('rack-notify');
    await form.locator('[name=event]').selectOption('power_loss');
    await form.locator('[name=action]').selectOption('notify');
    await form.locator('[name=cluster]').selectOption(LAB);
    await form.locator('[name=command]').fill('logger mko-browser-test');
    await form.locator('[type=submit]').click();
    const rule = page.locator('[data-rule="rack-notify"]');
    await rule.waitFor();
    expect(await rule.textContent()).toMatch(/when power_loss, after 0 s: notify on/);
    await rule.locator('button:has-text("Disable")').click();
    await expect.poll(() => page.textContent('[data-rule="rack-notify"] [data-rule-state]')).toBe('disabled');
    await page.click('[data-rule="rack-notify"] summary');
    await page.fill('[data-rule="rack-notify"] form [name=actionDelay]', '5');
    await page.click('[data-rule="rack-notify"] form button:has-text("Save")');
    await expect.poll(() => page.textContent('[data-rule="rack-notify"]')).toMatch(/after 5 s: notify/);
    expect(JSON.parse((await ok('ups', 'rules', 'list', '--json')).stdout)).toEqual([expect.objectContaining({ name: 'rack-notify', enabled: false, actionDelay: 5 })]);
    await shot('ups');
    await page.click('[data-rule="rack-notify"] button:has-text("Delete")');
    await page.waitForSelector('dialog#confirm[open]');
    await shot('ups-confirm');
    await page.click('[data-confirm-ok]');
    await expect.poll(() => page.locator('[data-rule="rack-notify"]').count()).toBe(0);
    expect(JSON.parse((await ok('ups', 'rules', 'list', '--json')).stdout)).toEqual([]);
  }, 120_000);

  it('adds a node through its form and shows what to paste on it, with copy buttons', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url.replace(/\/$/, '') });
    await page.goto(url);
    await page.click('a:has-text("Add a node")');
    await page.waitForURL(`${url}nodes/new`);
    await page.fill('[name=hostname]', 'bad name');
    await page.fill('[name=address]', '10.99.0.9');
    await page.click('button:has-text("Add node")');
    await expect.poll(() => page.textContent('[data-form-error]')).toMatch(/hostname/);
    expect(await page.getAttribute('[name=hostname]', 'aria-invalid')).toBe('true');
    await shot('node-new');
    await page.fill('[name=hostname]', 'added-by-browser');
    await page.selectOption('[name=cluster]', LAB);
    await page.click('button:has-text("Add node")');
    await page.waitForURL(/\/nodes\/\d+\?added$/);
    expect(await page.textContent('[data-added]')).toContain('added-by-browser');
    expect(await page.textContent('#setup-script')).toMatch(/ssh-ed25519 [^]*passwordless sudo/);
    await page.click('button[data-copy="#setup-script"]');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await page.textContent('#setup-script'));
    expect(await page.textContent('button[data-copy="#setup-script"]')).toBe('Copied');
    await shot('node-added');
    const nodes = JSON.parse((await ok('node', 'list', '--json')).stdout) as { hostname: string; cluster: string | null }[];
    expect(nodes).toContainEqual(expect.objectContaining({ hostname: 'added-by-browser', cluster: LAB }));
    await ok('node', 'remove', 'added-by-browser', '--yes');
  }, 60_000);

  it('makes a token shown once on the settings page, and revokes it', async () => {
    await page.goto(`${url}settings`);
    expect(await page.textContent('body')).toContain('browser');
    await page.fill('.token-form [name=name]', 'phone');
    await page.selectOption('.token-form [name=scope]', 'operate');
    await page.click('button:has-text("Create token")');
    await page.waitForSelector('#new-token:not([hidden])');
    const secret = (await page.textContent('#new-token-secret')) ?? '';
    expect(secret).toMatch(/^mko_[A-Za-z0-9_-]{40,}$/);
    await page.waitForSelector('tr[data-token="phone"]');
    await shot('settings');
    await page.reload();
    expect(await page.content()).not.toContain(secret);
    expect(await page.content()).not.toContain(token);
    await page.click('tr[data-token="phone"] button:has-text("Revoke")');
    await page.waitForSelector('dialog#confirm[open]');
    await page.click('[data-confirm-ok]');
    await expect.poll(() => page.locator('tr[data-token="phone"] button').count()).toBe(0);
    const tokens = JSON.parse((await ok('web', 'token', 'list', '--json')).stdout) as { name: string; revokedAt: string | null }[];
    expect(tokens.find((t) => t.name === 'phone')?.revokedAt).toMatch(/^\d{4}-/);
  }, 60_000);

  it('a token below an action\'s scope sees its button disabled, saying what it needs; an operate token may run it', async () => {
    const signedIn = async (scope: 'read' | 'operate') => {
      const secret = (JSON.parse((await ok('web', 'token', 'create', '--name', `ui-${scope}`, '--scope', scope, '--json')).stdout) as { token: string }).token;
      const context = await browser.newContext({ viewport: { width: 412, height: 915 } });
      const tab = await context.newPage();
      await tab.goto(`${url}login`);
      await tab.fill('#token', secret);
      await tab.click('button[type=submit]');
      await tab.waitForURL(url);
      return { context, tab };
    };
    const reader = await signedIn('read');
    try {
      await reader.tab.goto(`${url}clusters/${LAB}`);
      const setUp = reader.tab.locator('button:has-text("Set up")');
      expect(await setUp.isDisabled()).toBe(true);
      expect(await setUp.getAttribute('title')).toBe('needs a token with the operate scope (this one has read)');
      await reader.tab.goto(`${url}nodes/${NODE}`);
      expect(await reader.tab.locator('button:has-text("Test SSH")').isDisabled()).toBe(true);
      // The sleep settings form (PATCH) is disabled as a whole, and says why on its submit button.
      expect(await reader.tab.locator('.sleep-form [type=submit]').getAttribute('data-needs-scope')).toBe('admin');
      expect(await reader.tab.locator('.sleep-form input').first().isDisabled()).toBe(true);
      await shot('read-token-node');
    } finally {
      await reader.context.close();
    }
    const operator = await signedIn('operate');
    try {
      await operator.tab.goto(`${url}nodes/${NODE}`);
      expect(await operator.tab.locator('button:has-text("Test SSH")').isDisabled()).toBe(false);
      // The settings page's token form needs admin.
      await operator.tab.goto(`${url}settings`);
      expect(await operator.tab.locator('button:has-text("Create token")').getAttribute('title')).toBe('needs a token with the admin scope (this one has operate)');
    } finally {
      await operator.context.close();
    }
  }, 60_000);

  it('wakes a powered-off lab host from its page: pending, then up', async () => {
    const powered = async () =>
      (JSON.parse((await ok('lab', 'status', '--name', LAB, '--json')).stdout) as { hosts: { hostname: string; running: boolean }[] }).hosts.find((h) => h.hostname === NODE)?.running;
    const off = await execa('ansible', [NODE, '-i', path.join(projectRoot, 'inventories', 'mko'), '--become', '-m', 'ansible.builtin.command', '-a', 'systemctl poweroff'], {
      cwd: projectRoot,
      env: { MKO_DB: dbPath, ANSIBLE_CONFIG: path.join(projectRoot, 'ansible.cfg') },
      reject: false,
      timeout: 60_000,
    });
    await pollUntil(`${NODE} to power off (${off.stdout})`, 60_000, async () => (await powered()) === false, 250);
    await page.goto(`${url}nodes/${NODE}`);
    await page.click('button[data-wake]');
    expect(await page.textContent('[data-wake-state]')).toBe('pending');
    await expect.poll(() => page.textContent('[data-wake-state]'), { timeout: 120_000 }).toBe('up');
    expect(await page.textContent('[data-follow-status]')).toBe('succeeded');
    expect(await powered()).toBe(true);
    await shot('node-wake');
  }, 240_000);

  it('enables auto-sleep on a worker from its page and shows the node\'s state; the lone control plane is refused with the reason', async () => {
    await page.goto(`${url}nodes/${UPS_HOST}`);
    expect(await page.textContent('#sleep [data-sleepable]')).toBe('no');
    // The settings form: a bad value is refused with the field marked, a good one is shown at once.
    await page.click('#sleep summary:has-text("Change this node\'s settings")');
    await page.fill('#sleep form [name=grace]', '99999');
    await page.click('#sleep form button:has-text("Save")');
    await expect.poll(() => page.textContent('#sleep [data-form-error]')).toMatch(/^invalid --grace 99999: must be whole seconds from 0 to 3600/);
    expect(await page.getAttribute('#sleep form [name=grace]', 'aria-invalid')).toBe('true');
    await page.fill('#sleep form [name=grace]', '30');
    await page.click('#sleep form button:has-text("Save")');
    await expect.poll(() => page.textContent('#sleep [data-setting="grace"]')).toMatch(/^30 node$/);
    await page.click('#sleep button:has-text("Enable")');
    await expect.poll(() => page.textContent('[data-follow-status]'), { timeout: 120_000 }).toBe('succeeded');
    await expect.poll(() => page.textContent('#sleep [data-sleepable]'), { timeout: 10_000 }).toBe('yes');
    expect(await page.textContent('#sleep [data-sleep-state]')).toMatch(/^(idle|awake)/);
    expect(await page.locator('#sleep button:has-text("Disable")').count()).toBe(1);
    await shot('node-sleep');
    await page.goto(`${url}nodes/${NODE}`);
    await page.click('#sleep button:has-text("Enable")');
    await expect.poll(() => page.textContent('#sleep [data-result]')).toMatch(new RegExp(`^cannot make ${NODE} sleepable: it is a control-plane node`));
    expect(await page.textContent('#sleep [data-sleepable]')).toBe('no');
    await shot('node-sleep-refused');
  }, 180_000);
});
