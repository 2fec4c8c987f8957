// Hardware and Wake-on-LAN routes in-process against a real SQLite file: reports stored and read
// back, collections and NIC runs started as operations (202) and followed to their end, settings
// with a write-only SecureOn password, and the 400s, 404s and a database left as it was.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getNode } from '../fleet/index.js';
import { parseReport, storeReports } from '../hardware/index.js';
import { getOperation } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { collectedReport } from '../test-support/hardware.js';
import { addUnreachableEdge, json, webFixture, type WebFixture } from '../test-support/web.js';

const SECUREON = '0a:1b:2c:3d:4e:5f';

let web: WebFixture;

beforeAll(async () => {
  // The runs read the fleet through the built inventory script.
  if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  web = webFixture();
  await addUnreachableEdge(web, [['hw1'], ['hw2']]);
  const { call, tokens } = web;
  expect((await call('POST', '/clusters', { token: tokens.admin, body: { name: 'empty' } })).status).toBe(201);
});

afterAll(() => web.close());

/** Follow an accepted action to its end over its event stream; answers the operation. */
async function followToEnd(response: Response): Promise<ReturnType<typeof getOperation>> {
  expect(response.status).toBe(202);
  const body = (await response.json()) as { operationId: number; status: string; events: string };
  expect(body).toEqual({ operationId: expect.any(Number), status: 'running', events: `/api/v1/operations/${body.operationId}/events` });
  const stream = await web.app.request(body.events, { headers: { authorization: `Bearer ${web.tokens.read}` } });
  expect(await stream.text()).toMatch(/event: end\n/);
  return getOperation(web.db, body.operationId);
}

describe('hardware routes', () => {
  it('answers 404 with the CLI\'s words while a node has no report, and an empty history', async () => {
    const { call, tokens } = web;
    const none = await call('GET', '/nodes/hw1/hardware', { token: tokens.read });
    expect(none.status).toBe(404);
    expect(await json(none)).toEqual({ error: 'no hardware report for hw1 yet: run mko hardware collect hw1', field: null });
    expect(await json(await call('GET', '/nodes/hw1/hardware/history', { token: tokens.read }))).toEqual({ node: 'hw1', reports: [] });
    for (const url of ['/nodes/nope/hardware', '/nodes/nope/hardware/history']) {
      const missing = await call('GET', url, { token: tokens.read });
      expect(missing.status, url).toBe(404);
      expect(await json(missing)).toEqual({ error: 'no node "nope": see mko node list', field: null });
    }
  });

  it('shows the latest report and the history, newest first, as mko hardware show does', async () => {
    const { call, tokens, db } = web;
    const parsed = parseReport(await collectedReport('127.0.0.2'));
    if (!parsed.ok) throw new Error(parsed.error);
    const node = getNode(db, 'hw1');
    const older = { ...parsed.value, collected_at: '2026-01-01T00:00:00Z' };
    const [first] = storeReports(db, [{ nodeId: node.id, report: older }], null);
    const [second] = storeReports(db, [{ nodeId: node.id, report: parsed.value }], null);
    const latest = await call('GET', `/nodes/${node.id}/hardware`, { token: tokens.read });
    expect(latest.status).toBe(200);
    const body = (await latest.json()) as { node: string; id: number; report: { hostname: string; collected_at: string } };
    expect(body).toMatchObject({ node: 'hw1', id: second?.reportId, operationId: null, report: { hostname: parsed.value.hostname } });
    const history = await json(await call('GET', '/nodes/hw1/hardware/history', { token: tokens.read }));
    expect((history['reports'] as { id: number }[]).map((r) => r.id)).toEqual([second?.reportId, first?.reportId]);
    expect(history['reports']).toEqual([expect.not.objectContaining({ report: expect.anything() }), expect.anything()]);
    const one = await json(await call('GET', '/nodes/hw1/hardware/history?limit=1', { token: tokens.read }));
    expect((one['reports'] as unknown[]).length).toBe(1);
    const bad = await call('GET', '/nodes/hw1/hardware/history?limit=0', { token: tokens.read });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({ error: 'invalid limit "0": must be a number from 1 to 9999', field: 'limit' });
  });

  it('collects from a node and from a cluster: 202 at once, an operation recorded and followed to its end', async () => {
    const { call, tokens } = web;
    const fromNode = await followToEnd(await call('POST', '/nodes/hw2/hardware', { token: tokens.operate }));
    expect(fromNode).toMatchObject({ kind: 'hardware', target: 'hw2' });
    // Nobody answers on that port: the run ends, failed, and stores nothing.
    expect(fromNode.status, JSON.stringify(fromNode)).toBe('failed');
    expect((await call('GET', '/nodes/hw2/hardware', { token: tokens.read })).status).toBe(404);
    // What the cluster page's button sends.
    const fromCluster = await followToEnd(await call('POST', '/clusters/edge/hardware', { token: tokens.operate, body: { confirm: true } }));
    expect(fromCluster).toMatchObject({ kind: 'hardware', target: 'edge', status: 'failed' });
    expect(Object.keys(fromCluster.recap).sort()).toEqual(['hw1', 'hw2']);
  });

  it('refuses what cannot start with 400 or 404 at once, and starts nothing', async () => {
    const { call, tokens, db } = web;
    const before = db.prepare('SELECT count(*) AS n FROM operations').get();
    const typo = await call('POST', '/clusters/edge/hardware', { token: tokens.operate, body: { chek: true } });
    expect(typo.status).toBe(400);
    expect(await json(typo)).toEqual({ error: 'unknown field "chek": this request takes confirm', field: 'chek' });
    const wrongType = await call('POST', '/nodes/hw1/hardware', { token: tokens.operate, body: { confirm: 'yes' } });
    expect(wrongType.status).toBe(400);
    expect(await json(wrongType)).toEqual({ error: 'invalid confirm "yes": must be true or false', field: 'confirm' });
    const empty = await call('POST', '/clusters/empty/hardware', { token: tokens.operate });
    expect(empty.status).toBe(400);
    expect(await json(empty)).toEqual({ error: 'cluster empty has no nodes: assign some with mko cluster assign', field: null });
    expect((await call('POST', '/clusters/nope/hardware', { token: tokens.operate })).status).toBe(404);
    expect((await call('POST', '/nodes/nope/hardware', { token: tokens.operate })).status).toBe(404);
    expect(db.prepare('SELECT count(*) AS n FROM operations').get()).toEqual(before);
  });
});

describe('Wake-on-LAN routes', () => {
  const wolColumns = () => web.db.prepare('SELECT hostname, wol_mac, wol_broadcast, wol_port, wol_enabled FROM nodes ORDER BY id').all();

  it('configures a node as mko wol configure does; the SecureOn password is write-only', async () => {
    const { call, tokens } = web;
    const response = await call('PUT', '/nodes/hw1/wol', { token: tokens.admin, body: { mac: 'AA-BB-CC-00-11-22', broadcast: '127.255.255.255', port: 7, secureon: SECUREON } });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(SECUREON);
    expect(JSON.parse(text)).toEqual({
      wol: { node: 'hw1', enabled: false, method: 'ethernet', mac: 'aa:bb:cc:00:11:22', broadcast: '127.255.255.255', port: 7, secureon: true, proxmox: { host: null, node: null, vmid: null } },
    });
    // Without settings: the settings as they are, as the CLI shows them without options.
    expect(await json(await call('PUT', '/nodes/hw1/wol', { token: tokens.admin, body: {} }))).toMatchObject({ wol: { mac: 'aa:bb:cc:00:11:22', secureon: true } });
    const shown = await call('GET', '/nodes/hw1/wol', { token: tokens.read });
    const shownText = await shown.text();
    expect(shownText).not.toContain(SECUREON);
    expect(JSON.parse(shownText)).toMatchObject({ wol: { node: 'hw1', cluster: 'edge', secureon: true, ready: false, note: 'disabled: mko wol enable hw1' } });
  });

  it('lists every node and cluster as mko wol status does', async () => {
    const status = await json(await web.call('GET', '/wol', { token: web.tokens.read }));
    expect((status['nodes'] as { node: string }[]).map((n) => n.node)).toEqual(['hw1', 'hw2']);
    expect(status['clusters']).toEqual([{ cluster: 'edge', state: 'Disabled', ready: 0, enabled: 0, total: 2 }]);
    expect(JSON.stringify(status)).not.toContain(SECUREON);
  });

  it('refuses bad settings with 400 and the field, in the CLI\'s words, never echoing a password; changes nothing', async () => {
    const { call, tokens } = web;
    const before = wolColumns();
    const cases: [Record<string, unknown>, { error: string | RegExp; field: string }][] = [
      [{ mac: 'zz:zz' }, { error: 'invalid --mac "zz:zz": must be a MAC address like aa:bb:cc:dd:ee:ff', field: 'mac' }],
      [{ port: 'nine' }, { error: 'invalid --port "nine": must be a UDP port from 1 to 65535 (Wake-on-LAN uses 9, sometimes 7)', field: 'port' }],
      [{ port: 70000 }, { error: 'invalid --port 70000: must be a UDP port from 1 to 65535 (Wake-on-LAN uses 9, sometimes 7)', field: 'port' }],
      [{ method: 'magic' }, { error: 'invalid --method "magic": must be ethernet, proxmox or rtc', field: 'method' }],
      [{ secureon: 'not-hex-secret' }, { error: /^invalid --secureon: must be a SecureOn password of 4 or 6 bytes in hex/, field: 'secureon' }],
      [{ secureon: 12345678 }, { error: /^invalid --secureon: must be .* \(the value is not shown\)$/, field: 'secureon' }],
      [{ secureon: SECUREON, clearSecureon: true }, { error: '--secureon and --clear-secureon contradict each other', field: 'clearSecureon' }],
      [{ mak: 'aa:bb:cc:dd:ee:ff' }, { error: /^unknown field "mak": this request takes mac, broadcast, port, method, proxmoxHost, proxmoxNode, vmid, secureon, clearSecureon$/, field: 'mak' }],
      [{ method: 'proxmox' }, { error: '--method proxmox needs --proxmox-host, --proxmox-node, --vmid for hw1', field: null as unknown as string }],
    ];
    for (const [body, expected] of cases) {
      const response = await call('PUT', '/nodes/hw1/wol', { token: tokens.admin, body });
      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(text).not.toContain('not-hex-secret');
      expect(text).not.toContain('12345678');
      expect(JSON.parse(text)).toEqual({ error: typeof expected.error === 'string' ? expected.error : expect.stringMatching(expected.error), field: expected.field });
    }
    expect((await call('PUT', '/nodes/nope/wol', { token: tokens.admin, body: { port: 9 } })).status).toBe(404);
    const unknownNode = await call('GET', '/nodes/nope/wol', { token: tokens.read });
    expect(unknownNode.status).toBe(404);
    expect(await json(unknownNode)).toEqual({ error: 'no node "nope": see mko node list', field: null });
    expect(wolColumns()).toEqual(before);
    expect(await json(await call('GET', '/nodes/hw1/wol', { token: tokens.read }))).toMatchObject({ wol: { secureon: true } });
  });

  it('forgets the SecureOn password on {"clearSecureon": true}', async () => {
    expect(await json(await web.call('PUT', '/nodes/hw1/wol', { token: web.tokens.admin, body: { clearSecureon: true } }))).toMatchObject({ wol: { secureon: false, mac: 'aa:bb:cc:00:11:22' } });
  });

  it('enables and disables Wake-on-LAN through the wol role: 202, an operation followed to its end', async () => {
    const { call, tokens } = web;
    const enabled = await followToEnd(await call('POST', '/nodes/hw2/wol/enable', { token: tokens.operate }));
    expect(enabled).toMatchObject({ kind: 'wol-enable', target: 'hw2', status: 'failed' });
    // As the CLI: mko records the wish first; the NIC run says whether the node could follow.
    expect(getNode(web.db, 'hw2').wol.enabled).toBe(true);
    const disabled = await followToEnd(await call('POST', '/nodes/hw2/wol/disable', { token: tokens.operate, body: {} }));
    expect(disabled).toMatchObject({ kind: 'wol-disable', target: 'hw2' });
    expect(getNode(web.db, 'hw2').wol.enabled).toBe(false);
    const typo = await call('POST', '/nodes/hw2/wol/enable', { token: tokens.operate, body: { check: true } });
    expect(await json(typo)).toEqual({ error: 'unknown field "check": this request takes no fields: send {}', field: 'check' });
    expect((await call('POST', '/nodes/nope/wol/disable', { token: tokens.operate })).status).toBe(404);
  });
});
