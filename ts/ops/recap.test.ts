import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { HostRecap } from './operations.js';
import { exitMeaning, parseRecap } from './recap.js';

const ESC = '\u001b';
const c = (code: string, text: string): string => `${ESC}[${code}m${text}${ESC}[0m`;

/** One recap line the way ansible-core's default callback prints it (colour optional). */
function recapLine(host: string, r: HostRecap, colour: boolean): string {
  const field = (lead: string, n: number, code: string): string => {
    const text = `${lead}=${String(n).padEnd(4)}`;
    return colour && n !== 0 ? c(code, text) : text;
  };
  const hostCode = r.failed || r.unreachable ? '0;31' : r.changed ? '0;33' : '0;32';
  const name = colour ? c(hostCode, host) : host;
  return `${name.padEnd(colour ? 37 + 11 : 26)} : ${[
    field('ok', r.ok, '0;32'),
    field('changed', r.changed, '0;33'),
    field('unreachable', r.unreachable, '1;31'),
    field('failed', r.failed, '0;31'),
    field('skipped', r.skipped, '0;36'),
    field('rescued', r.rescued, '0;35'),
    field('ignored', r.ignored, '0;35'),
  ].join(' ')}`;
}

const zero: HostRecap = { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };

describe('parseRecap', () => {
  const expected: Record<string, HostRecap> = {
    'pi1.lan': { ...zero, ok: 12, changed: 3, skipped: 2 },
    pi2: { ...zero, ok: 4, failed: 1, rescued: 1, ignored: 2 },
    'fd00::10': { ...zero, unreachable: 1 },
    'node-10': { ...zero, ok: 101, changed: 100, skipped: 1000 },
  };

  for (const colour of [false, true]) {
    it(`reads every host of a recap ${colour ? 'with' : 'without'} ANSI colours`, () => {
      const output = [
        '',
        `PLAY [Install MicroK8s] ${'*'.repeat(50)}`,
        '',
        'TASK [Gathering Facts] ****',
        colour ? c('0;32', 'ok: [pi1.lan]') : 'ok: [pi1.lan]',
        colour ? c('1;31', 'fatal: [fd00::10]: UNREACHABLE! => {"changed": false, "msg": "ssh: connect to host fd00::10 port 22"}') : 'fatal: [fd00::10]: UNREACHABLE!',
        // A line shaped like a recap before the recap must not count.
        'decoy   : ok=99  changed=99  unreachable=0    failed=0    skipped=0    rescued=0    ignored=0',
        '',
        `PLAY RECAP ${'*'.repeat(60)}`,
        ...Object.entries(expected).map(([host, r]) => recapLine(host, r, colour)),
        '',
        'Playbook run took 0 days, 0 hours, 1 minutes, 3 seconds',
      ].join(colour ? '\r\n' : '\n');
      expect(parseRecap(output)).toEqual(expected);
    });
  }

  it('takes the last recap when output holds several', () => {
    const first = recapLine('pi1', { ...zero, ok: 1, failed: 1 }, true);
    const second = recapLine('pi1', { ...zero, ok: 7, changed: 2 }, true);
    const other = recapLine('pi2', { ...zero, ok: 3 }, false);
    const output = ['PLAY RECAP ***', first, other, '', 'PLAY RECAP ***', second, ''].join('\n');
    expect(parseRecap(output)).toEqual({ pi1: { ...zero, ok: 7, changed: 2 }, pi2: { ...zero, ok: 3 } });
  });

  it('gives nothing when the run ended before its recap', () => {
    expect(parseRecap('PLAY [x] ***\nTASK [y] ***\n^C [ERROR]: User interrupted execution\n')).toEqual({});
    expect(parseRecap('')).toEqual({});
  });

  it('reads the recap of a real ansible-playbook run with forced colour', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mko-recap-'));
    try {
      writeFileSync(
        path.join(dir, 'hosts.ini'),
        [
          '[local]',
          'alpha ansible_connection=local',
          'beta ansible_connection=local',
          'gamma ansible_connection=local',
          '[remote]',
          // Nothing listens on port 1: connection refused, so the host is unreachable at once.
          'delta ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh',
          '[all:vars]',
          'ansible_python_interpreter=/usr/bin/python3',
        ].join('\n'),
      );
      writeFileSync(
        path.join(dir, 'play.yml'),
        `- hosts: all
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.ping:
    - name: Change something
      ansible.builtin.command: "true"
      changed_when: true
    - name: Fail on gamma
      ansible.builtin.fail:
        msg: gamma fails
      when: inventory_hostname == 'gamma'
    - name: Fail but carry on on alpha
      ansible.builtin.fail:
        msg: ignored
      when: inventory_hostname == 'alpha'
      ignore_errors: true
    - name: Rescue on beta
      when: inventory_hostname == 'beta'
      block:
        - name: Break
          ansible.builtin.fail:
            msg: rescued
      rescue:
        - name: Recover
          ansible.builtin.debug:
            msg: recovered
    - name: Never runs
      ansible.builtin.debug:
        msg: skipped
      when: false
`,
      );
      const run = await execa('ansible-playbook', ['-i', 'hosts.ini', 'play.yml'], {
        cwd: dir,
        reject: false,
        env: { ANSIBLE_FORCE_COLOR: '1', ANSIBLE_CONFIG: path.join(dir, 'none.cfg'), ANSIBLE_HOST_KEY_CHECKING: 'false', ANSIBLE_RETRY_FILES_ENABLED: '0' },
      });
      expect(run.stdout).toContain(`${ESC}[`);
      expect(parseRecap(run.stdout)).toEqual({
        // ping and command everywhere; each "when" task (the block's too) skips where it is not for;
        // an ignored failure still counts as ok.
        alpha: { ...zero, ok: 3, changed: 1, skipped: 3, ignored: 1 },
        beta: { ...zero, ok: 3, changed: 1, skipped: 3, rescued: 1 },
        gamma: { ...zero, ok: 2, changed: 1, failed: 1 },
        delta: { ...zero, unreachable: 1 },
      });
      expect(exitMeaning(run.exitCode ?? null)).toMatch(/failed|unreachable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

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
