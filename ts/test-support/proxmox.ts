// A Proxmox VE API double for tests (there is no Proxmox host to talk to): real HTTPS on 127.0.0.1
// with a CA and a server certificate made by openssl at test time, answering the documented
// endpoints with PVE's JSON shapes and checking the API token header as Proxmox does.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { execa } from 'execa';

export const TOKEN_ID = 'root@pam!mko';
export const SECRET = '5d0b7c1e-8f1a-4b7e-9c3d-2a6f0e4b8c11';
export const WRONG_SECRET = '00000000-0000-4000-8000-000000000000';

export interface Vm {
  status: 'running' | 'stopped';
  /** exitstatus its start task ends with. */
  startResult: string;
}

/** Proxmox VE's API for the few calls mko makes, on node "pve". */
export class FakePve {
  server!: Server;
  port = 0;
  requests: { method: string; url: string; auth: string | undefined }[] = [];
  vms = new Map<number, Vm>([
    [101, { status: 'stopped', startResult: 'OK' }],
    [102, { status: 'stopped', startResult: 'start failed: QEMU exited with code 1' }],
  ]);
  /** VMs the token may not see (no VM.Audit on /vms/{vmid}): 403, as Proxmox answers. */
  denied = new Set<number>();
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
    if (url === '/api2/json/version' && req.method === 'GET') return this.send(res, 200, 'OK', { version: '8.2.4', release: '8.2', repoid: 'faa83925c9641325' });
    const vmRoute = /^\/api2\/json\/nodes\/pve\/qemu\/(\d+)\/status\/(current|start)$/.exec(url);
    const taskRoute = /^\/api2\/json\/nodes\/pve\/tasks\/([^/]+)\/status$/.exec(url);
    if (vmRoute) {
      const vmid = Number(vmRoute[1]);
      const vm = this.vms.get(vmid);
      if (this.denied.has(vmid)) return this.send(res, 403, `Permission check failed (/vms/${vmid}, VM.Audit)`, null);
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
export async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mko test Proxmox CA');
  await openssl(dir, 'req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=some other CA');
  await openssl(dir, 'req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pve');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
}

