import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../paths.js';

const moduleUtils = path.join(projectRoot, 'collections', 'ansible_collections', 'mko', 'fleet', 'plugins', 'module_utils');
const ADD_WAKE_NIC = `import json, sys
sys.path.insert(0, ${JSON.stringify(moduleUtils)})
from wake_nic import wake_nic
r = json.load(sys.stdin)
r['wake_nic'] = wake_nic(r['network'], sys.argv[1])
print(json.dumps(r))`;

/**
 * This machine's hardware report as the hardware role leaves it: the collector's output plus the
 * wake_nic the collection's action plugin adds for a node reached at `address` (the same
 * module_utils function, so the NIC is chosen exactly as in a real run).
 */
export async function collectedReport(address: string): Promise<string> {
  const collected = (await execa('/usr/bin/python3', [path.join(moduleUtils, 'hardware_collect.py')])).stdout;
  return (await execa('/usr/bin/python3', ['-c', ADD_WAKE_NIC, address], { input: collected })).stdout;
}
