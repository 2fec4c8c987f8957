// The runner's blanking and the history callback's are one rule: the same texts come out the same
// from blankSecrets and from the callback's own code (its _read_secrets and _blank, run by the
// Python that runs Ansible), and no secret is left, not even the rest of one holding a shorter one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { blankSecrets, MIN_SECRET, REDACTED } from './redact.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mko-redact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const callback = path.join(projectRoot, 'collections', 'ansible_collections', 'mko', 'fleet', 'plugins', 'callback', 'history.py');
const PYTHON = `
import importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location('history', sys.argv[1])
history = importlib.util.module_from_spec(spec)
spec.loader.exec_module(history)
secrets = history._read_secrets(sys.argv[2])
fake = types.SimpleNamespace(_secrets=secrets)
texts = json.loads(sys.argv[3])
print(json.dumps({'min': history.MIN_SECRET, 'redacted': history.REDACTED, 'blanked': [history.CallbackModule._blank(fake, t) for t in texts]}))
`;

/** What the history callback makes of texts, given secrets as the runner hands them over (a JSON file). */
async function callbackBlanks(secrets: string[], texts: string[]): Promise<{ min: number; redacted: string; blanked: string[] }> {
  const file = path.join(dir, 'secrets.json');
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  const { stdout } = await execa('/usr/bin/python3', ['-c', PYTHON, callback, file, JSON.stringify(texts)]);
  return JSON.parse(stdout) as { min: number; redacted: string; blanked: string[] };
}

describe('blankSecrets', () => {
  const secrets = ['ups-pw', 'ups-pw-longer-one', 'abc', 'tok3n:secret/value'];
  const texts = [
    'ERROR! the playbook: /tmp/ups-pw-longer-one.yml could not be found',
    'fatal: [pi1]: FAILED! => {"msg": "login as upsmon with ups-pw refused"}',
    'a short abc stays, as does ups-p',
    'token tok3n:secret/value and again tok3n:secret/value',
  ];

  it('blanks as the history callback does, with its minimum length and its replacement', async () => {
    const python = await callbackBlanks(secrets, texts);
    expect(python.min).toBe(MIN_SECRET);
    expect(python.redacted).toBe(REDACTED);
    expect(texts.map((t) => blankSecrets(t, secrets))).toEqual(python.blanked);
  });

  it('leaves no secret of four characters or more, nor the rest of one that holds a shorter one', () => {
    const blanked = texts.map((t) => blankSecrets(t, secrets)).join('\n');
    for (const secret of secrets.filter((s) => s.length >= MIN_SECRET)) expect(blanked).not.toContain(secret);
    expect(blanked).not.toContain('-longer-one');
    expect(blanked).toContain('abc stays');
  });
});
