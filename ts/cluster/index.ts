export { checkUpgrade, parseChannel } from './channel.js';
export * from './lifecycle.js';
export { clusterStatuses, type NodeStatus, type StatusReport } from './status-store.js';
