// Wake-on-LAN magic packet: 6 x 0xFF, then the target MAC 16 times (102 bytes),
// optionally followed by a 4 or 6 byte SecureOn password.

const SYNC_LENGTH = 6;
const MAC_LENGTH = 6;
const MAC_REPEATS = 16;
export const MAGIC_PACKET_LENGTH = SYNC_LENGTH + MAC_LENGTH * MAC_REPEATS;
const PASSWORD_LENGTHS = [4, 6];

export interface MagicPacket {
  /** Target MAC, lower-case, colon separated. */
  mac: string;
  /** SecureOn password as colon-separated hex, or null when the packet carries none. */
  password: string | null;
}

const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');

/** Parses a MAC in `aa:bb:cc:dd:ee:ff` or `aa-bb-...` form; throws on anything else. */
export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== MAC_LENGTH || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`not a MAC address: ${mac}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** The magic packet a WoL sender puts on the wire for `mac` (and optional SecureOn password). */
export function buildMagicPacket(mac: string, password?: Uint8Array): Buffer {
  if (password && !PASSWORD_LENGTHS.includes(password.length)) {
    throw new Error(`SecureOn password must be 4 or 6 bytes, got ${password.length}`);
  }
  const macBytes = macToBytes(mac);
  const packet = Buffer.alloc(MAGIC_PACKET_LENGTH + (password?.length ?? 0), 0xff);
  for (let i = 0; i < MAC_REPEATS; i++) packet.set(macBytes, SYNC_LENGTH + i * MAC_LENGTH);
  if (password) packet.set(password, MAGIC_PACKET_LENGTH);
  return packet;
}

/** Returns the MAC (and password) a valid magic packet wakes, or null for anything else. */
export function parseMagicPacket(data: Uint8Array): MagicPacket | null {
  const extra = data.length - MAGIC_PACKET_LENGTH;
  // Some senders repeat the MAC more than 16 times (community.general.wakeonlan: 20); NICs wake on those too.
  const moreCopies = extra > MAC_LENGTH && extra % MAC_LENGTH === 0;
  if (extra !== 0 && !PASSWORD_LENGTHS.includes(extra) && !moreCopies) return null;
  for (let i = 0; i < SYNC_LENGTH; i++) if (data[i] !== 0xff) return null;
  const mac = data.subarray(SYNC_LENGTH, SYNC_LENGTH + MAC_LENGTH);
  const copies = moreCopies ? MAC_REPEATS + extra / MAC_LENGTH : MAC_REPEATS;
  for (let rep = 1; rep < copies; rep++) {
    const start = SYNC_LENGTH + rep * MAC_LENGTH;
    for (let i = 0; i < MAC_LENGTH; i++) if (data[start + i] !== mac[i]) return null;
  }
  return {
    mac: toHex(mac),
    password: extra === 0 || moreCopies ? null : toHex(data.subarray(MAGIC_PACKET_LENGTH)),
  };
}

/** True when `data` is a valid magic packet addressed to `mac`. */
export function isMagicPacketFor(data: Uint8Array, mac: string): boolean {
  return parseMagicPacket(data)?.mac === toHex(macToBytes(mac));
}
