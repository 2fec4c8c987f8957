// POST /api/v1/doctor and GET /api/v1/doctor/:operation in-process against a real SQLite file: a
// run started as an operation (202) and followed to its end, its results read back (nodes nobody
// answers for: ssh.reachable fails, not a crash), and the 400s and 404s that start nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultsOf } from '../doctor/index.js';
import type { CheckResult } from '../health/checks.js';
import { listOperations } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { addUnreachableEdge, json, webFixture, type WebFixture } from '../test-support/web.js';

let web: WebFixture;

beforeAll(async () => {
  // The runs read the fleet through the built inventory script.
  if (!existsSync(path.join(projectRoot, 'dist', 'inventory', 'script.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  web = webFixture();
  await addUnreachableEdge(web, [['dr1'], ['dr2']]);
});

afterAll(() => web.close());

describe('doctor routes', () => {
  it('start a run (202) whose results GET /doctor/:operation gives back: unreachable nodes fail ssh.reachable', async () => {
    const { call, tokens, db } = web;
    const started = await call('POST', '/doctor', { token: tokens.operate, body: { target: 'edge' } });
    expect(started.status).toBe(202);
    const { operationId, events } = (await started.json()) as { operationId: number; events: string };
    const stream = await web.app.request(events, { headers: { authorization: `Bearer ${tokens.read}` } });
    expect(await stream.text()).toMatch(/event: end\n/);

    const read = await call('GET', `/doctor/${operationId}`, { token: tokens.read });
    expect(read.status).toBe(200);
    const body = (await read.json()) as { operation: number; target: string; status: string; healthy: boolean; results: CheckResult[] };
    expect(body).toMatchObject({ operation: operationId, target: 'edge', status: 'failed', healthy: false });
    expect(body.results.map((r) => [r.id, r.subject, r.status])).toEqual([['ssh.reachable', 'dr1', 'fail'], ['ssh.reachable', 'dr2', 'fail']]);
    expect(body.results[0]?.fix).toBe('mko node test-ssh dr1');
    expect(body.results).toEqual(resultsOf(db, operationId));
    // Recorded with the mko command that does the same.
    expect(listOperations(db, { limit: 1 })[0]).toMatchObject({ id: operationId, kind: 'doctor', command: ['doctor', 'edge'] });
  });

  it('refuse a bad body or an unknown target before anything starts, and a run that is no doctor run', async () => {
    const { call, tokens, db } = web;
    const before = listOperations(db, { limit: 100 }).length;
    for (const [body, status, field, error] of [
      [{}, 400, 'target', /target/],
      [{ target: 'edge', fix: true }, 400, 'fix', /^unknown field "fix": this request takes target, cheap, confirm$/],
      [{ target: 'edge', cheap: 'yes' }, 400, 'cheap', /cheap/],
      [{ target: 'ghost' }, 404, null, /^no node or cluster "ghost": see mko node list and mko cluster list$/],
    ] as const) {
      const response = await call('POST', '/doctor', { token: tokens.operate, body });
      expect(response.status, JSON.stringify(body)).toBe(status);
      const answer = await json(response);
      expect(answer['field'], JSON.stringify(body)).toBe(field);
      expect(String(answer['error'])).toMatch(error);
    }
    expect(listOperations(db, { limit: 100 }).length).toBe(before);
    expect((await call('GET', '/doctor/abc', { token: tokens.read })).status).toBe(400);
    expect((await call('GET', '/doctor/99999', { token: tokens.read })).status).toBe(404);
    const ssh = await call('POST', '/nodes/dr1/test-ssh', { token: tokens.operate });
    const { operationId, events } = (await ssh.json()) as { operationId: number; events: string };
    // Followed to its end, so that it does not outlive the database.
    const notDoctor = await call('GET', `/doctor/${operationId}`, { token: tokens.read });
    expect(notDoctor.status).toBe(400);
    expect(await json(notDoctor)).toMatchObject({ error: expect.stringMatching(/is a ssh-test run, not mko doctor/), field: 'operation' });
    expect(await (await web.app.request(events, { headers: { authorization: `Bearer ${tokens.read}` } })).text()).toMatch(/event: end\n/);
  });
});
