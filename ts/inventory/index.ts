export { buildInventory, hostVars, knownHostsFile, shellWord, sshLogin, type Inventory, type InventoryGroup } from './build.js';
export { clusterGroup, clusterRoleGroup, FLEET_GROUPS } from './groups.js';
export { toYamlInventory } from './export.js';
export { markInventory, markUnsafe } from './unsafe.js';
