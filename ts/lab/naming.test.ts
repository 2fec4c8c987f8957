import { describe, expect, it } from 'vitest';
import { LabError } from './errors.js';
import {
  bridgeName, cidrsOverlap, hostAddress, labTag, leftoverPatterns, macFor, netnsName, pickSubnet,
  validateLabName, validateNodeCount, vethName,
} from './naming.js';

describe('lab names', () => {
  it('accepts short DNS-style names and refuses others with a LabError', () => {
    expect(() => validateLabName('demo-1')).not.toThrow();
    for (const bad of ['', 'Demo', '1demo', 'demo-', 'de_mo', 'a'.repeat(41)]) {
      expect(() => validateLabName(bad)).toThrow(LabError);
    }
    expect(() => validateNodeCount(0)).toThrow(LabError);
    expect(() => validateNodeCount(2.5)).toThrow(LabError);
    expect(() => validateNodeCount(3)).not.toThrow();
  });

  it('keeps every interface name within 15 characters and distinct per lab', () => {
    const long = 'a-rather-long-lab-name-for-testing';
    for (const name of ['x', 'demo', 'abcdefgh', long, `${long}2`]) {
      expect(bridgeName(name).length).toBeLessThanOrEqual(15);
      expect(vethName(name, 50).length).toBeLessThanOrEqual(15);
    }
    expect(labTag(long)).not.toBe(labTag(`${long}2`));
    expect(bridgeName('demo')).toBe('mko-demo');
  });

  it('matches only its own lab when looking for leftovers', () => {
    const p = leftoverPatterns('a');
    expect(p.netns.test(netnsName('a', 3))).toBe(true);
    expect(p.netns.test(netnsName('a-n1', 1))).toBe(false);
    expect(p.veth.test(vethName('a', 12))).toBe(true);
    expect(p.veth.test(vethName('ab', 1))).toBe(false);
    expect(p.cgroup.test('mko-lab-a-n2')).toBe(true);
    expect(p.cgroup.test('mko-lab-a-wol')).toBe(true);
    expect(p.cgroup.test('mko-lab-a-n1-n1')).toBe(false);
  });
});

describe('macFor', () => {
  it('derives a stable, locally administered unicast MAC per lab and host', () => {
    const mac = macFor('demo', 2);
    expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(macFor('demo', 2)).toBe(mac);
    expect(mac.endsWith(':00:02')).toBe(true);
    expect(macFor('demo', 3)).not.toBe(mac);
    expect(macFor('other', 2)).not.toBe(mac);
  });
});

describe('pickSubnet', () => {
  it('derives a 10.213.<n>.0/24 from the name, with gateway .1 and broadcast .255', () => {
    const s = pickSubnet('demo', []);
    expect(s.subnet).toMatch(/^10\.213\.([1-9]\d?|1\d\d|2[0-4]\d|25[0-4])\.0\/24$/);
    expect(s.gateway).toBe(s.subnet.replace('.0/24', '.1'));
    expect(s.broadcast).toBe(s.subnet.replace('.0/24', '.255'));
    expect(hostAddress(s, 1)).toBe(s.subnet.replace('.0/24', '.11'));
    expect(pickSubnet('demo', [])).toEqual(s);
  });

  it('moves on when a route of the machine overlaps, ignoring the default route', () => {
    const first = pickSubnet('demo', ['default', '192.0.2.0/24', '192.0.2.2']);
    expect(first).toEqual(pickSubnet('demo', []));
    const moved = pickSubnet('demo', [first.subnet]);
    expect(moved.subnet).not.toBe(first.subnet);
    expect(() => pickSubnet('demo', ['10.0.0.0/8'])).toThrow(LabError);
    const hostRoute = first.subnet.replace('.0/24', '.77');
    expect(pickSubnet('demo', [hostRoute]).subnet).toBe(moved.subnet);
  });

  it('compares CIDRs', () => {
    expect(cidrsOverlap('10.213.5.0/24', '10.0.0.0/8')).toBe(true);
    expect(cidrsOverlap('10.213.5.0/24', '10.213.6.0/24')).toBe(false);
    expect(cidrsOverlap('10.213.5.0/24', '10.213.5.255')).toBe(true);
    expect(cidrsOverlap('0.0.0.0/0', '192.0.2.0/24')).toBe(true);
  });
});
