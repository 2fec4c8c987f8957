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
    await page.waitForSelector('#instructions');
    expect(await page.textContent('#instructions')).toContain('ssh-ed25519 ');
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

  it('shows the settings page with the token list', async () => {
    await page.goto(`${url}settings`);
    expect(await page.textContent('body')).toContain('browser');
    expect(await page.content()).not.toContain(token);
    await shot('settings');
  }, 30_000);
});
