// Virtual nodes on Proxmox VE: API endpoints with their tokens (the wol role starts the VMs).
export {
  addProxmoxHost,
  findProxmoxHost,
  getProxmoxHost,
  insecureWarning,
  listProxmoxHosts,
  nodesUsing,
  proxmoxEndpoint,
  removableProxmoxHost,
  removeProxmoxHost,
  type ProxmoxEndpoint,
  type ProxmoxHost,
  type ProxmoxHostInput,
} from './hosts.js';
