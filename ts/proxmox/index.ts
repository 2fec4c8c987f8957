// Virtual nodes on Proxmox VE: API endpoints with their tokens (the wol role starts the VMs), and
// the test of one (mko proxmox test).
export {
  addProxmoxHost,
  findProxmoxHost,
  getProxmoxHost,
  insecureWarning,
  listProxmoxHosts,
  nodesUsing,
  proxmoxEndpoint,
  proxmoxFlags,
  proxmoxHostInputSchema,
  removableProxmoxHost,
  removeProxmoxHost,
  vmsOn,
  type ProxmoxEndpoint,
  type ProxmoxHost,
  type ProxmoxHostInput,
  type ProxmoxVm,
} from './hosts.js';
export { testProxmoxHost, type ProxmoxTestOptions, type ProxmoxTestResult, type ProxmoxVmCheck } from './test-connection.js';
