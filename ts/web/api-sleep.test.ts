// Auto-sleep routes in-process against a real SQLite file: a node's settings, enable refused with
// the CLI's words for a lone control plane (nothing stored, no operation), enable, status, apply
// and sleep now started as operations recorded with the mko command doing the same, and the
// settings mko sleep config changes (admin only; a bad value is a 400 naming it, nothing stored).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOperation } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { addUnreachableEdge, json, webFixture, type WebFixture } from '../test-support/web.js';

let web: WebFixture;

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  web = webFixture();
  await addUnreachableEdge(web, [['cp1', 'control-plane'], ['w1', 'worker']]);
});

afterAll(() => web.close());

async function followToEnd(response: Response): Promise<ReturnType<typeof getOperation>> {
  expect(response.status).toBe(202);
  const body = (await response.json()) as { operationId: number; events: string };
  const stream = await web.app.request(body.events, { headers: { authorization: `Bearer ${web.tokens.read}` } });
  expect(await stream.text()).toMatch(/event: end\n/);
  return getOperation(web.db, body.operationId);
}

describe('sleep routes', () => {
  it('read a node\'s effective settings', async () => {
    const got = await web.call('GET', '/nodes/w1/sleep', { token: web.tokens.read });
    expect(got.status).toBe(200);
    expect(await json(got)).toMatchObject({ node: 'w1', settings: { sleepable: false, timeout: 1800, action: 'suspend', excludedNamespaces: ['kube-system'] } });
  });

  it('refuse to make a lone control plane sleepable: 400, nothing stored, no operation', async () => {
    const before = web.db.prepare('SELECT (SELECT count(*) FROM operations) AS ops, (SELECT count(*) FROM sleep_settings) AS rows').get();
    const refused = await web.call('POST', '/nodes/cp1/sleep/enable', { token: web.tokens.operate, body: {} });
    expect(refused.status).toBe(400);
    expect((await json(refused))['error']).toMatch(/^cannot make cp1 sleepable: it is a control-plane node .*no other control-plane node of cluster edge stays awake/);
    expect(web.db.prepare('SELECT (SELECT count(*) FROM operations) AS ops, (SELECT count(*) FROM sleep_settings) AS rows').get()).toEqual(before);
  });

  it('start enable, status and sleep now as operations with their mko commands (the node is unreachable here)', async () => {
    for (const [url, command] of [
      ['/nodes/w1/sleep/enable', ['sleep', 'enable', 'w1']],
      ['/nodes/w1/sleep/status', ['sleep', 'status', 'w1']],
      ['/nodes/w1/sleep', ['sleep', 'now', 'w1']],
    ] as const) {
      const op = await followToEnd(await web.call('POST', url, { token: web.tokens.operate, body: {} }));
      expect(op.command, url).toEqual(command);
      expect(op.status, url).toBe('failed');
    }
    // enable stored the user's intent even though the node could not be reached
    expect(await json(await web.call('GET', '/nodes/w1/sleep', { token: web.tokens.read }))).toMatchObject({ settings: { sleepable: true } });
  });

  it('change a node\'s and a cluster\'s settings as mko sleep config does, admin only; null inherits again', async () => {
    const { call, tokens } = web;
    const refused = await call('PATCH', '/nodes/w1/sleep', { token: tokens.operate, body: { timeout: 600 } });
    expect(refused.status).toBe(403);
    const cluster = await call('PATCH', '/clusters/edge/sleep', { token: tokens.admin, body: { timeout: 900, action: 'poweroff' } });
    expect(cluster.status).toBe(200);
    expect(await json(cluster)).toMatchObject({ cluster: 'edge', stored: { timeout: 900, action: 'poweroff' }, settings: { timeout: 900, action: 'poweroff', grace: 60 } });
    const node = await call('PATCH', '/nodes/w1/sleep', {
      token: tokens.admin,
      body: { timeout: 300, cpuLoad: 0.25, excludedNamespaces: ['kube-system', 'monitoring'], drain: true, hooksDir: '/etc/mko/hooks', commands: [['pgrep', '-x', 'rsync']] },
    });
    expect(node.status).toBe(200);
    expect(await json(node)).toMatchObject({
      node: 'w1',
      stored: { timeout: 300, cpuLoad: 0.25, drain: true },
      settings: { sleepable: true, timeout: 300, action: 'poweroff', cpuLoad: 0.25, excludedNamespaces: ['kube-system', 'monitoring'], hooksDir: '/etc/mko/hooks', commands: [['pgrep', '-x', 'rsync']] },
    });
    const cleared = await json(await call('PATCH', '/nodes/w1/sleep', { token: tokens.admin, body: { timeout: null } }));
    expect(cleared['stored']).not.toHaveProperty('timeout');
    expect(cleared['settings']).toMatchObject({ timeout: 900, drain: true });
    expect(await json(await call('GET', '/clusters/edge/sleep', { token: tokens.read }))).toMatchObject({ cluster: 'edge', stored: { timeout: 900 }, settings: { timeout: 900, sleepable: false } });
    const reset = await json(await call('PATCH', '/nodes/w1/sleep', { token: tokens.admin, body: { reset: true, grace: 30 } }));
    expect(reset).toMatchObject({ stored: { grace: 30 }, settings: { sleepable: false, grace: 30, timeout: 900, drain: false } });
    const doc = (await json(await call('GET', '/openapi.json', { token: tokens.read }))) as { paths: Record<string, Record<string, { 'x-mko-scope': string }>> };
    expect(doc.paths['/api/v1/nodes/{node}/sleep']?.['patch']?.['x-mko-scope']).toBe('admin');
    expect(doc.paths['/api/v1/clusters/{cluster}/sleep']?.['patch']?.['x-mko-scope']).toBe('admin');
    expect(doc.paths['/api/v1/nodes/{node}/sleep/apply']?.['post']?.['x-mko-scope']).toBe('operate');
  });

  it('refuse bad settings with a 400 naming the field and the fix, and store nothing', async () => {
    const stored = () => web.db.prepare('SELECT * FROM sleep_settings ORDER BY id').all();
    const before = stored();
    for (const [body, field, message] of [
      [{ timeout: 0 }, 'timeout', /^invalid --timeout 0: must be whole seconds from 1 to 604800/],
      [{ timeout: '30m' }, 'timeout', /--timeout.*must be whole seconds from 1 to 604800 \(a week\), e\.g\. 1800, or null to inherit/],
      [{ action: 'hibernate' }, 'action', /--action.*suspend or poweroff/],
      [{ excludedNamespaces: ['Kube System'] }, 'excludedNamespaces', /--exclude-namespaces.*Kubernetes namespace names/],
      [{ hooksDir: 'hooks' }, 'hooksDir', /^invalid --hooks-dir "hooks": must be an absolute directory path/],
      [{ commands: [['pgrep', 'a\nb']] }, 'commands', /^invalid --command .*: must be one line of text without control characters$/],
      [{ sleepable: true }, 'sleepable', /^unknown field "sleepable": this request takes timeout, /],
      [{ grace: 10, timeout: -1 }, 'timeout', /--timeout/],
    ] as const) {
      const response = await web.call('PATCH', '/nodes/w1/sleep', { token: web.tokens.admin, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = await json(response);
      expect(error['field'], JSON.stringify(body)).toBe(field);
      expect(error['error'], JSON.stringify(body)).toMatch(message);
      expect(String(error['error'])).not.toContain('\n');
    }
    expect(stored()).toEqual(before);
  });

  it('start apply on a node as an operation recorded with mko sleep apply', async () => {
    const op = await followToEnd(await web.call('POST', '/nodes/w1/sleep/apply', { token: web.tokens.operate, body: {} }));
    expect(op.command).toEqual(['sleep', 'apply', 'w1']);
    expect(op.kind).toBe('sleep-apply');
    expect((await web.call('POST', '/nodes/w1/sleep/apply', { token: web.tokens.operate, body: { check: 'yes' } })).status).toBe(400);
  });
});
