// mko proxmox test against the Proxmox VE API double (ts/test-support/proxmox.ts): the built mko,
// a real ansible-playbook run of playbooks/proxmox-test.yml (mko.fleet.proxmox_check), SQLite and
// the secrets file; real HTTPS with a pinned CA on 127.0.0.1.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { buildCli, mkoBin as mko, snapshotState } from '../test-support/cli.js';
import { FakePve, makeCertificates, SECRET, TOKEN_ID, WRONG_SECRET } from '../test-support/proxmox.js';
import { freePort } from '../test-support/sshd.js';
import { secretsFile } from '../secrets/index.js';
import type { ProxmoxTestResult } from './index.js';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('mko proxmox test', () => {
  let dir: string;
  let dbPath: string;
  let url: string;
  const pve = new FakePve();
  /** Everything mko printed in this file, to grep for the secret at the end. */
  const printed: string[] = [];
  const run = async (...args: string[]) => {
    const result = await execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });
    printed.push(result.stdout, result.stderr);
    return result;
  };
  const add = (name: string, ...extra: string[]) => run('proxmox', 'add', name, '--url', url, '--token-id', TOKEN_ID, '--token-secret', SECRET, ...extra);
  const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-proxmox-test-'));
    dbPath = path.join(dir, 'mko.db');
    await makeCertificates(dir);
    await pve.start(readFileSync(path.join(dir, 'server.pem')), readFileSync(path.join(dir, 'server.key')));
    url = `https://127.0.0.1:${pve.port}`;
    pve.vms.set(101, { status: 'running', startResult: 'OK' });
    const db = openDb(dbPath);
    // Their addresses are never contacted: the test only talks to the Proxmox API.
    const vm = (hostname: string, proxmoxHost: string, proxmoxVmid: number, address: string) =>
      insertNode(db, validateNodeInput({ hostname, address, sshUser: 'root', proxmoxHost, proxmoxNode: 'pve', proxmoxVmid }), null);
    vm('pi-vm1', 'pve1', 101, '192.0.2.1');
    vm('pi-vm2', 'pve1', 102, '192.0.2.2');
    vm('pi-vm3', 'pve-denied', 101, '192.0.2.3');
    vm('pi-vm4', 'pve-denied', 103, '192.0.2.4');
    db.close();
    const ca = path.join(dir, 'ca.pem');
    expect((await add('pve1', '--ca-file', ca)).exitCode).toBe(0);
    expect((await add('pve-denied', '--ca-file', ca)).exitCode).toBe(0);
    expect((await add('pve-other', '--ca-file', path.join(dir, 'other-ca.pem'))).exitCode).toBe(0);
    expect((await run('proxmox', 'add', 'pve-wrong', '--url', url, '--token-id', TOKEN_ID, '--token-secret', WRONG_SECRET, '--ca-file', ca)).exitCode).toBe(0);
    const closed = await freePort();
    expect((await run('proxmox', 'add', 'pve-down', '--url', `https://127.0.0.1:${closed}`, '--token-id', TOKEN_ID, '--token-secret', SECRET, '--ca-file', ca)).exitCode).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await pve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with the CA pinned: one line with the version and each VM, exit 0, only GETs with the token, recorded as an operation', async () => {
    pve.requests = [];
    const result = await run('proxmox', 'test', 'pve1');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running; vm 102 (node pi-vm2): stopped');
    expect(pve.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api2/json/version',
      'GET /api2/json/nodes/pve/qemu/101/status/current',
      'GET /api2/json/nodes/pve/qemu/102/status/current',
    ]);
    expect(pve.requests.every((r) => r.auth === `PVEAPIToken=${TOKEN_ID}=${SECRET}`)).toBe(true);

    const json = await run('proxmox', 'test', 'pve1', '--json');
    expect(json.exitCode).toBe(0);
    const parsed = JSON.parse(json.stdout) as ProxmoxTestResult;
    expect(parsed).toMatchObject({ host: 'pve1', url, ok: true, version: '8.2.4', release: '8.2', error: null, run: { status: 'succeeded', exitCode: 0 } });
    expect(parsed.vms).toEqual([
      { node: 'pi-vm1', proxmoxNode: 'pve', vmid: 101, status: 'running', error: null },
      { node: 'pi-vm2', proxmoxNode: 'pve', vmid: 102, status: 'stopped', error: null },
    ]);
    const op = JSON.parse((await run('operation', 'show', String(parsed.operationId), '--json', '--log')).stdout) as Record<string, unknown>;
    expect(op).toMatchObject({ kind: 'proxmox-test', target: 'pve1', status: 'succeeded' });
    expect(String(op['log'])).toContain('pve1: ok, Proxmox VE 8.2.4');
    expect(String(op['playbook'])).toBe('playbooks/proxmox-test.yml');
  });

  it('refuses a server whose certificate the pinned CA did not sign, before any request', async () => {
    const before = pve.requests.length;
    const result = await run('proxmox', 'test', 'pve-other');
    expect(result.exitCode).toBe(2);
    expect(lastLine(result.stderr)).toMatch(
      new RegExp(
        `^mko: pve-other: TLS check of Proxmox pve-other \\(${escape(url)}\\) failed against the CA in ${escape(path.join(dir, 'other-ca.pem'))}: .*` +
          `\\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\); give the CA .* with --ca-file \\(operation \\d+\\)$`,
      ),
    );
    expect(result.stdout).toBe('');
    expect(pve.requests.length).toBe(before);
  });

  it('says a rejected token is the 401 it is, and how to fix it', async () => {
    const result = await run('proxmox', 'test', 'pve-wrong');
    expect(result.exitCode).toBe(2);
    expect(lastLine(result.stderr)).toMatch(
      new RegExp(`^mko: pve-wrong: Proxmox pve-wrong rejected API token ${escape(TOKEN_ID)} \\(401 invalid token value!\\): check the token id and secret \\(mko proxmox remove, then add again\\) \\(operation \\d+\\)$`),
    );
  });

  it('names the privileges a token lacks on a VM (403), and the command that grants them', async () => {
    pve.denied.add(103);
    const result = await run('proxmox', 'test', 'pve-denied', '--json');
    expect(result.exitCode).toBe(2);
    const parsed = JSON.parse(result.stdout) as ProxmoxTestResult;
    expect(parsed).toMatchObject({ ok: false, version: '8.2.4', error: null, run: { status: 'failed' } });
    expect(parsed.vms[0]).toMatchObject({ node: 'pi-vm3', status: 'running', error: null });
    expect(parsed.vms[1]).toMatchObject({
      node: 'pi-vm4',
      vmid: 103,
      status: null,
      error:
        `API token ${TOKEN_ID} may not GET /nodes/pve/qemu/103/status/current on Proxmox pve-denied (403 Permission check failed (/vms/103, VM.Audit)): ` +
        `it needs VM.Audit and VM.PowerMgmt on /vms/103: on a Proxmox node, pveum acl modify /vms/103 --tokens '${TOKEN_ID}' --roles PVEVMUser`,
    });
    const text = await run('proxmox', 'test', 'pve-denied');
    expect(text.exitCode).toBe(2);
    expect(lastLine(text.stderr)).toMatch(/^mko: pve-denied: not ok, Proxmox VE 8\.2\.4; vm 101 \(node pi-vm3\): running; vm 103 \(node pi-vm4\): API token .* --roles PVEVMUser \(operation \d+\)$/);
  });

  it('says a host that does not answer cannot be reached', async () => {
    const result = await run('proxmox', 'test', 'pve-down');
    expect(result.exitCode).toBe(2);
    expect(lastLine(result.stderr)).toMatch(/^mko: pve-down: cannot reach Proxmox pve-down at https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(operation \d+\)$/);
  });

  it('an unknown host is one line and exit 1, and runs nothing', async () => {
    const result = await run('proxmox', 'test', 'pve-nosuch');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe('mko: no proxmox host "pve-nosuch": see mko proxmox list, add one with mko proxmox add');
  });

  it('--verbose streams the log, without the secret', async () => {
    const result = await run('proxmox', 'test', 'pve-wrong', '--verbose');
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('rejected API token');
  });

  it('the token secret is in no output, no operation record or log, and no file but the secrets file', async () => {
    const ops = JSON.parse((await run('operation', 'list', '--json')).stdout) as { id: number; kind: string }[];
    const tests = ops.filter((op) => op.kind === 'proxmox-test');
    expect(tests.length).toBeGreaterThanOrEqual(8);
    for (const op of tests) printed.push((await run('operation', 'show', String(op.id), '--json', '--log')).stdout);
    for (const secret of [SECRET, WRONG_SECRET]) {
      for (const text of printed) expect(text).not.toContain(secret);
      expect(snapshotState(dbPath, secretsFile(dir)).db).not.toContain(secret);
    }
    // Every file under the data directory (the database with its WAL, run folders) but the secrets file.
    const files: string[] = [];
    const walk = (folder: string): void => {
      for (const name of readdirSync(folder)) {
        const file = path.join(folder, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (file !== secretsFile(dir)) files.push(file);
      }
    };
    walk(dir);
    for (const file of files) expect(readFileSync(file).includes(SECRET), file).toBe(false);
    expect(readFileSync(secretsFile(dir), 'utf8')).toContain(SECRET);
  });

  it('has an example in its --help', async () => {
    const help = await run('proxmox', 'test', '--help');
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });
});
