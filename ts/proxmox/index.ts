// Virtual nodes on Proxmox VE: API endpoints with their tokens, and starting VMs.
export { insecureWarning, proxmoxClient, type ClientOptions, type ProxmoxClient } from './client.js';
export {
  addProxmoxHost,
  findProxmoxHost,
  getProxmoxHost,
  listProxmoxHosts,
  nodesUsing,
  proxmoxEndpoint,
  removableProxmoxHost,
  removeProxmoxHost,
  type ProxmoxEndpoint,
  type ProxmoxHost,
  type ProxmoxHostInput,
} from './hosts.js';
