export { buildInventory, hostVars, type Inventory, type InventoryGroup } from './build.js';
export { clusterGroup, clusterRoleGroup, FLEET_GROUPS } from './groups.js';
export { toYamlInventory, writeYamlInventory } from './export.js';
