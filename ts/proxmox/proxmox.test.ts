// Virtual nodes through the Proxmox VE API. The API server is the one test double here
// (ts/test-support/proxmox.ts: real HTTPS on 127.0.0.1, certificates made by openssl at test
// time). Everything else is real: the built mko, SQLite, the secrets file, TLS.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { buildCli, mkoBin as mko, snapshotState } from '../test-support/cli.js';
import { secretsFile } from '../secrets/index.js';
import { FakePve, makeCertificates, SECRET, TOKEN_ID, WRONG_SECRET } from '../test-support/proxmox.js';
import { freePort } from '../test-support/sshd.js';
import type { WakeResult } from '../wol/index.js';

describe('Proxmox VE through mko', () => {
  let dir: string;
  let dbPath: string;
  let url: string;
  const pve = new FakePve();
  const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
  const wake = async (node: string): Promise<{ exitCode: number | undefined; stderr: string; result: WakeResult }> => {
    const r = await run('wol', 'wake-node', node, '--json');
    return { exitCode: r.exitCode, stderr: r.stderr, result: JSON.parse(r.stdout) as WakeResult };
  };
  const snapshot = () => snapshotState(dbPath, secretsFile(dir));
  const addHost = (name: string, ...extra: string[]) =>
    run('proxmox', 'add', name, '--url', url, '--token-id', TOKEN_ID, '--token-secret', SECRET, ...extra);
  const vmNode = (hostname: string, host: string, vmid: number) =>
    run('wol', 'configure', hostname, '--method', 'proxmox', '--proxmox-host', host, '--proxmox-node', 'pve', '--vmid', String(vmid));

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-proxmox-'));
    dbPath = path.join(dir, 'mko.db');
    await makeCertificates(dir);
    await pve.start(readFileSync(path.join(dir, 'server.pem')), readFileSync(path.join(dir, 'server.key')));
    url = `https://127.0.0.1:${pve.port}`;
    const db = openDb(dbPath);
    // Their SSH is a closed port here: the wake's "already up?" probe finds nothing, locally.
    for (const hostname of ['vm1', 'vm2', 'vm3', 'vm4', 'vm5']) {
      insertNode(db, validateNodeInput({ hostname, address: '127.0.0.1', sshPort: await freePort(), sshUser: 'root', wolEnabled: true }), null);
    }
    db.close();
  });
  afterAll(async () => {
    await pve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a host with its CA pinned; the token secret goes to the 0600 secrets file only', async () => {
    const added = await addHost('pve1', '--ca-file', path.join(dir, 'ca.pem'));
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toBe(`Added Proxmox host pve1 (${url}), token ${TOKEN_ID}, TLS verified against ${path.join(dir, 'ca.pem')}`);
    expect(added.stderr).toBe('');
    const list = await run('proxmox', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+URL\s+TOKEN ID\s+TLS\s+NODES$/);
    expect(list.stdout).toContain(TOKEN_ID);
    const listed = await run('proxmox', 'list', '--json');
    for (const text of [list.stdout, listed.stdout, snapshot().db]) expect(text).not.toContain(SECRET);
    expect(snapshot().secrets).toContain(SECRET);
    expect(statSync(secretsFile(dir)).mode & 0o777).toBe(0o600);
  });

  it('starts a stopped VM (the mko.fleet.wake module): start, task status until stopped with exitstatus OK, then status/current running', async () => {
    expect((await vmNode('vm1', 'pve1', 101)).exitCode).toBe(0);
    pve.requests = [];
    const { exitCode, result } = await wake('vm1');
    expect(exitCode).toBe(0);
    expect(result.nodes[0]).toMatchObject({ host: 'vm1', method: 'proxmox', outcome: 'woken', detail: expect.stringMatching(/^VM 101 started \(task UPID:pve:.*qmstart:101:/) });
    const calls = pve.requests.map((r) => `${r.method} ${r.url.replace(/tasks\/[^/]+/, 'tasks/UPID')}`);
    expect(calls).toEqual([
      'GET /api2/json/nodes/pve/qemu/101/status/current',
      'POST /api2/json/nodes/pve/qemu/101/status/start',
      'GET /api2/json/nodes/pve/tasks/UPID/status',
      'GET /api2/json/nodes/pve/tasks/UPID/status',
      'GET /api2/json/nodes/pve/qemu/101/status/current',
    ]);
    expect(pve.requests.every((r) => r.auth === `PVEAPIToken=${TOKEN_ID}=${SECRET}`)).toBe(true);
    expect(pve.vms.get(101)?.status).toBe('running');

    const again = await wake('vm1');
    expect(again.result.nodes[0]).toMatchObject({ outcome: 'already up', detail: 'VM 101 is already running' });
    const op = JSON.parse((await run('operation', 'show', String(result.operationId), '--json', '--log')).stdout) as { kind: string; log: string; args: string[] };
    expect(op.kind).toBe('wake');
    expect(op.log).toMatch(/vm1: woken: VM 101 started \(task UPID:pve:\S+\); SSH not waited for/);
    expect(JSON.stringify(op)).not.toContain(SECRET);
  }, 180_000);

  it('reports a start task that fails with its exitstatus', async () => {
    expect((await vmNode('vm2', 'pve1', 102)).exitCode).toBe(0);
    const { exitCode, result } = await wake('vm2');
    expect(exitCode).toBe(2);
    expect(result.nodes[0]).toMatchObject({
      outcome: 'failed',
      detail: expect.stringMatching(/^starting VM 102 on pve failed: task UPID:\S+ ended with "start failed: QEMU exited with code 1"$/),
    });
    expect(pve.vms.get(102)?.status).toBe('stopped');
  });

  it('reports a wrong token as the 401 it is', async () => {
    const added = await run('proxmox', 'add', 'pve-wrong', '--url', url, '--token-id', TOKEN_ID, '--token-secret', WRONG_SECRET, '--ca-file', path.join(dir, 'ca.pem'));
    expect(added.exitCode).toBe(0);
    expect((await vmNode('vm3', 'pve-wrong', 101)).exitCode).toBe(0);
    const { exitCode, result } = await wake('vm3');
    expect(exitCode).toBe(2);
    expect(result.nodes[0]?.detail).toBe(`Proxmox pve-wrong rejected API token ${TOKEN_ID} (401 invalid token value!): check the token id and secret (mko proxmox remove, then add again)`);
    expect(pve.requests.at(-1)?.auth).toBe(`PVEAPIToken=${TOKEN_ID}=${WRONG_SECRET}`);
  });

  it('refuses a server whose certificate the given CA did not sign, naming the CA file', async () => {
    const otherCa = path.join(dir, 'other-ca.pem');
    expect((await addHost('pve-other', '--ca-file', otherCa)).exitCode).toBe(0);
    expect((await vmNode('vm4', 'pve-other', 101)).exitCode).toBe(0);
    const before = pve.requests.length;
    const { exitCode, result } = await wake('vm4');
    expect(exitCode).toBe(2);
    expect(result.nodes[0]?.detail).toMatch(new RegExp(`^TLS check of Proxmox pve-other \\(${url.replace(/\./g, '\\.')}\\) failed against the CA in ${otherCa.replace(/\./g, '\\.')}: .*\\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\); give the CA`));
    expect(pve.requests.length).toBe(before); // not one request got through
  });

  it('with --insecure, works but warns when it is added and every time it is used', async () => {
    const added = await addHost('pve-insecure', '--insecure');
    expect(added.exitCode).toBe(0);
    expect(added.stderr).toMatch(/^mko: warning: TLS verification is OFF for Proxmox pve-insecure \(--insecure\)/);
    expect(added.stdout).toContain('TLS NOT verified (--insecure)');
    pve.vms.set(103, { status: 'stopped', startResult: 'OK' });
    expect((await vmNode('vm5', 'pve-insecure', 103)).exitCode).toBe(0);
    const { exitCode, stderr, result } = await wake('vm5');
    expect(exitCode).toBe(0);
    expect(result.nodes[0]?.outcome).toBe('woken');
    expect(stderr).toContain('mko: warning: TLS verification is OFF for Proxmox pve-insecure');
  });

  const bad: [string, string[], RegExp][] = [
    ['url', ['proxmox', 'add', 'pve9', '--url', 'http://pve9:8006', '--token-id', TOKEN_ID, '--token-secret', SECRET], /^mko: invalid --url "http:\/\/pve9:8006": must be the https URL/],
    ['token id', ['proxmox', 'add', 'pve9', '--url', 'https://pve9:8006', '--token-id', 'root@pam', '--token-secret', SECRET], /^mko: invalid --token-id "root@pam": must be an API token id USER@REALM!TOKENID/],
    ['token secret', ['proxmox', 'add', 'pve9', '--url', 'https://pve9:8006', '--token-id', TOKEN_ID, '--token-secret', 'has spaces and $'], /^mko: invalid --token-secret: must be the API token secret/],
    ['ca file', ['proxmox', 'add', 'pve9', '--url', 'https://pve9:8006', '--token-id', TOKEN_ID, '--token-secret', SECRET, '--ca-file', '/nonexistent/ca.pem'], /^mko: --ca-file \/nonexistent\/ca.pem does not exist/],
    ['ca and insecure', ['proxmox', 'add', 'pve9', '--url', 'https://pve9:8006', '--token-id', TOKEN_ID, '--token-secret', SECRET, '--ca-file', 'x', '--insecure'], /^mko: --ca-file and --insecure contradict/],
    ['duplicate', ['proxmox', 'add', 'PVE1', '--url', 'https://pve9:8006', '--token-id', TOKEN_ID, '--token-secret', SECRET], /^mko: proxmox host PVE1 already exists/],
    ['vm id', ['wol', 'configure', 'vm1', '--vmid', '99'], /^mko: invalid --vmid 99: must be a Proxmox VM id from 100 to 999999999$/],
    ['proxmox node', ['wol', 'configure', 'vm1', '--proxmox-node', 'pve_1'], /^mko: invalid --proxmox-node "pve_1": must be the Proxmox node name/],
    ['remove in use', ['proxmox', 'remove', 'pve1'], /^mko: proxmox host pve1 is used by vm1, vm2: point them elsewhere first, or pass --force$/],
  ];
  it.each(bad)('%s: one line on stderr, exit 1, nothing changed', async (_name, args, message) => {
    const before = snapshot();
    const result = await run(...args);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(SECRET);
    expect(snapshot()).toEqual(before);
  });

  it('remove --force forgets the host and its token secret', async () => {
    const removed = await run('proxmox', 'remove', 'pve-wrong', '--force', '--yes');
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(snapshot().secrets).not.toContain(WRONG_SECRET);
    expect((await run('proxmox', 'list')).stdout).not.toContain('pve-wrong');
    const { result } = await wake('vm3');
    expect(result.nodes[0]?.detail).toMatch(/^no proxmox host "pve-wrong"/);
  });

  it('has an example in every --help', async () => {
    for (const command of ['add', 'list', 'remove']) {
      const help = await run('proxmox', command, '--help');
      expect(help.exitCode, command).toBe(0);
      expect(help.stdout, command).toContain('Examples:');
    }
  });
});
