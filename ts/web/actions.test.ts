// Long actions through the API: 202 with the operation id at once, the run itself real
// (ansible-playbook over SSH to a real sshd on loopback), followed to its end over SSE.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../db/index.js';
import { getNode } from '../fleet/index.js';
import { getOperation } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { createUser, pasteAsUser, removeUser, startSshd, type Sshd, type TestUser } from '../test-support/sshd.js';
import { API_PREFIX, createApp } from './app.js';
import { createToken } from './tokens.js';

const isRoot = process.getuid?.() === 0;
const user: TestUser = { name: 'mkot-web', password: 'pw-web-1', sudoGroup: true };

describe.skipIf(!isRoot)('long actions through the API', () => {
  let dir: string;
  let db: Db;
  let sshd: Sshd;
  let app: ReturnType<typeof createApp>;
  let token: string;
  const call = (method: string, url: string, body?: unknown) =>
    Promise.resolve(
      app.request(`${API_PREFIX}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    );

  beforeAll(async () => {
    // The runs read the fleet through the built inventory script.
    if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-web-actions-'));
    process.env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = path.join(dir, 'cp');
    db = openDb(path.join(dir, 'mko.db'));
    app = createApp({ db, dbPath: path.join(dir, 'mko.db'), dataDir: dir });
    token = createToken(db, { name: 'ops', scope: 'admin' }).secret;
    sshd = await startSshd();
    await createUser(user);
  });

  afterAll(async () => {
    await sshd?.stop();
    await removeUser(user.name);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tests SSH: answers 202 with the operation at once, streams its log, ends succeeded, and marks the key verified', async () => {
    const added = await call('POST', '/nodes', { hostname: 'web-n1', address: '127.0.0.1', sshPort: sshd.port, sshUser: user.name });
    const { instructions } = (await added.json()) as { instructions: string };
    const start = instructions.indexOf('then paste:\n\n') + 'then paste:\n\n'.length;
    await pasteAsUser(user, instructions.slice(start, instructions.indexOf('\n\n', start)));

    const response = await call('POST', '/nodes/web-n1/test-ssh', {});
    expect(response.status).toBe(202);
    const { operationId, events } = (await response.json()) as { operationId: number; events: string };
    expect(getOperation(db, operationId)).toMatchObject({ kind: 'ssh-test', status: 'running' });
    const stream = await app.request(events, { headers: { authorization: `Bearer ${token}` } });
    const text = await stream.text();
    expect(text).toMatch(/event: log\n/);
    expect(text).toMatch(/event: end\ndata: \{"status":"succeeded","exitCode":0,"exitMeaning":"ok"\}\nid: \d+\n/);
    expect(getOperation(db, operationId).recap['web-n1']).toMatchObject({ failed: 0, unreachable: 0 });
    expect(getNode(db, 'web-n1').sshKeyStatus).toBe('verified');
  });

  it('collects the node\'s hardware through the API (202, followed to its end) and shows it back as the latest report', async () => {
    const response = await call('POST', '/nodes/web-n1/hardware', {});
    expect(response.status).toBe(202);
    const { operationId, events } = (await response.json()) as { operationId: number; events: string };
    const stream = await app.request(events, { headers: { authorization: `Bearer ${token}` } });
    expect(await stream.text()).toMatch(/event: end\ndata: \{"status":"succeeded","exitCode":0,"exitMeaning":"ok"\}\n/);
    expect(getOperation(db, operationId)).toMatchObject({ kind: 'hardware', target: 'web-n1', status: 'succeeded' });
    const latest = await call('GET', '/nodes/web-n1/hardware');
    expect(latest.status).toBe(200);
    const body = (await latest.json()) as { node: string; operationId: number; report: { hostname: string } };
    expect(body).toMatchObject({ node: 'web-n1', operationId, report: { hostname: os.hostname().split('.')[0] } });
    const history = (await (await call('GET', '/nodes/web-n1/hardware/history')).json()) as { reports: { operationId: number }[] };
    expect(history.reports.map((r) => r.operationId)).toEqual([operationId]);
  });

  it('refuses a shutdown without "confirm": true, or without a mode, and starts nothing', async () => {
    await call('POST', '/clusters', { name: 'lab' });
    const before = db.prepare('SELECT count(*) AS n FROM operations').get();
    const unconfirmed = await call('POST', '/clusters/lab/shutdown', { mode: 'graceful' });
    expect(unconfirmed.status).toBe(400);
    expect(await unconfirmed.json()).toEqual({ error: 'power off all 0 nodes of cluster lab (graceful): not confirmed; send "confirm": true to do it', field: 'confirm' });
    const noMode = await call('POST', '/clusters/lab/shutdown', { confirm: true });
    expect(((await noMode.json()) as { field: string }).field).toBe('mode');
    expect(db.prepare('SELECT count(*) AS n FROM operations').get()).toEqual(before);
  });

  it('answers an action that cannot start with 400 at once, not 202', async () => {
    const response = await call('POST', '/clusters/lab/configure-hosts', {});
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^cluster lab has no nodes: assign some with mko cluster assign lab/);
  });
});
