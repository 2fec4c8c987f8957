import { describe, expect, it } from 'vitest';
import { exitMeaning } from './exit-meaning.js';

describe('exitMeaning', () => {
  it.each([
    [0, /^ok$/],
    [1, /error/],
    [2, /hosts failed/],
    [4, /unreachable/],
    [8, /stopped the play/],
    [99, /interrupted/],
    [250, /unexpected/],
  ] as const)('explains exit code %s', (code, meaning) => {
    expect(exitMeaning(code)).toMatch(meaning);
  });

  it('explains a combination of failure bits with every part', () => {
    const meaning = exitMeaning(10);
    expect(meaning).toMatch(/hosts failed/);
    expect(meaning).toMatch(/stopped the play/);
    expect(meaning).not.toMatch(/unreachable/);
  });

  it('says when ansible-playbook was killed instead of exiting', () => {
    expect(exitMeaning(null)).toMatch(/signal/);
  });

  it('gives every code a distinct, non-empty meaning', () => {
    const codes = [0, 1, 2, 4, 8, 10, 99, 250];
    const meanings = codes.map((code) => exitMeaning(code));
    for (const m of meanings) expect(m.length).toBeGreaterThan(1);
    expect(new Set([...meanings, exitMeaning(null)]).size).toBe(codes.length + 1);
  });
});
