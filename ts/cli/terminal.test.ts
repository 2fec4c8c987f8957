// What mko shows on a terminal cannot drive it: control characters in stored values or in what
// nodes report come out as visible escapes, free text with them is refused at input, and the
// `ups add` lines offered by `ups scan` carry nothing a node planted.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/index.js';
import { insertNode, validateNodeInput } from '../fleet/index.js';
import { storeReports, type HardwareReport } from '../hardware/index.js';
import { projectRoot } from '../paths.js';
import { addCommandFor, parseScannerOutput } from '../power/index.js';
import { secretsFile } from '../secrets/index.js';
import { buildCli, mkoBin as mko, snapshotState } from '../test-support/cli.js';
import { details, table, terminalText } from './output.js';

/** ESC [2J clears the screen; CSI (U+009B) is the one-character ESC [; CR rewrites the line. */
const HOSTILE = 'ok\u001b[2J\u009b31m\rfake\u0007';
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('terminalText', () => {
  it('shows control characters as escapes, keeping newlines unless asked for one line', () => {
    expect(terminalText(HOSTILE)).toBe('ok\\x1b[2J\\x9b31m\\rfake\\x07');
    expect(terminalText('a\nb\tc')).toBe('a\nb\tc');
    expect(terminalText('a\nb\tc', { oneLine: true })).toBe('a\\nb\\tc');
    expect(terminalText('plain {{ text }} é')).toBe('plain {{ text }} é');
  });

  it('is what tables and key/value blocks print', () => {
    expect(table(['A', 'B'], [[HOSTILE, 'x\ny']])).not.toMatch(RAW_CONTROL);
    expect(table(['A', 'B'], [[HOSTILE, 'x\ny']]).split('\n')).toHaveLength(2);
    expect(details([['description', HOSTILE]])).toBe('description: ok\\x1b[2J\\x9b31m\\rfake\\x07');
  });
});

describe('ups scan suggestions from planted nut-scanner output', () => {
  const scanned = parseScannerOutput(
    [
      '[nutdev1]',
      '\tdriver = "usbhid-ups"',
      `\tport = "{{lookup('pipe','id')}}"`,
      '[nutdev2]',
      '\tdriver = "usbhid-ups"',
      '\tport = "auto"',
      `\tvendor = "APC${'\u001b'}[2J"`,
      '[nutdev3]',
      '\tdriver = "usbhid-ups"',
      '\tport = "$(id)"',
      "\tvendorid = \"051d';id;'\"",
      '\tvendor = "American Power Conversion"',
      '[nutdev4]',
      '\tdriver = "usbhid-ups"',
      '\tport = "auto"',
      '\tvendorid = "{{7*7}}"',
    ].join('\n'),
  );

  it('offers no line for a template or a control character, and says why with the value escaped', () => {
    const [templated, controlled] = scanned.map((d, i) => addCommandFor(d, 'pi1', i));
    expect(templated).toEqual({ rejected: expect.stringMatching(/^"nutdev1" not offered: nut-scanner reported invalid --port .*Ansible would run it as a template\)$/) });
    expect(controlled).toEqual({ rejected: '"nutdev2" not offered: nut-scanner reported invalid --description "APC\\u001b[2J": must be one line of text without control characters' });
  });

  it('shell-quotes what it offers, so a planted command substitution stays a word', () => {
    expect(addCommandFor(scanned[2]!, 'pi1', 2)).toEqual({
      command: `mko ups add ups3 --host pi1 --driver usbhid-ups --port '$(id)' --option 'vendorid=051d'\\'';id;'\\''' --description 'American Power Conversion'`,
    });
  });

  it('offers driver option values as the free text ups add takes, quoted (they reach Ansible as data)', () => {
    expect(addCommandFor(scanned[3]!, 'pi1', 3)).toEqual({ command: `mko ups add ups4 --host pi1 --driver usbhid-ups --port auto --option 'vendorid={{7*7}}'` });
  });
});

describe('the built CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => execa(mko, args, { env, reject: false, all: true });

  beforeAll(async () => {
    await buildCli();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mko-us-term-'));
    env = { MKO_DB: path.join(dir, 'mko.db') };
    const db = openDb(env['MKO_DB'] as string);
    try {
      const node = insertNode(db, validateNodeInput({ hostname: 'pi1', address: '10.0.0.1', sshUser: 'root' }), null);
      const collector = path.join(projectRoot, 'collections', 'ansible_collections', 'mko', 'fleet', 'plugins', 'module_utils', 'hardware_collect.py');
      const report = JSON.parse((await execa('python3', [collector])).stdout) as HardwareReport;
      report.cpu.model = `Evil CPU${HOSTILE}`;
      storeReports(db, [{ nodeId: node.id, report }], null);
    } finally {
      db.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses control characters and newlines in free text, naming the option, and changes nothing', async () => {
    await run('cluster', 'add', 'home');
    await run('ups', 'add', 'u0', '--host', 'pi1');
    const before = snapshotState(env['MKO_DB'] as string, secretsFile(dir));
    const cases: [string[], RegExp][] = [
      [['cluster', 'add', 'c1', '--description', `a${HOSTILE}`], /^mko: invalid --description "aok\\u001b\[2J.*": must be one line of text without control characters$/],
      [['cluster', 'update', 'home', '--description', 'two\nlines'], /^mko: invalid --description "two\\nlines": must be one line of text without control characters$/],
      [['node', 'add', '--hostname', 'pi2', '--ip', '10.0.0.2', '--user', 'root', '--label', `note=${HOSTILE}`], /^mko: invalid --label .*: must be one line of text without control characters$/],
      [['ups', 'add', 'u1', '--host', 'pi1', '--description', `UPS${'\u009b'}2J`], /^mko: invalid --description .*: must be one line of text without control characters$/],
      [['ups', 'add', 'u1', '--host', 'pi1', '--option', `desc=a${'\u001b'}`], /^mko: invalid --option .*: must be .*$/],
      [['ups', 'add', 'u1', '--host', 'pi1', '--port', `/dev/tty${'\u001b'}`], /^mko: invalid --port .*: must be one line of text without control characters$/],
      [['cluster', 'add', 'c1', '--addons', 'metallb:{%raw%}'], /^mko: invalid --addons .*: must be free of "\{\{", "\{%" and "\{#" \(Ansible would run it as a template\)$/],
    ];
    for (const [args, error] of cases) {
      const result = await run(...args);
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(error);
      expect(result.stderr).not.toMatch(RAW_CONTROL);
    }
    expect(snapshotState(env['MKO_DB'] as string, secretsFile(dir))).toEqual(before);
  });

  it('escapes control characters already stored, or reported by a node, in every listing', async () => {
    // Stored by an older mko, or written to the database by someone else.
    const db = new Database(env['MKO_DB'] as string);
    try {
      db.prepare("UPDATE clusters SET description = ? WHERE name = 'home'").run(HOSTILE);
      db.prepare("UPDATE nodes SET labels = ? WHERE hostname = 'pi1'").run(JSON.stringify({ note: HOSTILE }));
      db.prepare("UPDATE upses SET description = ? WHERE name = 'u0'").run(HOSTILE);
    } finally {
      db.close();
    }
    for (const args of [['cluster', 'show', 'home'], ['cluster', 'list'], ['node', 'show', 'pi1'], ['ups', 'list'], ['hardware', 'show', 'pi1'], ['hardware', 'show', 'pi1', '--json'], ['node', 'list', '--json']]) {
      const result = await run(...args);
      expect(result.exitCode, `${args.join(' ')}: ${result.all}`).toBe(0);
      expect(result.stdout, args.join(' ')).not.toMatch(RAW_CONTROL);
    }
    expect((await run('hardware', 'show', 'pi1')).stdout).toContain('Evil CPUok\\x1b[2J\\x9b31m\\rfake\\x07');
    expect((await run('ups', 'list')).stdout).toContain('ok\\x1b[2J\\x9b31m\\rfake\\x07');
  });
});
