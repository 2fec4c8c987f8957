// Every name and address of a lab is derived from the lab name, so `down` and `status` can find
// what `up` made even without the state file. Pure functions only.
import { createHash } from 'node:crypto';
import { LabError } from './errors.js';

export const MAX_NODES = 50;
/** The lab's own cgroups, netns and links all start with these, followed by the lab name/tag. */
const CGROUP_PREFIX = 'mko-lab-';
const NETNS_PREFIX = 'mko-';
const BRIDGE_PREFIX = 'mko-';
const VETH_PREFIX = 'mv-';
/** Private range the labs use: 10.213.<n>.0/24, one <n> per lab. */
const SUBNET_BASE = [10, 213] as const;
const FIRST_HOST_OCTET = 10;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export function validateLabName(name: string): void {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name) || name.endsWith('-')) {
    throw new LabError(
      `invalid lab name "${name}": use 1-40 lower-case letters, digits and dashes, starting with a letter`,
    );
  }
}

export function validateNodeCount(nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw new LabError(`invalid node count ${nodes}: a lab has 1 to ${MAX_NODES} hosts`);
  }
}

/**
 * Up to 8 characters that name the lab inside interface names (limit 15). Long names are cut and
 * hashed; the `_` cannot occur in a lab name, so a cut tag never equals a short name.
 */
export function labTag(name: string): string {
  return name.length <= 8 ? name : `${name.slice(0, 2)}_${digest(name).toString('hex').slice(0, 5)}`;
}

export const bridgeName = (name: string): string => `${BRIDGE_PREFIX}${labTag(name)}`;
export const hostName = (name: string, index: number): string => `${name}-n${index}`;
export const netnsName = (name: string, index: number): string => `${NETNS_PREFIX}${name}-n${index}`;
export const vethName = (name: string, index: number): string => `${VETH_PREFIX}${labTag(name)}-${index}`;
export const hostCgroup = (hostname: string): string => `${CGROUP_PREFIX}${hostname}`;
export const wolCgroup = (name: string): string => `${CGROUP_PREFIX}${name}-wol`;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Matchers for leftovers of one lab (and no other lab: `a` must not match `a-n1`'s things). */
export const leftoverPatterns = (name: string) => ({
  netns: new RegExp(`^${escapeRe(NETNS_PREFIX + name)}-n\\d+$`),
  veth: new RegExp(`^${escapeRe(VETH_PREFIX + labTag(name))}-\\d+$`),
  cgroup: new RegExp(`^${escapeRe(CGROUP_PREFIX + name)}-(n\\d+|wol)$`),
});

/** Locally administered unicast MAC `02:xx:xx:xx:ii:ii`; index 0 is the bridge. */
export function macFor(name: string, index: number): string {
  const h = digest(name);
  const bytes = [0x02, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, (index >> 8) & 0xff, index & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface LabSubnet {
  /** e.g. 10.213.42.0/24 */
  subnet: string;
  /** the bridge address, hosts' default route */
  gateway: string;
  broadcast: string;
  prefixLength: number;
}

const subnetFromOctet = (n: number): LabSubnet => {
  const base = `${SUBNET_BASE.join('.')}.${n}`;
  return { subnet: `${base}.0/24`, gateway: `${base}.1`, broadcast: `${base}.255`, prefixLength: 24 };
};

const ipToInt = (ip: string): number => {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((acc, p) => acc * 256 + p, 0);
};

/** [first, last] addresses of a CIDR (a bare address is a /32). */
export function cidrRange(cidr: string): [number, number] {
  const [ip = '', lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const size = 2 ** (32 - len);
  const first = Math.floor(ipToInt(ip) / size) * size;
  return [first, first + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
}

/**
 * The lab's /24: 10.213.<n>.0/24 with <n> from the name, moved on to the next free <n> when a
 * route of this machine (default routes aside) overlaps it.
 */
export function pickSubnet(name: string, routeDestinations: readonly string[]): LabSubnet {
  const start = digest(name).readUInt16BE(0) % 254;
  const taken = routeDestinations.filter((d) => d !== 'default');
  for (let step = 0; step < 254; step++) {
    const candidate = subnetFromOctet(((start + step) % 254) + 1);
    if (!taken.some((d) => cidrsOverlap(d, candidate.subnet))) return candidate;
  }
  throw new LabError(`no free /24 left in ${SUBNET_BASE.join('.')}.0.0/16 for lab "${name}"`);
}

/** Host <index> (1-based) of a lab subnet. */
export function hostAddress(lab: LabSubnet, index: number): string {
  return lab.subnet.replace(/\.0\/24$/, `.${FIRST_HOST_OCTET + index}`);
}
