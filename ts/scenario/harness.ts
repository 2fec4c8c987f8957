// Runs molecule/<scenario>/ the way Molecule's default test sequence does (syntax, check,
// converge, idempotence, verify), against a fresh lab, with mko's own runner and inventory.
// "Fresh" is the state `mko lab up` leaves: scenarios with the same number of hosts share one lab,
// whose hosts are reset to their disks right after onboarding (and rebooted) before each of them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Db } from '../db/index.js';
import { UserError } from '../errors.js';
import { clusterGroup } from '../inventory/groups.js';
import { labDown, labReset, labSnapshot, labUp } from '../lab/index.js';
import { registerLab, unregisterLab } from '../lab/register.js';
import { runPlaybook, type PlaybookResult } from '../ops/index.js';
import { projectRoot } from '../paths.js';
import { testSsh } from '../ssh/index.js';

export const SCENARIO_STEPS = ['syntax', 'check', 'prepare', 'converge', 'idempotence', 'verify'] as const;
export type ScenarioStep = (typeof SCENARIO_STEPS)[number];
export type StepOutcome = 'passed' | 'failed' | 'skipped' | 'not run';

export interface ScenarioResult {
  name: string;
  steps: Record<ScenarioStep, StepOutcome>;
  /** What went wrong, in one line, when a step failed. */
  error?: string;
  seconds: number;
  operations: number[];
}

export interface Scenario {
  name: string;
  dir: string;
  /** Lab hosts the scenario wants (length of `platforms` in molecule.yml). */
  hosts: number;
  /** Extra variables from `provisioner.inventory.group_vars.all` in molecule.yml, if any. */
  extraVars: Record<string, unknown>;
}

export const moleculeDir = path.join(projectRoot, 'molecule');

export function listScenarios(root: string = moleculeDir): Scenario[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, entry.name, 'molecule.yml')))
    .map((entry) => {
      const dir = path.join(root, entry.name);
      const file = path.join(dir, 'molecule.yml');
      let parsed: unknown;
      try {
        parsed = YAML.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new UserError(`${path.relative(projectRoot, file)} is not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
      }
      const config = (parsed ?? {}) as {
        platforms?: unknown[];
        provisioner?: { inventory?: { group_vars?: { all?: Record<string, unknown> } } };
      };
      return {
        name: entry.name,
        dir,
        hosts: Math.max(1, config.platforms?.length ?? 3),
        extraVars: config.provisioner?.inventory?.group_vars?.all ?? {},
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface HarnessOptions {
  db: Db;
  dbPath: string;
  dataDir: string;
  /** Lab name used for every scenario (its cluster and host names follow from it). */
  labName: string;
  onOutput?: (chunk: string) => void;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  /** Leave the last lab running for inspection. */
  keepLab?: boolean;
}

const labOptions = (options: HarnessOptions) => ({
  name: options.labName,
  stateDir: path.join(options.dataDir, 'lab', options.labName),
  onProgress: options.onProgress ?? (() => {}),
});

/** Bring up a fresh lab of `hosts` hosts, registered and onboarded like real machines. */
async function freshLab(options: HarnessOptions, hosts: number): Promise<void> {
  const o = labOptions(options);
  await labDown(o);
  unregisterLab(options.db, options.dataDir, options.labName);
  const info = await labUp({ ...o, nodes: hosts });
  const nodes = await registerLab({ db: options.db, dataDir: options.dataDir, stateDir: o.stateDir, info, onProgress: o.onProgress });
  const ssh = await testSsh(options.db, nodes.map((n) => n.hostname), { dbPath: options.dbPath, dataDir: options.dataDir });
  const bad = ssh.results.find((r) => !r.ok);
  if (bad) throw new UserError(`lab node ${bad.node.hostname} is not reachable for scenarios: ${bad.summary}`);
}

/**
 * The lab every scenario starts on, in the state freshLab leaves: made the first time a number of
 * hosts is asked for (and snapshotted), reset to that snapshot when the same number comes again.
 */
export class ScenarioLab {
  private hosts: number | null = null;
  constructor(private readonly options: HarnessOptions) {}

  async ready(hosts: number): Promise<void> {
    const o = labOptions(this.options);
    const reuse = this.hosts === hosts;
    this.hosts = null; // until it is ready: after a failure the next scenario gets a new lab
    if (reuse) {
      o.onProgress(`resetting lab "${o.name}" to its hosts' disks right after onboarding`);
      await labReset(o);
      this.hosts = hosts;
      return;
    }
    await freshLab(this.options, hosts);
    await labSnapshot(o);
    this.hosts = hosts;
  }
}

export async function tearDownLab(options: HarnessOptions): Promise<void> {
  await labDown({ name: options.labName, stateDir: path.join(options.dataDir, 'lab', options.labName) });
  unregisterLab(options.db, options.dataDir, options.labName);
}

/** A failed run in one line: what ansible-playbook's exit means, and each host's failed task and message. */
function why(run: PlaybookResult): string {
  const hosts = Object.entries(run.failures)
    .filter(([, f]) => !f.ignored)
    .map(([host, f]) => `${host}: ${f.status} at "${f.task ?? '?'}": ${f.message.replace(/\s+/g, ' ').slice(0, 400)}`);
  return [run.exitMeaning, ...hosts].join('; ');
}

/**
 * The variables of a scenario's runs: molecule.yml's group_vars, which are the project's own
 * templates ("{{ mko_scenario_group }}") that Molecule has Ansible template too, so they go as
 * written, not as data; and the group the scenario plays on, this lab's cluster, which wins over
 * the default molecule.yml names (cluster_mol) so that a lab of another name is not played around.
 */
export function scenarioVars(scenario: Pick<Scenario, 'extraVars'>, group: string): Record<string, unknown> {
  return { ...scenario.extraVars, mko_scenario_group: group };
}

function changedHosts(result: PlaybookResult): string[] {
  return Object.entries(result.recap)
    .filter(([, r]) => r.changed > 0)
    .map(([host, r]) => `${host} changed=${r.changed}`);
}

/** One scenario: every step in order; the first failure stops it. */
export async function runScenario(scenario: Scenario, options: HarnessOptions, lab = new ScenarioLab(options)): Promise<ScenarioResult> {
  const started = Date.now();
  const steps = Object.fromEntries(SCENARIO_STEPS.map((s) => [s, 'not run'])) as Record<ScenarioStep, StepOutcome>;
  const operations: number[] = [];
  const result = (error?: string): ScenarioResult => ({
    name: scenario.name,
    steps,
    ...(error ? { error } : {}),
    seconds: (Date.now() - started) / 1000,
    operations,
  });
  const converge = path.join(scenario.dir, 'converge.yml');
  const group = clusterGroup(options.labName);
  const play = async (step: ScenarioStep, file: string, extra: { check?: boolean; extraArgs?: string[] } = {}): Promise<PlaybookResult> => {
    options.onProgress?.(`${scenario.name}: ${step}`);
    const run = await runPlaybook(options.db, {
      kind: `scenario:${step}`,
      target: scenario.name,
      playbook: file,
      dbPath: options.dbPath,
      limit: group,
      ...(extra.check ? { check: true } : {}),
      extraArgs: ['-e', JSON.stringify(scenarioVars(scenario, group)), ...(extra.extraArgs ?? [])],
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    operations.push(run.operationId);
    return run;
  };
  /** A step's run that failed, or that played on no host of the lab (a scenario that tests nothing). */
  const failed = (run: PlaybookResult): string | undefined =>
    run.status !== 'succeeded' ? why(run) : Object.keys(run.recap).length === 0 ? `no host of ${group} played (check the hosts: of its plays)` : undefined;
  const fail = (step: ScenarioStep, why: string): ScenarioResult => {
    steps[step] = 'failed';
    return result(`${step}: ${why}`);
  };

  try {
    const syntax = await play('syntax', converge, { extraArgs: ['--syntax-check'] });
    if (syntax.status !== 'succeeded') return fail('syntax', why(syntax));
    steps.syntax = 'passed';

    await lab.ready(scenario.hosts);
    const prepare = path.join(scenario.dir, 'prepare.yml');
    if (existsSync(prepare)) {
      const prepared = failed(await play('prepare', prepare));
      if (prepared) return fail('prepare', prepared);
      steps.prepare = 'passed';
    } else {
      steps.prepare = 'skipped';
    }

    const check = failed(await play('check', converge, { check: true }));
    if (check) return fail('check', `check mode failed: ${check}`);
    steps.check = 'passed';

    const first = failed(await play('converge', converge));
    if (first) return fail('converge', first);
    steps.converge = 'passed';

    const second = await play('idempotence', converge);
    const again = failed(second);
    if (again) return fail('idempotence', again);
    const changed = changedHosts(second);
    if (changed.length > 0) return fail('idempotence', `second converge changed things: ${changed.join(', ')}`);
    steps.idempotence = 'passed';

    const verify = path.join(scenario.dir, 'verify.yml');
    if (existsSync(verify)) {
      const verified = failed(await play('verify', verify));
      if (verified) return fail('verify', verified);
      steps.verify = 'passed';
    } else {
      steps.verify = 'skipped';
    }
    return result();
  } catch (error) {
    const step = SCENARIO_STEPS.find((s) => steps[s] === 'not run') ?? 'verify';
    return fail(step, (error as Error).message);
  }
}

/** The scenarios, those with the same number of hosts one after the other (on one lab); results in the order given. */
export async function runScenarios(scenarios: Scenario[], options: HarnessOptions): Promise<ScenarioResult[]> {
  const results = new Map<Scenario, ScenarioResult>();
  const lab = new ScenarioLab(options);
  try {
    for (const scenario of [...scenarios].sort((a, b) => a.hosts - b.hosts)) {
      results.set(scenario, await runScenario(scenario, options, lab));
      if (options.signal?.aborted) break;
    }
  } finally {
    if (!options.keepLab) await tearDownLab(options);
  }
  return scenarios.flatMap((s) => results.get(s) ?? []);
}
