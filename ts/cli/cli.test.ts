// The built CLI, end to end: exit codes, one-line errors, JSON listings, help examples, and a
// database that bad input leaves exactly as it was.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../paths.js';
import { dumpDb } from '../test-support/db-dump.js';

const mko = path.join(projectRoot, 'bin', 'mko');
let dir: string;
let dbPath: string;
const run = (...args: string[]) => execa(mko, args, { env: { MKO_DB: dbPath }, reject: false, stdin: 'ignore' });

function snapshot(): { db: string; keys: string[] } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const keysDir = path.join(dir, 'keys');
    return { db: dumpDb(db), keys: existsSync(keysDir) ? readdirSync(keysDir).sort() : [] };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) await execa('npm', ['run', 'build'], { cwd: projectRoot });
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-cli-'));
  dbPath = path.join(dir, 'mko.db');
  expect((await run('cluster', 'add', 'home', '--addons', 'dns,ingress', '--default')).exitCode).toBe(0);
  expect((await run('node', 'add', '--hostname', 'pi1', '--ip', '192.168.1.10', '--user', 'ubuntu', '--cluster', 'home', '--role', 'control-plane')).exitCode).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bad input', () => {
  const cases: [string, string[], RegExp][] = [
    ['hostname', ['node', 'add', '--hostname', 'pi_2', '--ip', '192.168.1.11', '--user', 'ubuntu'], /--hostname "pi_2": must be a hostname/],
    ['address', ['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1', '--user', 'ubuntu'], /--ip "192.168.1": must be an IPv4 or IPv6 address/],
    ['port', ['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1.11', '--user', 'ubuntu', '--port', '70000'], /--port 70000: must be a port number from 1 to 65535/],
    ['user', ['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1.11', '--user', 'Bad User'], /--user "Bad User": must be a Unix user name/],
    ['mac', ['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1.11', '--user', 'ubuntu', '--mac', '00:11:22:33:44'], /--mac "00:11:22:33:44": must be a MAC address/],
    ['unknown cluster', ['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1.11', '--user', 'ubuntu', '--cluster', 'nope'], /--cluster "nope" does not exist/],
    ['duplicate node', ['node', 'add', '--hostname', 'PI1', '--ip', '192.168.1.12', '--user', 'ubuntu'], /node PI1 already exists/],
    ['duplicate address', ['node', 'add', '--hostname', 'pi9', '--ip', '192.168.1.10', '--user', 'ubuntu'], /--ip 192.168.1.10 is already used by node pi1/],
    ['channel', ['cluster', 'add', 'lab', '--channel', '1.31'], /--channel "1.31": must be a MicroK8s snap channel like 1.31\/stable/],
    ['cluster name', ['cluster', 'add', 'lab one'], /invalid cluster name "lab one": must be a name of up to 63/],
    ['duplicate cluster', ['cluster', 'add', 'HOME'], /cluster HOME already exists/],
    ['addons', ['cluster', 'update', 'home', '--addons', 'dns;rm -rf /'], /--addons .*must be a comma-separated list/],
    ['role', ['cluster', 'assign', 'home', 'pi1', '--role', 'master'], /Invalid values|--role/],
    ['existing key missing', ['node', 'add', '--hostname', 'pi3', '--ip', '192.168.1.13', '--user', 'ubuntu', '--no-generate-ssh-key', '--ssh-key', '/nonexistent/key'], /--ssh-key \/nonexistent\/key does not exist/],
    ['confirmation', ['node', 'remove', 'pi1'], /not confirmed; pass --yes/],
    ['operation limit', ['operation', 'list', '--limit', '0'], /--limit 0: must be a whole number/],
    ['unknown node', ['node', 'show', 'ghost'], /no node "ghost"/],
  ];
  it.each(cases)('%s: one line on stderr, exit 1, database and keys unchanged', async (_name, args, message) => {
    const before = snapshot();
    const result = await run(...args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.startsWith('mko: ')).toBe(true);
    if (!result.stderr.includes('Run with --help')) expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(snapshot()).toEqual(before);
  });

  it('refuses a database newer than the code, and leaves it alone', async () => {
    const newer = path.join(dir, 'newer.db');
    const db = new Database(newer);
    db.pragma('user_version = 999');
    db.close();
    const before = readFileSync(newer);
    const result = await execa(mko, ['node', 'list'], { env: { MKO_DB: newer }, reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/schema version 999 is newer than this mko/);
    expect(readFileSync(newer).equals(before)).toBe(true);
  });
});

describe('listings and help', () => {
  it('prints aligned tables and parseable --json', async () => {
    const table = (await run('node', 'list')).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+HOSTNAME\s+ADDRESS/);
    expect(table[1]?.indexOf('pi1')).toBe(table[0]?.indexOf('HOSTNAME'));
    for (const args of [['node', 'list'], ['cluster', 'list'], ['operation', 'list'], ['node', 'ssh-status'], ['migrate', 'status']]) {
      const result = await run(...args, '--json');
      expect(result.exitCode, args.join(' ')).toBe(0);
      expect(() => JSON.parse(result.stdout) as unknown, args.join(' ')).not.toThrow();
    }
    const nodes = JSON.parse((await run('node', 'list', '--json')).stdout) as { hostname: string; cluster: string }[];
    expect(nodes).toEqual([expect.objectContaining({ hostname: 'pi1', cluster: 'home' })]);
  });

  it('names nodes and clusters by id or by name', async () => {
    expect((await run('node', 'show', '1')).stdout).toContain('pi1');
    expect((await run('cluster', 'show', '1')).stdout).toContain('home');
    expect((await run('cluster', 'show', 'HOME')).stdout).toContain('pi1');
  });

  it('has an example in the --help of every command', async () => {
    // Every group and command, as the CLI itself lists them: a new command cannot be missed.
    const groups = [...(await run('--help')).stdout.matchAll(/^ {2}mko (\S+) <command>/gm)].map((m) => m[1] ?? '');
    expect(groups).toEqual(expect.arrayContaining(['node', 'cluster', 'operation', 'inventory', 'migrate', 'lab', 'scenario']));
    const commands: string[] = [];
    for (const group of groups) {
      const listed = [...(await run(group, '--help')).stdout.matchAll(new RegExp(`^ {2}mko ${group} (\\S+)`, 'gm'))].map((m) => m[1] ?? '');
      expect(listed.length, group).toBeGreaterThan(0);
      commands.push(...listed.map((c) => `${group} ${c}`));
    }
    expect(commands).toEqual(expect.arrayContaining(['node add', 'node test-ssh', 'cluster configure-hosts', 'operation show', 'inventory export', 'migrate run']));
    // Four at a time: about 60 mko starts, which a loaded 2-core machine runs at ~1 s each.
    for (let i = 0; i < commands.length; i += 4) {
      const batch = commands.slice(i, i + 4);
      const results = await Promise.all(batch.map((command) => run(...command.split(' '), '--help')));
      results.forEach((result, j) => {
        expect(result.exitCode, batch[j]).toBe(0);
        expect(result.stdout, batch[j]).toContain('Examples:');
      });
    }
  }, 180_000);
});

describe('keys and instructions', () => {
  it('rotates a key only with --force (or a confirmation), keeping the old one retired', async () => {
    const before = JSON.parse((await run('node', 'show', 'pi1', '--json')).stdout) as { sshKeyFingerprint: string };
    expect((await run('node', 'regenerate-ssh-key', 'pi1')).exitCode).toBe(1);
    const rotated = await run('node', 'regenerate-ssh-key', 'pi1', '--force');
    expect(rotated.exitCode).toBe(0);
    const after = JSON.parse((await run('node', 'show', 'pi1', '--json')).stdout) as { sshKeyFingerprint: string; sshKeyStatus: string };
    expect(after.sshKeyFingerprint).not.toBe(before.sshKeyFingerprint);
    expect(after.sshKeyStatus).toBe('generated');
    expect(rotated.stdout).toContain(after.sshKeyFingerprint);
    expect(readdirSync(path.join(dir, 'keys', 'retired')).length).toBe(2);
  });

  it('writes the instructions as Markdown, and never prints a private key', async () => {
    const file = path.join(dir, 'pi1.md');
    expect((await run('node', 'instructions', 'pi1', '-o', file)).exitCode).toBe(0);
    const markdown = readFileSync(file, 'utf8');
    expect(markdown).toMatch(/^# Set up pi1 for mko/);
    expect(markdown).toContain('```sh\ninstall -d -m 700 ~/.ssh');
    expect(markdown).toContain('visudo -cf');
    expect(markdown).toContain('ssh-copy-id -i');
    const text = (await run('node', 'instructions', 'pi1')).stdout + (await run('inventory', 'list')).stdout;
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('exports a static inventory that ansible-inventory reads', async () => {
    const file = path.join(dir, 'fleet.yml');
    expect((await run('inventory', 'export', '-o', file)).stdout).toContain('(1 hosts)');
    const graph = await execa('ansible-inventory', ['-i', file, '--graph']);
    expect(graph.stdout).toMatch(/@cluster_home__control_plane:\n\s+\|  \|  \|--pi1/);
  });
});

describe('migrations', () => {
  it('reports status and backs up before running', async () => {
    const fresh = path.join(dir, 'old.db');
    const db = new Database(fresh);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    const env = { MKO_DB: fresh };
    expect((await execa(mko, ['migrate', 'status'], { env })).stdout).toMatch(/schema version 0 of \d+/);
    expect((await execa(mko, ['migrate', 'run', '--dry-run'], { env })).stdout).toMatch(/Would apply: 1_fleet/);
    expect((await execa(mko, ['migrate', 'status'], { env })).stdout).toMatch(/schema version 0/);
    const applied = await execa(mko, ['migrate', 'run'], { env });
    expect(applied.stdout).toMatch(/Applied 1_fleet.*: schema version 0 -> \d+/);
    const backup = /Backup: (\S+)/.exec(applied.stdout)?.[1] ?? '';
    expect(existsSync(backup)).toBe(true);
    expect((await execa(mko, ['migrate', 'status'], { env })).stdout).toContain('Up to date');
  });
});
