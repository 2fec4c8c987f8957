// The lab: real systemd hosts (systemd-nspawn in network namespaces on a lab bridge) reached over
// SSH, powered off by themselves and powered on only by Wake-on-LAN.
//
// Why this is TypeScript and not Ansible: the lab builds the test hosts themselves, the machines
// Ansible then targets. It makes the network namespaces and the bridge, the hosts' root filesystem,
// starts each host as a systemd-nspawn process (its power: the host is off when it exits) and runs
// the Wake-on-LAN "firmware" listener, a detached process that powers a host on when a magic packet
// for it arrives. None of that is configuration of a reachable host, which is what a role does; the
// roles are tested against these hosts exactly as against real ones.
export { LabError } from './errors.js';
export { labDown, labStatus, labUp } from './lab.js';
export { buildMagicPacket, isMagicPacketFor, parseMagicPacket } from './magic-packet.js';
export type { MagicPacket } from './magic-packet.js';
export { powerOn } from './power.js';
export { labReset, labSnapshot } from './reset.js';
export { ROOTFS_PACKAGES } from './rootfs.js';
export { sshArgs } from './ssh.js';
export type { LabHost, LabInfo, LabOptions } from './types.js';
