import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './context.js';

type AnyCommand = CommandModule<GlobalArgs, GlobalArgs>;

/** A top-level command group, known by name and description without loading its module. */
export interface GroupEntry {
  name: string;
  describe: string;
  /** Usage when it is one command rather than a group (`doctor <target>`). */
  usage?: string;
  /** The group's module, imported only when the command line names the group. */
  load: () => Promise<AnyCommand>;
}

/**
 * Every `mko <group>`, in the order `mko --help` lists them. `mko node list` imports the node
 * group alone: the others (the lab, scenarios, power rules...) cost nothing at start-up. Each
 * module's own group() takes its description from here (groups.test.ts checks they agree).
 */
export const GROUPS: readonly GroupEntry[] = [
  { name: 'node', describe: 'Register, onboard and inspect nodes', load: async () => (await import('./commands/node.js')).nodeCommand },
  { name: 'cluster', describe: 'Create clusters and assign nodes to them', load: async () => (await import('./commands/cluster.js')).clusterCommand },
  { name: 'operation', describe: 'The history of every playbook run', load: async () => (await import('./commands/operation.js')).operationCommand },
  { name: 'inventory', describe: 'The fleet as an Ansible inventory', load: async () => (await import('./commands/inventory.js')).inventoryCommand },
  { name: 'migrate', describe: 'Database schema migrations', load: async () => (await import('./commands/migrate.js')).migrateCommand },
  { name: 'lab', describe: 'A lab of real hosts on this machine, to try mko without hardware', load: async () => (await import('./commands/lab.js')).labCommand },
  { name: 'scenario', describe: 'Scenario tests of the roles against the lab (Molecule-compatible)', load: async () => (await import('./commands/scenario.js')).scenarioCommand },
  { name: 'hardware', describe: 'Collect and show hardware reports of nodes', load: async () => (await import('./commands/hardware.js')).hardwareCommand },
  { name: 'system', describe: 'Node prerequisites for MicroK8s', load: async () => (await import('./commands/system.js')).systemCommand },
  { name: 'wol', describe: 'Wake-on-LAN: configure nodes and their NICs, wake nodes and clusters, RTC alarms', load: async () => (await import('./commands/wol.js')).wolCommand },
  { name: 'proxmox', describe: 'Proxmox VE API endpoints that start virtual nodes', load: async () => (await import('./commands/proxmox.js')).proxmoxCommand },
  { name: 'ups', describe: 'UPSes through Network UPS Tools: setup, live status, the watcher and power rules', load: async () => (await import('./commands/ups/index.js')).upsCommand },
  { name: 'doctor', usage: 'doctor <target>', describe: 'Diagnose a node or a cluster: every check with its evidence and the command that fixes it', load: async () => (await import('./commands/doctor.js')).doctorCommand },
  { name: 'health', usage: 'health [command]', describe: 'Health history: the cheap checks on a schedule, their latest state, changes and notifications', load: async () => (await import('./commands/health.js')).healthCommand },
  { name: 'sleep', describe: 'Auto-sleep: idle nodes suspend or power off, and come back Ready when woken', load: async () => (await import('./commands/sleep.js')).sleepCommand },
  { name: 'web', describe: 'The web UI and REST API (mko web: serve them)', load: async () => (await import('./commands/web.js')).webCommand },
];

/** The description of top-level group `name`, for the group's own module. */
export function groupDescription(name: string): string {
  const entry = GROUPS.find((g) => g.name === name);
  if (!entry) throw new Error(`no command group ${name} in GROUPS`);
  return entry.describe;
}

/** A stand-in for a group the command line does not name: enough for `mko --help` and "did you mean". */
function placeholder(entry: GroupEntry): AnyCommand {
  return { command: entry.usage ?? `${entry.name} <command>`, describe: entry.describe, handler: () => undefined };
}

/** The top-level commands for this command line: the named group's real module, placeholders for the rest. */
export async function commandsFor(word: string | undefined): Promise<AnyCommand[]> {
  return Promise.all(GROUPS.map((entry) => (entry.name === word ? entry.load() : placeholder(entry))));
}
