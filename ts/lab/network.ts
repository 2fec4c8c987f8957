// The lab network: one bridge with the lab's /24, per host a netns with a veth whose inside end
// is eth0 (fixed MAC, address, default route via the bridge). Nothing is connected to the
// machine's real interfaces; forwarding is switched off on the bridge itself (ip_forward is
// left as it is).
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { LabSubnet } from './naming.js';

const ip = (...args: string[]) => execa('ip', args);

const setSysctl = (key: string, value: string) =>
  writeFile(`/proc/sys/${key.replaceAll('.', '/')}`, value).catch(() => undefined);

/** Destinations of every IPv4 route on this machine, all tables. */
export async function routeDestinations(): Promise<string[]> {
  const { stdout } = await ip('-j', '-4', 'route', 'show', 'table', 'all');
  return (JSON.parse(stdout || '[]') as Array<{ dst: string }>).map((r) => r.dst);
}

export async function linkNames(): Promise<string[]> {
  const { stdout } = await ip('-j', 'link', 'show');
  return (JSON.parse(stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname);
}

export async function netnsNames(): Promise<string[]> {
  const { stdout } = await ip('netns', 'list');
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

export async function createBridge(bridge: string, mac: string, lab: LabSubnet): Promise<void> {
  await ip('link', 'add', 'name', bridge, 'address', mac, 'type', 'bridge');
  await setSysctl(`net.ipv6.conf.${bridge}.disable_ipv6`, '1');
  await setSysctl(`net.ipv4.conf.${bridge}.forwarding`, '0');
  await ip('addr', 'add', `${lab.gateway}/${lab.prefixLength}`, 'broadcast', lab.broadcast, 'dev', bridge);
  await ip('link', 'set', bridge, 'up');
}

export interface HostLink {
  netns: string;
  veth: string;
  mac: string;
  address: string;
}

export async function createHostLink(bridge: string, lab: LabSubnet, host: HostLink): Promise<void> {
  const inNs = (...args: string[]) => ip('-n', host.netns, ...args);
  await ip('netns', 'add', host.netns);
  await ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'address', host.mac, 'netns', host.netns);
  await setSysctl(`net.ipv6.conf.${host.veth}.disable_ipv6`, '1');
  await ip('link', 'set', host.veth, 'master', bridge, 'up');
  await inNs('addr', 'add', `${host.address}/${lab.prefixLength}`, 'broadcast', lab.broadcast, 'dev', 'eth0');
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', 'eth0', 'up');
  await inNs('route', 'add', 'default', 'via', lab.gateway);
}

/** Deletes a link if present; a veth is deleted explicitly (netns cleanup is asynchronous). */
export async function deleteLink(name: string): Promise<void> {
  await execa('ip', ['link', 'del', name], { reject: false });
}

export async function deleteNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'del', name], { reject: false });
}
