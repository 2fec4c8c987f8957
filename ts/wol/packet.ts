// Sending the magic packet from this machine with node:dgram. The packet format is shared with
// the lab's firmware, which parses what this sends (ts/lab/magic-packet.ts, a pure module).
import { createSocket } from 'node:dgram';
import { buildMagicPacket } from '../lab/magic-packet.js';

export interface MagicPacketTarget {
  mac: string;
  /** Where the packet goes: the node's directed broadcast (e.g. 192.168.1.255), as configured. */
  broadcast: string;
  port: number;
  /** SecureOn password, 4 or 6 bytes. */
  password?: Uint8Array;
}

/** A SecureOn password written as 4 or 6 hex bytes (aa:bb:cc:dd[:ee:ff]), as bytes. */
export function secureOnBytes(text: string): Uint8Array {
  return Uint8Array.from(text.split(':'), (byte) => parseInt(byte, 16));
}

/**
 * Send one magic packet. The address is the caller's configured one, never a default: the
 * limited broadcast 255.255.255.255 leaves through a single interface of this machine's choosing.
 */
export function sendMagicPacket(target: MagicPacketTarget): Promise<void> {
  const packet = buildMagicPacket(target.mac, target.password);
  const socket = createSocket({ type: 'udp4' });
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, () => {
      socket.setBroadcast(true);
      socket.send(packet, target.port, target.broadcast, (error) => (error ? reject(error) : resolve()));
    });
  }).finally(() => socket.close());
}
