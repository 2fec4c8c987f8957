// mko proxmox test and POST /api/v1/proxmox/:host/test: one run of playbooks/proxmox-test.yml on
// the controller (mko.fleet.proxmox_check: the API's version with the host's token and pinned CA,
// then the state of each VM mko starts there), recorded as an operation. The token secret reaches
// Ansible only in the run's 0600 extra-vars file and is blanked out of everything the run stores.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { makeRunDir, readReportFile, runFields, runPlaybook, type CheckMode, type PlaybookResult, type RunContext } from '../ops/index.js';
import { dataDirFor } from '../paths.js';
import { insecureWarning, proxmoxEndpoint, vmsOn } from './hosts.js';

/** The check only reads: in check mode it runs as it is. */
export type ProxmoxTestOptions = RunContext & CheckMode;

export interface ProxmoxVmCheck {
  /** The mko node that is the VM. */
  node: string;
  proxmoxNode: string | null;
  vmid: number | null;
  /** running or stopped; null when it could not be read. */
  status: 'running' | 'stopped' | null;
  /** Why it could not be read, with the fix (a 403 names the privileges). */
  error: string | null;
}

export interface ProxmoxTestResult {
  operationId: number;
  host: string;
  url: string;
  /** The host answered with its token and every VM's state was read. */
  ok: boolean;
  /** Proxmox VE version, e.g. 8.2.4; null when the host could not be read. */
  version: string | null;
  release: string | null;
  /** Why the host could not be read (unreachable, TLS, 401). */
  error: string | null;
  vms: ProxmoxVmCheck[];
  /** The result in one line: "pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running". */
  summary: string;
  run: Pick<PlaybookResult, 'status' | 'exitCode' | 'exitMeaning'>;
}

type Json = Record<string, unknown>;
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function vmCheck(value: unknown): ProxmoxVmCheck {
  const vm = value !== null && typeof value === 'object' ? (value as Json) : {};
  const status = vm['status'];
  return {
    node: text(vm['node']) ?? '?',
    proxmoxNode: text(vm['proxmox_node']),
    vmid: typeof vm['vmid'] === 'number' ? vm['vmid'] : null,
    status: status === 'running' || status === 'stopped' ? status : null,
    error: text(vm['error']),
  };
}

/** What a run said about the host; when it wrote no report, why, in the same one-line form. */
function fromReport(name: string, url: string, report: Json | null, run: PlaybookResult): Omit<ProxmoxTestResult, 'operationId' | 'run'> {
  if (!report) {
    const why = run.status === 'cancelled' ? run.exitMeaning : `the test wrote no report (${run.exitMeaning}): see mko operation show ${run.operationId} --log`;
    return { host: name, url, ok: false, version: null, release: null, error: why, vms: [], summary: `${name}: ${why}` };
  }
  const vms = Array.isArray(report['vms']) ? report['vms'].map(vmCheck) : [];
  const error = text(report['error']);
  const ok = report['ok'] === true && run.status === 'succeeded';
  return {
    host: name,
    url,
    ok,
    version: text(report['version']),
    release: text(report['release']),
    error,
    vms,
    summary: text(report['summary']) ?? `${name}: ${error ?? (ok ? 'ok' : 'not ok')}`,
  };
}

/** Test a registered Proxmox host: its API with the stored token and TLS pinning, and the VMs mko starts there. */
export async function testProxmoxHost(db: Db, ref: string, options: ProxmoxTestOptions): Promise<ProxmoxTestResult> {
  const endpoint = proxmoxEndpoint(db, options.dataDir, ref);
  if (endpoint.insecure) options.onWarning?.(insecureWarning(endpoint.name));
  const dir = makeRunDir(dataDirFor(options.dbPath), 'proxmox-test');
  try {
    const run = await runPlaybook(db, {
      kind: 'proxmox-test',
      target: endpoint.name,
      playbook: 'proxmox-test.yml',
      ...runFields(options),
      extraVars: {
        proxmox_test_host: endpoint.name,
        proxmox_test_api: {
          url: endpoint.url,
          token_id: endpoint.tokenId,
          token_secret: endpoint.tokenSecret,
          ...(endpoint.caFile ? { ca_file: endpoint.caFile } : {}),
          validate_certs: !endpoint.insecure,
        },
        proxmox_test_vms: vmsOn(db, endpoint).map((vm) => ({ node: vm.hostname, proxmox_node: vm.proxmoxNode, vmid: vm.vmid })),
        proxmox_test_report_dir: dir,
      },
      secrets: [endpoint.tokenSecret],
      ...(options.check ? { check: true } : {}),
    });
    const found = fromReport(endpoint.name, endpoint.url, readReportFile(path.join(dir, 'report.json')), run);
    return { operationId: run.operationId, ...found, run: { status: run.status, exitCode: run.exitCode, exitMeaning: run.exitMeaning } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
