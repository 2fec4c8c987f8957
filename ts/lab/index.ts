// The lab: real systemd hosts (systemd-nspawn in network namespaces on a lab bridge) reached over
// SSH, powered off by themselves and powered on only by Wake-on-LAN.
export { LabError } from './errors.js';
export { labDown, labStatus, labUp } from './lab.js';
export { buildMagicPacket, isMagicPacketFor, parseMagicPacket } from './magic-packet.js';
export type { MagicPacket } from './magic-packet.js';
export { powerOn } from './power.js';
export { labReset, labSnapshot } from './reset.js';
export { ROOTFS_PACKAGES } from './rootfs.js';
export { sshArgs } from './ssh.js';
export type { LabHost, LabInfo, LabOptions } from './types.js';
