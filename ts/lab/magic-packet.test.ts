import { describe, expect, it } from 'vitest';
import { buildMagicPacket, isMagicPacketFor, MAGIC_PACKET_LENGTH, parseMagicPacket } from './magic-packet.js';

const MAC = '02:1e:26:2c:00:02';

describe('parseMagicPacket', () => {
  it('reads the MAC of a valid 102-byte packet', () => {
    const packet = buildMagicPacket(MAC);
    expect(packet.length).toBe(MAGIC_PACKET_LENGTH);
    expect(MAGIC_PACKET_LENGTH).toBe(102);
    expect(parseMagicPacket(packet)).toEqual({ mac: MAC, password: null });
  });

  it('accepts upper-case and dash-separated MACs when building', () => {
    expect(parseMagicPacket(buildMagicPacket('02-1E-26-2C-00-02'))?.mac).toBe(MAC);
  });

  it('returns the SecureOn password of a 4 or 6 byte password packet', () => {
    const four = buildMagicPacket(MAC, Uint8Array.of(1, 2, 3, 4));
    const six = buildMagicPacket(MAC, Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0, 0xff));
    expect(four.length).toBe(106);
    expect(six.length).toBe(108);
    expect(parseMagicPacket(four)).toEqual({ mac: MAC, password: '01:02:03:04' });
    expect(parseMagicPacket(six)).toEqual({ mac: MAC, password: 'de:ad:be:ef:00:ff' });
  });

  it('rejects packets of the wrong length', () => {
    const packet = buildMagicPacket(MAC);
    expect(parseMagicPacket(packet.subarray(0, 101))).toBeNull();
    expect(parseMagicPacket(Buffer.concat([packet, Buffer.of(1)]))).toBeNull();
    expect(parseMagicPacket(Buffer.concat([packet, Buffer.alloc(5)]))).toBeNull();
    expect(parseMagicPacket(Buffer.alloc(0))).toBeNull();
  });

  it('rejects a broken sync stream', () => {
    const packet = buildMagicPacket(MAC);
    packet[3] = 0xfe;
    expect(parseMagicPacket(packet)).toBeNull();
  });

  it('rejects a packet whose 16 MAC copies differ', () => {
    const packet = buildMagicPacket(MAC);
    packet[6 + 15 * 6 + 5] = 0x03; // last byte of the last copy
    expect(parseMagicPacket(packet)).toBeNull();
  });

  it('tells a packet for another MAC from one for this MAC', () => {
    const packet = buildMagicPacket('02:1e:26:2c:00:01');
    expect(isMagicPacketFor(packet, '02:1e:26:2c:00:01')).toBe(true);
    expect(isMagicPacketFor(packet, MAC)).toBe(false);
    expect(isMagicPacketFor(buildMagicPacket(MAC, Uint8Array.of(9, 9, 9, 9)), MAC.toUpperCase())).toBe(true);
  });

  it('refuses to build packets from bad input', () => {
    expect(() => buildMagicPacket('02:1e:26:2c:00')).toThrow(/not a MAC/);
    expect(() => buildMagicPacket(MAC, Uint8Array.of(1, 2, 3))).toThrow(/4 or 6 bytes/);
  });
});
