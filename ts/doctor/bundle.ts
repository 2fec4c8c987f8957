// mko doctor --bundle: one tar.gz on the controller (0600) with each node's `microk8s inspect`
// report and mko's own records of the target (nodes, cluster, recent operations with their logs,
// the doctor run's results). No secret goes in: the records leave out every secret column and key,
// and every known secret value (NUT passwords, SecureOn passwords, Proxmox token secrets, the nodes'
// private keys) is blanked from every file, the inspect reports' contents included.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { SECRET_COLUMNS, type Db } from '../db/index.js';
import { listClusters, resolveTarget } from '../fleet/index.js';
import { listOperations, makeRunDir, runFields, runPlaybook, type RunContext } from '../ops/index.js';
import { getSecret } from '../secrets/index.js';
import { resultsOf } from './store.js';

export interface Bundle {
  /** The bundle file on the controller (0600). */
  path: string;
  /** Nodes whose inspection report is in it. */
  inspected: string[];
  /** Nodes without one (unreachable, MicroK8s not installed). */
  missing: string[];
  operationId: number;
}

const REDACTED = '[REDACTED by mko]';

/** Every secret value mko holds for the fleet: what must not leave in a bundle. */
function knownSecrets(db: Db, dataDir: string, keyPaths: (string | null)[]): string[] {
  const values: string[] = [];
  for (const column of SECRET_COLUMNS) {
    const [table, field] = column.split('.');
    const rows = db.prepare(`SELECT ${field} AS handle FROM ${table} WHERE ${field} IS NOT NULL`).all() as { handle: string }[];
    for (const { handle } of rows) {
      try {
        values.push(getSecret(dataDir, handle, 'the support bundle'));
      } catch {
        // a dangling handle has no value to leak
      }
    }
  }
  for (const key of keyPaths) {
    if (!key || !existsSync(key)) continue;
    const text = readFileSync(key, 'utf8');
    values.push(text.trim());
    // Each line of the key's body too, in case a tool printed part of it.
    for (const line of text.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) values.push(line.trim());
  }
  return [...new Set(values.filter((v) => v.length >= 4))].sort((a, b) => b.length - a.length);
}

/** Blank every known secret in every file under dir (binary files are left out of the bundle). */
function scrub(dir: string, secrets: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      scrub(file, secrets);
      continue;
    }
    if (!entry.isFile()) {
      rmSync(file, { force: true });
      continue;
    }
    const data = readFileSync(file);
    if (data.includes(0)) {
      rmSync(file);
      continue;
    }
    let text = data.toString('utf8');
    for (const secret of secrets) text = text.split(secret).join(REDACTED);
    writeFileSync(file, text, { mode: 0o600 });
  }
}

/** Fetch a support bundle for a node or a cluster, with the given doctor run's results. */
export async function fetchBundle(db: Db, ctx: RunContext, ref: string, doctorOperation: number): Promise<Bundle> {
  const target = resolveTarget(db, ref);
  const staging = makeRunDir(ctx.dataDir, 'bundle');
  try {
    const fetched = path.join(staging, 'fetched');
    const result = await runPlaybook(db, {
      kind: 'doctor-bundle',
      target: target.name,
      playbook: 'doctor-bundle.yml',
      limit: target.limit,
      extraVars: { diagnostics_bundle_dir: fetched },
      ...runFields(ctx),
    });
    const name = `mko-bundle-${target.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-${doctorOperation}`;
    const root = path.join(staging, name);
    mkdirSync(path.join(root, 'mko'), { recursive: true, mode: 0o700 });
    const inspected: string[] = [];
    for (const node of target.nodes) {
      const tarball = path.join(fetched, node.hostname, 'inspection-report.tar.gz');
      if (!existsSync(tarball)) continue;
      const into = path.join(root, 'nodes', node.hostname);
      mkdirSync(into, { recursive: true, mode: 0o700 });
      await execa('tar', ['-xzf', tarball, '-C', into, '--no-same-owner', '--no-same-permissions']);
      inspected.push(node.hostname);
    }
    const hostnames = new Set(target.nodes.map((n) => n.hostname));
    const records: Record<string, unknown> = {
      'nodes.json': target.nodes.map(({ sshKeyPath: _key, ...node }) => node),
      'clusters.json': listClusters(db).filter((c) => c.name === target.name || target.nodes.some((n) => n.cluster === c.name)),
      'doctor-results.json': { operation: doctorOperation, results: resultsOf(db, doctorOperation) },
      'operations.json': listOperations(db, { limit: 50 }).filter((op) => op.target === target.name || hostnames.has(op.target) || op.id === doctorOperation || op.id === result.operationId),
    };
    for (const [file, value] of Object.entries(records)) writeFileSync(path.join(root, 'mko', file), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    scrub(root, knownSecrets(db, ctx.dataDir, target.nodes.map((n) => n.sshKeyPath)));
    // Each node's report goes back into a tarball of its own, as MicroK8s support expects it.
    for (const host of inspected) {
      const dir = path.join(root, 'nodes', host);
      await execa('tar', ['-czf', path.join(staging, `${host}.tar.gz`), '-C', dir, '.']);
      rmSync(dir, { recursive: true });
      mkdirSync(dir, { mode: 0o700 });
      await execa('cp', [path.join(staging, `${host}.tar.gz`), path.join(dir, 'inspection-report.tar.gz')]);
    }
    const outDir = path.join(ctx.dataDir, 'bundles');
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    chmodSync(outDir, 0o700);
    const out = path.join(outDir, `${name}.tar.gz`);
    writeFileSync(out, '', { mode: 0o600 });
    await execa('tar', ['-czf', out, '-C', staging, name]);
    chmodSync(out, 0o600);
    if (!statSync(out).isFile()) throw new Error(`the bundle ${out} was not written`);
    return { path: out, inspected, missing: target.nodes.map((n) => n.hostname).filter((h) => !inspected.includes(h)), operationId: result.operationId };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
