// Virtual nodes through the Proxmox VE API. The API server is the one test double here (there is
// no Proxmox host to talk to): real HTTPS on 127.0.0.1 with a CA and server certificate made by
// openssl at test time, answering the documented endpoints with PVE's JSON shapes and checking
// the API token header. Everything else is real: the built mko, SQLite, the secrets file, TLS.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { buildCli, mkoBin as mko, snapshotState } from '../test-support/cli.js';
import { secretsFile } from '../secrets/index.js';
import { freePort } from '../test-support/sshd.js';
import type { WakeResult } from '../wol/index.js';

const TOKEN_ID = 'root@pam!mko';
const SECRET = '5d0b7c1e-8f1a-4b7e-9c3d-2a6f0e4b8c11';
const WRONG_SECRET = '00000000-0000-4000-8000-000000000000';

interface Vm {
  status: 'running' | 'stopped';
  /** exitstatus its start task ends with. */
  startResult: string;
}

/** Proxmox VE's API for the few calls mko makes, on node "pve". */
class FakePve {
  server!: Server;
  port = 0;
  requests: { method: string; url: string; auth: string | undefined }[] = [];
  vms = new Map<number, Vm>([
    [101, { status: 'stopped', startResult: 'OK' }],
    [102, { status: 'stopped', startResult: 'start failed: QEMU exited with code 1' }],
  ]);
  tasks = new Map<string, { vmid: number; polls: number; exitstatus: string }>();
  private serial = 0;

  async start(cert: Buffer, key: Buffer): Promise<void> {
    this.server = createServer({ cert, key }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, status: number, message: string, data: unknown): void {
    res.writeHead(status, message, { 'Content-Type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify({ data }));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    this.requests.push({ method: req.method ?? '', url, auth: req.headers.authorization });
    if (req.headers.authorization !== `PVEAPIToken=${TOKEN_ID}=${SECRET}`) return this.send(res, 401, 'invalid token value!', null);
    const vmRoute = /^\/api2\/json\/nodes\/pve\/qemu\/(\d+)\/status\/(current|start)$/.exec(url);
    const taskRoute = /^\/api2\/json\/nodes\/pve\/tasks\/([^/]+)\/status$/.exec(url);
    if (vmRoute) {
      const vmid = Number(vmRoute[1]);
      const vm = this.vms.get(vmid);
      if (!vm) return this.send(res, 500, `Configuration file 'nodes/pve/qemu-server/${vmid}.conf' does not exist`, null);
      if (vmRoute[2] === 'current' && req.method === 'GET') {
        return this.send(res, 200, 'OK', { vmid, name: `vm${vmid}`, status: vm.status, qmpstatus: vm.status, uptime: 0 });
      }
      if (vmRoute[2] === 'start' && req.method === 'POST') {
        const upid = `UPID:pve:0000${(0x1a2b + this.serial++).toString(16).toUpperCase()}:0011D3A4:65A0B0C0:qmstart:${vmid}:${TOKEN_ID}:`;
        this.tasks.set(upid, { vmid, polls: 2, exitstatus: vm.startResult });
        return this.send(res, 200, 'OK', upid);
      }
    }
    if (taskRoute && req.method === 'GET') {
      const upid = decodeURIComponent(taskRoute[1] ?? '');
      const task = this.tasks.get(upid);
      if (!task) return this.send(res, 500, 'unable to parse worker upid', null);
      const common = { upid, node: 'pve', type: 'qmstart', id: String(task.vmid), user: TOKEN_ID, pid: 6699, starttime: 1700000000 };
      if (--task.polls > 0) return this.send(res, 200, 'OK', { ...common, status: 'running' });
      const vm = this.vms.get(task.vmid);
      if (vm && task.exitstatus === 'OK') vm.status = 'running';
      return this.send(res, 200, 'OK', { ...common, status: 'stopped', exitstatus: task.exitstatus });
    }
    return this.send(res, 501, `Method '${req.method} ${url}' not implemented`, null);
  }
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await execa('openssl', args, { cwd: dir });
}

/** A CA, and a server certificate for 127.0.0.1 that it signs; a second, unrelated CA. */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mko test Proxmox CA');
  await openssl(dir, 'req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=some other CA');
  await openssl(dir, 'req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pve');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
}

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
  });

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
