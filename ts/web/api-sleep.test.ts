// Auto-sleep routes in-process against a real SQLite file: a node's settings, enable refused with
// the CLI's words for a lone control plane (nothing stored, no operation), and enable, status and
// sleep now started as operations recorded with the mko command doing the same.
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
});
