import { describe, expect, it } from 'vitest';
import { REDACTED, redactArgs, scrub } from './redact.js';

const SECRET = 'hunter2-s3cret';

/** No stored argument may contain the secret, whatever shape it was passed in. */
function expectNoSecret(args: string[]): void {
  for (const arg of args) expect(arg).not.toContain(SECRET);
}

describe('redactArgs', () => {
  it('hides secret-looking key=value extra vars and keeps the rest', () => {
    const out = redactArgs(['ansible-playbook', '-e', `nut_password=${SECRET} ups_name=rack`, 'site.yml']);
    expect(out).toEqual(['ansible-playbook', '-e', `nut_password=${REDACTED} ups_name=rack`, 'site.yml']);
  });

  it('hides every secret-looking key the pattern names', () => {
    for (const key of ['admin_pass', 'api_secret', 'proxmox_token', 'ssh_key', 'db_pwd', 'cloud_credential', 'NUT_PASSWORD']) {
      const out = redactArgs(['--extra-vars', `${key}=${SECRET}`]);
      expect(out).toEqual(['--extra-vars', `${key}=${REDACTED}`]);
    }
    expect(redactArgs(['-e', 'cluster=home'])).toEqual(['-e', 'cluster=home']);
  });

  it('hides secrets inside --extra-vars=<JSON> and keeps other values and types', () => {
    const out = redactArgs([`--extra-vars={"proxmox_token":"${SECRET}","a":1}`]);
    expect(out).toHaveLength(1);
    expect(out[0]?.startsWith('--extra-vars=')).toBe(true);
    expect(JSON.parse(out[0]?.slice('--extra-vars='.length) ?? '')).toEqual({ proxmox_token: REDACTED, a: 1 });
  });

  it('hides secrets nested in JSON, including lists and objects under a secret key', () => {
    const json = JSON.stringify({ nut: { ups_password: SECRET, name: 'rack' }, api_tokens: [SECRET], proxmox_token: { id: 'me', value: SECRET } });
    const out = redactArgs(['-e', json]);
    expectNoSecret(out);
    expect(JSON.parse(out[1] ?? '')).toEqual({ nut: { ups_password: REDACTED, name: 'rack' }, api_tokens: REDACTED, proxmox_token: REDACTED });
  });

  it('hides the whole of a quoted value with spaces', () => {
    const out = redactArgs(['-e', `nut_password="${SECRET} more words" ups_name=rack`]);
    expectNoSecret(out);
    expect(out[1]).not.toContain('more words');
    expect(out[1]).toContain('ups_name=rack');
    const single = redactArgs(['-e', `nut_password='${SECRET} x'`]);
    expectNoSecret(single);
    expect(single[1]).not.toContain(' x');
    const unbalanced = redactArgs(['-e', `nut_password="${SECRET} x`]);
    expectNoSecret(unbalanced);
    expect(unbalanced[1]).not.toContain(' x');
  });

  it('redacts unparseable JSON whole', () => {
    expect(redactArgs(['-e', `{"nut_password": "${SECRET}"`])).toEqual(['-e', REDACTED]);
  });

  it('hides password files, in both spellings of the option', () => {
    expect(redactArgs(['--vault-password-file', 'f', 'site.yml'])).toEqual(['--vault-password-file', REDACTED, 'site.yml']);
    expect(redactArgs(['--become-password-file', '/root/.pw'])).toEqual(['--become-password-file', REDACTED]);
    expect(redactArgs(['--connection-password-file', '/root/.pw'])).toEqual(['--connection-password-file', REDACTED]);
    expect(redactArgs(['--vault-password-file=/root/.vault'])).toEqual([`--vault-password-file=${REDACTED}`]);
  });

  it('hides secrets in -e with the value attached', () => {
    for (const arg of [`-enut_password=${SECRET}`, `-e=nut_password=${SECRET}`]) {
      const out = redactArgs([arg]);
      expectNoSecret(out);
      expect(out[0]).toContain(`nut_password=${REDACTED}`);
    }
  });

  it('keeps @vars files, plain options and a trailing -e as they are', () => {
    const args = ['-i', 'inventories/mko', '-e', '@vars.yml', '--extra-vars=@secrets.yml', '--limit', 'pi1', '--check', '-e'];
    expect(redactArgs(args)).toEqual(args);
  });

  it('does not modify its input', () => {
    const args = ['-e', `nut_password=${SECRET}`];
    const copy = [...args];
    redactArgs(args);
    expect(args).toEqual(copy);
  });
});

describe('scrub', () => {
  it('replaces every occurrence of each secret', () => {
    const text = `login with ${SECRET}\nagain: ${SECRET}; other=tok3n-value`;
    expect(scrub(text, [SECRET, 'tok3n-value'])).toBe(`login with ${REDACTED}\nagain: ${REDACTED}; other=${REDACTED}`);
  });

  it('leaves text without secrets alone and ignores values too short to be secrets', () => {
    expect(scrub('nothing to see', [SECRET])).toBe('nothing to see');
    expect(scrub('a b c abc', ['abc', '', 'a'])).toBe('a b c abc');
    expect(scrub('abcd', ['abcd'])).toBe(REDACTED);
  });

  it('hides the longer of two overlapping secrets completely', () => {
    expect(scrub(`pw=${SECRET}`, ['hunter2', SECRET])).toBe(`pw=${REDACTED}`);
    expect(scrub(`pw=${SECRET}`, [SECRET, 'hunter2'])).toBe(`pw=${REDACTED}`);
  });
});
