// Wake-on-LAN: node settings and secrets, the wol role through mko (NIC support, MACs, RTC
// alarms, waking), and the status of it all.
//
// Behaviour lives in the wol role and the mko.fleet collection: sending magic packets (with
// SecureOn), starting Proxmox VMs and waiting for their tasks, waiting for SSH, finding the NIC
// that carries a node's address. What stays here is what Ansible cannot own: the database (each
// node's settings, its last wake, the NIC as last seen), the secrets store (wakeSecrets reads
// SecureOn passwords and Proxmox tokens and hands them to a run as extra vars in its 0600 file,
// never the inventory), validating what users type, and turning the role's per-node reports into
// results and operations.
export { collectMacs, macFromReport, type CollectMacResult, type MacOutcome, type MacSource } from './collect-mac.js';
export { configFlags, configureWol, numberOrText, wolConfigOf, wolConfigSchema, type WolConfig, type WolConfigInput } from './configure.js';
export { parseWolReport, runWolPlaybook, setWakeOnLan, type HostNicOutcome, type NicRunOptions, type NicRunResult, type WolReport } from './nic.js';
export { setRtcAlarm, type RtcAlarmResult } from './rtc.js';
export { getWolSettings, WOL_METHODS, type LastWake, type NicState, type WakeOutcome, type WolMethod, type WolSettings } from './settings.js';
export { wolStatus, type ClusterWolState, type ClusterWolSummary, type NodeWolStatus, type WolStatus } from './status.js';
export { wakeCluster, wakeNode, type NodeWake, type WakeOptions, type WakeResult } from './wake-run.js';
export { wakeSecrets, type WakeSecrets } from './wake-secrets.js';
