import { UserError } from '../errors.js';

export interface Channel {
  track: string;
  /** major.minor for numbered tracks, null for latest */
  version: { major: number; minor: number } | null;
  risk: string;
}

export function parseChannel(channel: string): Channel {
  const [track = '', risk = 'stable'] = channel.split('/');
  const match = /^(\d+)\.(\d+)/.exec(track);
  return { track, risk, version: match ? { major: Number(match[1]), minor: Number(match[2]) } : null };
}

/**
 * MicroK8s (like Kubernetes) upgrades one minor version at a time and never downgrades. Refuse
 * anything else before a node is touched.
 */
export function checkUpgrade(from: string, to: string): void {
  const a = parseChannel(from);
  const b = parseChannel(to);
  if (!a.version || !b.version) {
    throw new UserError(`--channel ${to}: upgrades need numbered tracks (like 1.32/stable), not ${!b.version ? to : from}`);
  }
  if (a.version.major !== b.version.major) throw new UserError(`--channel ${to}: a major version change from ${from} is not supported`);
  const step = b.version.minor - a.version.minor;
  if (step < 0) throw new UserError(`--channel ${to} is a downgrade from ${from}: MicroK8s cannot be downgraded`);
  if (step > 1) {
    throw new UserError(
      `--channel ${to} skips ${step - 1} minor version(s) from ${from}: upgrade one minor at a time (next: ${a.version.major}.${a.version.minor + 1}/${b.risk})`,
    );
  }
}
