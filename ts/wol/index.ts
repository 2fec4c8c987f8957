// Wake-on-LAN: node settings and secrets, the wol role through mko (NIC support, MACs, RTC
// alarms), waking nodes by magic packet or through Proxmox, and the status of it all.
export { collectMacs, directedBroadcast, macFromReport, type CollectMacResult, type MacOutcome, type MacSource } from './collect-mac.js';
export { configFlags, configureWol, numberOrText, wolConfigOf, type WolConfig, type WolConfigInput } from './configure.js';
export { parseWolReport, runWolPlaybook, setWakeOnLan, type HostNicOutcome, type NicRunOptions, type NicRunResult, type WolReport } from './nic.js';
export { setRtcAlarm, type RtcAlarmResult } from './rtc.js';
export { getWolSettings, WOL_METHODS, type LastWake, type NicState, type WakeOutcome, type WolMethod, type WolSettings } from './settings.js';
export { wolStatus, type ClusterWolState, type ClusterWolSummary, type NodeWolStatus, type WolStatus } from './status.js';
export { wakeCluster, wakeNode, type NodeWake, type WakeOptions, type WakeResult } from './wake-run.js';
export { wakeSecrets, type WakeSecrets } from './wake-secrets.js';
