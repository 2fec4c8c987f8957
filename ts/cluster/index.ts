export { checkChannelUpdate, nodesMaybeInstalled, updateClusterSettings } from './channel.js';
export * from './lifecycle.js';
export { clusterStatuses, type NodeStatus, type StatusReport } from './status-store.js';
export { readPowerReports, shutdownCluster, startupCluster, type ClusterPowerOptions, type PowerResult, type ShutdownOptions } from './power.js';
export { getPowerRun, type PowerRun, type PowerStep } from './power-store.js';
