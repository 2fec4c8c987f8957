import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { checkUpgrade, parseChannel } from './channel.js';

describe('channels', () => {
  it('parses numbered and latest tracks', () => {
    expect(parseChannel('1.31/stable')).toEqual({ track: '1.31', risk: 'stable', version: { major: 1, minor: 31 } });
    expect(parseChannel('1.32-strict/edge').version).toEqual({ major: 1, minor: 32 });
    expect(parseChannel('latest/edge').version).toBeNull();
  });

  it('allows the same or the next minor only', () => {
    expect(() => checkUpgrade('1.31/stable', '1.32/stable')).not.toThrow();
    expect(() => checkUpgrade('1.31/stable', '1.31/candidate')).not.toThrow();
    expect(() => checkUpgrade('1.31/stable', '1.33/stable')).toThrow(/skips 1 minor version\(s\) from 1.31\/stable: upgrade one minor at a time \(next: 1.32\/stable\)/);
    expect(() => checkUpgrade('1.31/stable', '1.30/stable')).toThrow(/is a downgrade from 1.31\/stable/);
    expect(() => checkUpgrade('1.31/stable', 'latest/stable')).toThrow(UserError);
    expect(() => checkUpgrade('1.31/stable', '2.0/stable')).toThrow(/major version/);
  });
});
