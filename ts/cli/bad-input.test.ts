// The bad-input suite: every command group given input it must refuse. Each case runs the built
// mko against a real fleet (nodes with keys, a cluster, a UPS with its password secret, a rule,
// a Proxmox host with its token) and must exit 1 with one line on stderr naming the option or
// argument, leaving the database rows and every file under the data directory byte for byte.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, mkoBin as mko, snapshotFleet } from '../test-support/cli.js';

let dir: string;
let dbPath: string;
const run = (args: string[], input?: string) =>
  execa(mko, args, { cwd: dir, env: { MKO_DB: dbPath }, reject: false, ...(input !== undefined ? { input } : { stdin: 'ignore' as const }) });

async function ok(args: string[], input?: string): Promise<string> {
  const result = await run(args, input);
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

const TOKEN_ID = 'root@pam!mko';
const long = 'x'.repeat(300);
/** node add of a new node pi9; an option in `rest` replaces its default rather than repeating it. */
const add = (...rest: string[]) => {
  const defaults: [string, string][] = [['--hostname', 'pi9'], ['--ip', '192.168.1.19'], ['--user', 'ubuntu']];
  return ['node', 'add', ...defaults.filter(([flag]) => !rest.includes(flag)).flat(), ...rest];
};
const rule = (...rest: string[]) => ['ups', 'rules', 'create', 'rack1', 'home', 'power_loss', 'graceful_shutdown', ...rest];
const proxmox = (name: string, ...rest: string[]) => ['proxmox', 'add', name, ...(rest.includes('--url') ? [] : ['--url', 'https://pve2.lan:8006']), '--token-id', TOKEN_ID, ...rest];

/** [what, argv, the one stderr line (after "mko: ")]. `<dir>` in argv is the data directory. */
const cases: [string, string[], RegExp][] = [
  // Stored strings Ansible would run as templates, and terminal control (issue 10, section 1).
  ['template in addon args', ['cluster', 'add', 'c', '--addons', 'dns:{{7*7}}'], /^invalid --addons .*must be free of "\{\{", "\{%" and "\{#"/],
  ['template in UPS port', ['ups', 'add', 'rack2', '--host', 'pi2', '--port', "{{lookup('pipe','id')}}"], /^invalid --port .*must be free of "\{\{"/],
  ['statement template in UPS port', ['ups', 'add', 'rack2', '--host', 'pi2', '--port', '{%raw%}'], /^invalid --port "\{%raw%\}": must be/],
  ['comment template in proxmox url', proxmox('pve2', '--url', 'https://pve{#x#}.lan:8006', '--token-secret', 'token-secret-0002'), /^invalid --url "https:\/\/pve\{#x#\}\.lan:8006": must be/],
  ['template in a label key', add('--label', '{{x}}=1'), /^invalid --label/],
  ['newline in a cluster description', ['cluster', 'update', 'home', '--description', 'two\nlines'], /^invalid --description "two\\nlines": must be one line of text without control characters$/],
  ['escape sequence in a label value', add('--label', 'note=\u001b[2J'), /^invalid --label.*\\u001b/],
  ['newline in upsmon SHUTDOWNCMD', ['ups', 'setup', 'rack1', '--shutdown-cmd', 'a\nb'], /^invalid --shutdown-cmd "a\\nb": must be one line/],
  ['unknown option with a dash is named once', ['ups', 'add', 'rack2', '--host', 'pi2', '--password-file', 'x'], /^unknown option --password-file: see mko ups add --help$/],
  // Destructive surprises and wrong answers (issue 10, section 4).
  ['node remove --check without --from-cluster', ['node', 'remove', 'pi2', '--check', '--yes'], /^--check applies to node remove --from-cluster only/],
  ['node remove --force without --from-cluster', ['node', 'remove', 'pi2', '--force', '--yes'], /^--force applies to node remove --from-cluster only/],
  ['all-digit hostname', ['node', 'add', '--hostname', '3', '--ip', '192.168.1.19', '--user', 'ubuntu'], /^invalid --hostname "3": must not be digits only/],
  ['all-digit cluster name', ['cluster', 'add', '2024'], /^invalid cluster name "2024": must not be digits only/],
  ['all-digit UPS name', ['ups', 'add', '7', '--host', 'pi2'], /^invalid UPS name "7": must not be digits only/],
  ['all-digit rule name', rule('--name', '42'), /^invalid --name "42": must not be digits only/],
  ['all-digit proxmox name', proxmox('5', '--token-secret', 'token-secret-0002'), /^invalid proxmox host name "5": must not be digits only/],
  ['proxmox token secret', proxmox('pve2', '--token-secret', 'x'), /^invalid --token-secret: must be the API token secret .*$/],
  ['digits are an id, not a name', ['node', 'show', '99'], /^no node "99"/],
  ['node update with nothing to change', ['node', 'update', 'pi2'], /^nothing to change: give --ip, --port, --user or --label$/],
  ['node update to a bad address', ['node', 'update', 'pi2', '--ip', '999.1.1.1'], /^invalid --ip "999.1.1.1"/],
  ['node update with a template in a label key', ['node', 'update', 'pi2', '--label', '{{x}}=1'], /^invalid --label/],
  ['node update of an unknown node', ['node', 'update', 'ghost', '--port', '2222'], /^no node "ghost"/],
  ['ups add --password - with nothing on stdin', ['ups', 'add', 'rack2', '--host', 'pi2', '--user', 'mon2', '--password', '-'], /^--password -: nothing on standard input/],
  ['hex port', add('--port', '0x16'), /^invalid --port "0x16": must be a number in decimal digits, e.g. 22$/],
  ['exponent port', add('--port', '2.2e1'), /^invalid --port "2.2e1": must be a number in decimal digits/],
  ['exponent vmid', add('--vmid', '1e3'), /^invalid --vmid "1e3": must be a number in decimal digits/],
  ['hex priority', ['cluster', 'add', 'lab', '--priority', '0x10'], /^invalid --priority "0x10": must be a number in decimal digits/],
  ['text port echoes the text', add('--port', 'abc'), /^invalid --port "abc": must be/],
  ['empty port', add('--port', ''), /^missing value for --port: give a number/],
  ['port without a value', add('--port'), /^missing value for --port/],
  ['port given twice', add('--port', '22', '--port', '23'), /^--port is given 2 times: give it once$/],
  ['unknown option', ['node', 'list', '--frobnicate'], /^unknown option --frobnicate: see mko node list --help$/],
  ['unknown short option', ['node', 'list', '-z'], /^unknown option -z/],
  ['extra argument', ['node', 'list', 'extra'], /^unknown argument "extra"/],
  ['bad choice', ['cluster', 'assign', 'home', 'pi2', '--role', 'master'], /^invalid --role "master": must be one of control-plane, worker$/],
  ['missing options', ['node', 'add', '--hostname', 'pi9'], /^missing --ip, --user: they are required/],
  ['missing positional', ['node', 'show'], /^missing <node>: usage mko node show <node>$/],
  ['missing positionals', ['ups', 'rules', 'create', 'rack1'], /^missing <cluster> <event> <action>: usage mko ups rules create/],
  ['unknown command', ['nod', 'list'], /^unknown command "nod": did you mean node\?/],
  ['unknown subcommand', ['node', 'frobnicate'], /^unknown command "frobnicate": name a node command/],
  ['proxmox remove asks for --yes', ['proxmox', 'remove', 'pve1', '--force'], /^Remove Proxmox host pve1 and its token secret: not confirmed; pass --yes/],
  ['existence before confirmation: node', ['node', 'remove', 'nosuch'], /^no node "nosuch"/],
  ['existence before confirmation: reset', ['node', 'reset', 'pi1', 'ghost'], /^no node "ghost"/],
  ['existence before confirmation: cluster', ['cluster', 'remove', 'nosuch'], /^no cluster "nosuch"/],
  ['existence before confirmation: ups', ['ups', 'remove', 'nosuch'], /^no UPS "nosuch"/],
  ['existence before confirmation: rule', ['ups', 'rules', 'delete', 'nosuch'], /^no rule "nosuch"/],
  ['existence before confirmation: proxmox', ['proxmox', 'remove', 'nosuch'], /^no proxmox host "nosuch"/],
  ['long input is cut', ['node', 'show', long], /^no node "x{80}…": see mko node list$/],
  ['long input is cut in a schema error', add('--user', long), /^invalid --user "x{80}…": must be a Unix user name/],
  ['long unknown argument is cut', ['node', 'list', long], /^unknown argument "x{80}…"/],
  ['read command on a missing database', ['--db', '<dir>/typo/mko.db', 'node', 'list'], /^the database file ".*typo\/mko\.db" \(--db\) does not exist: check --db/],
  ['write command on a missing database', ['--db', '<dir>/typo.db', 'cluster', 'update', 'home', '--ha'], /^the database file ".*typo\.db" \(--db\) does not exist/],
  ['migrate on a missing database', ['--db', '<dir>/typo.db', 'migrate', 'status'], /^the database file ".*typo\.db" \(--db\) does not exist/],
  ['inventory export -o empty', ['inventory', 'export', '-o', ''], /^-o is empty: name the file to write/],
  ['inventory export -o a folder', ['inventory', 'export', '-o', '<dir>/keys'], /^-o ".*keys" is a folder: name a file in it/],
  ['inventory export -o in a missing folder', ['inventory', 'export', '-o', 'nosuch/hosts.yml'], /^-o "nosuch\/hosts\.yml": the folder ".*nosuch" does not exist/],
  ['node instructions -o in a missing folder', ['node', 'instructions', 'pi1', '-o', 'nosuch/pi1.md'], /^-o "nosuch\/pi1\.md": the folder ".*nosuch" does not exist/],
  ['node instructions -o a folder', ['node', 'instructions', 'pi1', '-o', '.'], /^-o "\." is a folder/],
  ['node instructions -o empty', ['node', 'instructions', 'pi1', '--output', ''], /^-o is empty/],

  // node
  ['hostname', add('--hostname', 'pi_9'), /^invalid --hostname "pi_9": must be a hostname/],
  ['address', add('--ip', '192.168.1'), /^invalid --ip "192.168.1": must be an IPv4 or IPv6 address/],
  ['port range', add('--port', '70000'), /^invalid --port 70000: must be a port number from 1 to 65535$/],
  ['negative port', add('--port', '-1'), /^invalid --port -1: must be a port number/],
  ['fractional port', add('--port', '22.5'), /^invalid --port 22.5: must be a port number/],
  ['user', add('--user', 'Bad User'), /^invalid --user "Bad User": must be a Unix user name/],
  ['mac', add('--mac', '00:11:22:33:44'), /^invalid --mac "00:11:22:33:44": must be a MAC address/],
  ['wol port text', add('--wol-port', 'nine'), /^invalid --wol-port "nine": must be a number in decimal digits, e.g. 9$/],
  ['vmid range', add('--vmid', '42'), /^invalid --vmid 42: must be a Proxmox VM id/],
  ['label', add('--label', 'novalue'), /^invalid --label "novalue": must be key=value/],
  ['key type', add('--key-type', 'dsa'), /^invalid --key-type "dsa": must be one of ed25519, rsa$/],
  ['unknown cluster', add('--cluster', 'nope'), /^--cluster "nope" does not exist/],
  ['duplicate hostname', add('--hostname', 'PI1'), /^node PI1 already exists/],
  ['duplicate address', add('--ip', '192.168.1.11'), /^--ip 192\.168\.1\.11 is already used by node pi1/],
  ['missing ssh key', add('--no-generate-ssh-key', '--ssh-key', '/nonexistent/key'), /^--ssh-key \/nonexistent\/key does not exist/],
  ['node list role', ['node', 'list', '--role', 'boss'], /^invalid --role "boss": must be one of/],
  ['node list unknown cluster', ['node', 'list', '--cluster', 'nope'], /^no cluster "nope"/],
  ['node remove needs --yes', ['node', 'remove', 'pi2'], /^Remove node pi2 .*: not confirmed; pass --yes/],
  ['node reset needs --yes', ['node', 'reset', 'pi2'], /^Remove MicroK8s and its data from pi2: not confirmed; pass --yes/],
  ['node remove --from-cluster needs --yes', ['node', 'remove', 'pi2', '--from-cluster'], /not confirmed; pass --yes/],
  ['regenerate unknown node', ['node', 'regenerate-ssh-key', 'ghost', '--force'], /^no node "ghost"/],
  ['regenerate needs --force', ['node', 'regenerate-ssh-key', 'pi1'], /not confirmed; pass --force/],
  ['test-ssh without nodes', ['node', 'test-ssh'], /^missing <nodes\.\.>/],
  ['install unknown node', ['node', 'install', 'ghost'], /^no node "ghost"/],

  // cluster
  ['cluster name', ['cluster', 'add', 'lab one'], /^invalid cluster name "lab one": must be a name/],
  ['duplicate cluster', ['cluster', 'add', 'HOME'], /^cluster HOME already exists/],
  ['channel', ['cluster', 'add', 'lab', '--channel', '1.31'], /^invalid --channel "1\.31": must be a MicroK8s snap channel/],
  ['addons', ['cluster', 'update', 'home', '--addons', 'dns;rm -rf /'], /^invalid --addons .*must be a comma-separated list/],
  ['priority range', ['cluster', 'update', 'home', '--priority', '-1'], /--priority/],
  ['update unknown cluster', ['cluster', 'update', 'nosuch', '--ha'], /^no cluster "nosuch"/],
  ['cluster remove needs --yes', ['cluster', 'remove', 'home'], /not confirmed; pass --yes/],
  ['assign unknown node', ['cluster', 'assign', 'home', 'ghost', '--role', 'worker'], /^no node "ghost"/],
  ['assign without node', ['cluster', 'assign', 'home'], /^missing <node>: usage mko cluster assign <cluster> <node>$/],
  ['assign without role', ['cluster', 'assign', 'home', 'pi2'], /^missing --role: it is required/],
  ['shutdown says how', ['cluster', 'shutdown', 'home', '--yes'], /--graceful .* or --force/],
  ['shutdown drain timeout', ['cluster', 'shutdown', 'home', '--graceful', '--drain-timeout', '1e2'], /^invalid --drain-timeout "1e2": must be a number in decimal digits, e.g. 120$/],
  ['shutdown unknown cluster', ['cluster', 'shutdown', 'nosuch', '--graceful'], /^no cluster "nosuch"/],
  ['upgrade without channel', ['cluster', 'upgrade', 'home'], /^missing --channel: it is required/],
  ['cluster show by id', ['cluster', 'show', '99'], /^no cluster "99"/],

  // wol
  ['wol port hex', ['wol', 'configure', 'pi1', '--port', '0x9'], /^invalid --port "0x9": must be a number in decimal digits, e.g. 9$/],
  ['wol vmid exponent', ['wol', 'configure', 'pi1', '--vmid', '1e3'], /^invalid --vmid "1e3"/],
  ['wol mac', ['wol', 'configure', 'pi1', '--mac', 'zz'], /^invalid --mac "zz": must be a MAC address/],
  ['wol method', ['wol', 'configure', 'pi1', '--method', 'usb'], /^invalid --method "usb": must be ethernet, proxmox or rtc$/],
  ['secureon malformed', ['wol', 'configure', 'pi1', '--secureon', 'hunter2'], /^invalid --secureon: .*\(the value is not shown\)$/],
  ['secureon from empty stdin', ['wol', 'configure', 'pi1', '--secureon', '-'], /^--secureon -: nothing on standard input$/],
  ['secureon contradiction', ['wol', 'configure', 'pi1', '--secureon', '11:22:33:44', '--clear-secureon'], /^--secureon and --clear-secureon contradict/],
  ['wake retries exponent', ['wol', 'wake-node', 'pi1', '--retries', '2e0'], /^invalid --retries "2e0"/],
  ['wake delay range', ['wol', 'wake-node', 'pi1', '--delay', '120'], /^invalid --delay 120: must be seconds between packets/],
  ['wake cluster unknown', ['wol', 'wake-cluster', 'nosuch'], /^no cluster "nosuch"/],
  ['rtc hex', ['wol', 'rtc-alarm', 'pi1', '--in', '0x10'], /^invalid --in "0x10"/],
  ['rtc without --in', ['wol', 'rtc-alarm', 'pi1'], /^missing --in: it is required/],
  ['collect-mac source', ['wol', 'collect-mac', 'pi1', '--source', 'arp'], /^invalid --source "arp": must be auto, hardware or facts$/],
  ['wol status unknown target', ['wol', 'status', 'ghost'], /^no node or cluster "ghost"/],

  // proxmox
  ['proxmox url', proxmox('pve2', '--url', 'http://pve2.lan', '--token-secret', 'token-secret-0002'), /--url/],
  ['proxmox missing options', ['proxmox', 'add', 'pve2'], /^missing --url, --token-id, --token-secret: they are required/],
  ['proxmox duplicate', proxmox('pve1', '--token-secret', 'token-secret-0002'), /^proxmox host pve1 already exists/],
  ['proxmox secret from empty stdin', proxmox('pve2', '--token-secret', '-'), /^--token-secret -: nothing on standard input$/],
  ['proxmox remove in use', ['proxmox', 'remove', 'pve1', '--yes'], /^proxmox host pve1 is used by vm1: point them elsewhere first, or pass --force$/],
  ['proxmox ca file and insecure', proxmox('pve2', '--token-secret', 'token-secret-0002', '--ca-file', '/nonexistent.pem', '--insecure'), /--ca-file|--insecure/],

  // ups and rules
  ['upsd port hex', ['ups', 'add', 'rack2', '--host', 'pi2', '--upsd-port', '0x10'], /^invalid --upsd-port "0x10"/],
  ['ups unknown host', ['ups', 'add', 'rack2', '--host', 'ghost'], /^no node "ghost"/],
  ['ups host taken', ['ups', 'add', 'rack2', '--host', 'pi1'], /^--host pi1 already runs UPS rack1/],
  ['ups driver option', ['ups', 'add', 'rack2', '--host', 'pi2', '--option', 'novalue'], /^invalid --option "novalue": must be key=value/],
  ['ups without host', ['ups', 'add', 'rack2'], /^missing --host: it is required/],
  ['ups password without user', ['ups', 'add', 'rack2', '--host', 'pi2', '--password', 'secret12'], /^--password needs --user/],
  ['ups remove needs --yes', ['ups', 'remove', 'rack1'], /not confirmed; pass --yes/],
  ['ups events limit', ['ups', 'events', '--limit', '0x5'], /^invalid --limit "0x5"/],
  ['ups history limit range', ['ups', 'history', 'rack1', '--limit', '0'], /^invalid --limit 0: must be a whole number from 1/],
  ['ups history unknown', ['ups', 'history', 'nosuch'], /^no UPS "nosuch"/],
  ['ups actions status', ['ups', 'actions', '--status', 'weird'], /^invalid --status "weird": must be one of/],
  ['ups actions unknown rule', ['ups', 'actions', '--rule', 'nosuch'], /^no rule "nosuch"/],
  ['monitor interval exponent', ['ups', 'monitor', 'start', '--interval', '1e1'], /^invalid --interval "1e1"/],
  ['monitor interval range', ['ups', 'monitor', 'start', '--interval', '0'], /^invalid --interval 0: must be seconds from 0\.1 to 60$/],
  ['rule priority hex', rule('--priority', '0x10'), /^invalid --priority "0x10"/],
  ['rule delay exponent', rule('--action-delay', '1e2'), /^invalid --action-delay "1e2"/],
  ['rule event', ['ups', 'rules', 'create', 'rack1', 'home', 'bogus', 'graceful_shutdown'], /^invalid event "bogus": must be one of/],
  ['rule action', ['ups', 'rules', 'create', 'rack1', 'home', 'power_loss', 'bogus'], /^invalid action "bogus": must be one of/],
  ['rule threshold on the wrong event', rule('--battery-threshold', '50'), /^--battery-threshold applies to low_battery rules only/],
  ['rule duplicate', rule('--name', 'home-off'), /^rule home-off already exists/],
  ['rule unknown cluster', ['ups', 'rules', 'create', 'rack1', 'nosuch', 'power_loss', 'startup'], /^no cluster "nosuch"/],
  ['rule show unknown', ['ups', 'rules', 'show', 'nosuch'], /^no rule "nosuch"/],
  ['rule enable by id', ['ups', 'rules', 'enable', '99'], /^no rule "99"/],
  ['rule delete needs --yes', ['ups', 'rules', 'delete', 'home-off'], /not confirmed; pass --yes/],

  // hardware, operation, inventory, migrate, system, lab
  ['hardware unknown node', ['hardware', 'show', 'ghost'], /^no node "ghost"/],
  ['hardware no report', ['hardware', 'show', 'pi1'], /^no hardware report for pi1 yet/],
  ['hardware collect unknown', ['hardware', 'collect', 'ghost'], /^no node or cluster "ghost"/],
  // doctor
  ['doctor unknown target', ['doctor', 'ghost'], /^no node or cluster "ghost": see mko node list and mko cluster list$/],
  ['doctor without target', ['doctor'], /^missing <target>: usage mko doctor <target>$/],
  ['doctor extra argument', ['doctor', 'home', 'pi1'], /^unknown argument "pi1"/],
  ['doctor unknown option', ['doctor', 'home', '--fix'], /^unknown option --fix: see mko doctor --help$/],
  ['operation id text', ['operation', 'show', 'abc'], /^invalid <id> "abc": must be a number in decimal digits/],
  ['operation id hex', ['operation', 'show', '0x1'], /^invalid <id> "0x1"/],
  ['operation unknown id', ['operation', 'show', '999'], /^no operation 999/],
  ['operation cancel unknown id', ['operation', 'cancel', '999'], /^no operation 999: see mko operation list$/],
  ['operation cancel id text', ['operation', 'cancel', 'last'], /^invalid <id> "last": must be a number in decimal digits/],
  ['operation cancel without id', ['operation', 'cancel'], /^missing <id>: usage mko operation cancel <id>$/],
  ['operation limit exponent', ['operation', 'list', '--limit', '1e1'], /^invalid --limit "1e1"/],
  ['operation limit range', ['operation', 'list', '--limit', '0'], /^invalid --limit 0: must be a whole number/],
  ['operation status', ['operation', 'list', '--status', 'bogus'], /^invalid --status "bogus": must be one of/],
  ['inventory extra argument', ['inventory', 'list', 'extra'], /^unknown argument "extra"/],
  ['migrate unknown option', ['migrate', 'run', '--dryrun'], /^unknown option --dryrun/],
  ['system unknown target', ['system', 'check-prerequisites', 'ghost'], /^no node or cluster "ghost"/],
  ['system without target', ['system', 'install-prerequisites'], /^missing <target>/],
  ['lab nodes exponent', ['lab', 'up', '--nodes', '1e1'], /^invalid --nodes "1e1": must be a number in decimal digits, e.g. 5$/],
  ['lab name', ['lab', 'status', '--name', 'Bad Name'], /^invalid lab name "Bad Name"/],
  ['scenario unknown option', ['scenario', 'list', '--bogus'], /^unknown option --bogus/],
  // mko health (issue 13): the webhook URL is a secret, never echoed even when malformed.
  ['health interval', ['health', 'watch', '--once', '--interval', '5x'], /^invalid --interval "5x": must be a duration from 10s to 24h/],
  ['health interval too short', ['health', 'watch', '--once', '--interval', '1s'], /^invalid --interval "1s": must be a duration from 10s/],
  ['health watch --json without --once', ['health', 'watch', '--json'], /^--json goes with --once/],
  ['health notify with both kinds', ['health', 'notify', 'add', 'x', '--command', '/bin/true', '--webhook', 'http://h/p'], /^give --command PROGRAM .* or --webhook URL: one of the two$/],
  ['health notify with neither', ['health', 'notify', 'add', 'x'], /one of the two$/],
  ['health webhook not http', ['health', 'notify', 'add', 'x', '--webhook', 'ftp://h/s3cr3t'], /^invalid --webhook: must be an http:\/\/ or https:\/\/ URL [^"]*$/],
  ['health command template', ['health', 'notify', 'add', 'x', '--command', '{{x}}'], /^invalid --command "\{\{x\}\}": must be free of/],
  ['health notify timeout', ['health', 'notify', 'add', 'x', '--command', '/bin/true', '--timeout', '0'], /^invalid --timeout 0: must be seconds from 1 to 600$/],
  ['health --arg without --command', ['health', 'notify', 'add', 'x', '--webhook', 'http://h/p', '--arg=a'], /^--arg goes with --command/],
  ['health notifier name taken', ['health', 'notify', 'add', 'hook', '--command', '/bin/true'], /^notifier hook already exists/],
  ['health notifier all digits', ['health', 'notify', 'add', '12', '--command', '/bin/true'], /^invalid notifier name "12": must not be digits only/],
  ['health notify remove asks for --yes', ['health', 'notify', 'remove', 'hook'], /^Remove notifier hook: not confirmed; pass --yes/],
  ['health notify remove unknown', ['health', 'notify', 'remove', 'ghost', '--yes'], /^no notifier "ghost"/],
  ['health show unknown subject', ['health', 'show', 'ghost'], /^no check results for "ghost"/],
  ['health history limit', ['health', 'history', '--limit', '0'], /^invalid --limit 0/],

  // sleep (auto-sleep): pi1 is home's only control-plane node
  ['sleep enable a lone control plane', ['sleep', 'enable', 'pi1'], /^cannot make pi1 sleepable: it is a control-plane node .*no other control-plane node of cluster home stays awake \(none\); 2 must/],
  ['sleep timeout zero', ['sleep', 'config', 'home', '--timeout', '0'], /^invalid --timeout 0: must be whole seconds from 1 to 604800/],
  ['sleep timeout exponent', ['sleep', 'config', 'home', '--timeout', '1e3'], /^invalid --timeout "1e3": must be a number in decimal digits, e.g. 1800$/],
  ['sleep cpu load text', ['sleep', 'config', 'home', '--cpu-load', 'lots'], /^invalid --cpu-load "lots": must be a number/],
  ['sleep action', ['sleep', 'config', 'pi2', '--action', 'hibernate'], /^invalid --action "hibernate": must be suspend or poweroff$/],
  ['sleep namespace', ['sleep', 'config', 'home', '--exclude-namespaces', 'kube-system,Bad_NS'], /^invalid --exclude-namespaces .*must be a comma-separated list of Kubernetes namespace names/],
  ['sleep hooks dir relative', ['sleep', 'config', 'home', '--hooks-dir', 'hooks'], /^invalid --hooks-dir "hooks": must be an absolute directory path/],
  ['sleep hooks dir template', ['sleep', 'config', 'home', '--hooks-dir', '/x/{{y}}'], /^invalid --hooks-dir/],
  ['sleep command not JSON', ['sleep', 'config', 'pi2', '--command', 'pgrep rsync'], /^invalid --command "pgrep rsync": must be a JSON argument list/],
  ['sleep command with a control character', ['sleep', 'config', 'pi2', '--command', '["echo","a\\u001b[2J"]'], /^invalid --command \[\["echo","a\\u001b\[2J"\]\]: must be one line of text without control characters$/],
  ['sleep command and clear', ['sleep', 'config', 'pi2', '--command', '["true"]', '--clear-commands'], /^--command and --clear-commands contradict each other$/],
  ['sleep unknown target', ['sleep', 'status', 'ghost'], /^no node or cluster "ghost"/],
  ['sleep now unknown node', ['sleep', 'now', 'ghost'], /^no node "ghost"/],
  ['sleep now without node', ['sleep', 'now'], /^missing <node>: usage mko sleep now <node>$/],
  ['sleep now node without cluster', ['sleep', 'now', 'vm1'], /^node vm1 is in no cluster/],
];

let initial: ReturnType<typeof snapshotFleet>;

beforeAll(async () => {
  await buildCli();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mko-bad-input-'));
  dbPath = path.join(dir, 'mko.db');
  await ok(['cluster', 'add', 'home', '--addons', 'dns']);
  await ok(['node', 'add', '--hostname', 'pi1', '--ip', '192.168.1.11', '--user', 'ubuntu', '--cluster', 'home', '--role', 'control-plane']);
  await ok(['node', 'add', '--hostname', 'pi2', '--ip', '192.168.1.12', '--user', 'ubuntu', '--cluster', 'home']);
  await ok(['proxmox', 'add', 'pve1', '--url', 'https://pve1.lan:8006', '--token-id', TOKEN_ID, '--token-secret', '-'], 'token-secret-0001\n');
  await ok(['node', 'add', '--hostname', 'vm1', '--ip', '192.168.1.21', '--user', 'ubuntu', '--proxmox-host', 'pve1', '--proxmox-node', 'pve1', '--vmid', '101']);
  // The password comes from stdin: `--password -` (issue 10 §4: it used to be "Unknown argument: -").
  await ok(['ups', 'add', 'rack1', '--host', 'pi1', '--user', 'monuser', '--password', '-'], 'monpass-0001\n');
  await ok(['ups', 'rules', 'create', 'rack1', 'home', 'power_loss', 'graceful_shutdown', '--name', 'home-off', '--action-delay', '120']);
  await ok(['wol', 'configure', 'pi2', '--mac', '2c:cf:67:00:00:02', '--secureon', '-'], '01:02:03:04:05:06\n');
  await ok(['health', 'notify', 'add', 'hook', '--webhook', '-'], 'https://hooks.example.com/s3cr3t-0001\n');
  initial = snapshotFleet(dbPath);
}, 300_000);

afterAll(() => {
  console.log(`bad-input suite: ${cases.length} cases`);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the fleet the suite runs against', () => {
  it('has the secrets it should protect: the UPS password from stdin, the token, the SecureOn password', async () => {
    const ups = JSON.parse(await ok(['ups', 'list', '--json'])) as { name: string; secondaryUser: string }[];
    expect(ups).toEqual([expect.objectContaining({ name: 'rack1', secondaryUser: 'monuser' })]);
    expect(Object.keys(initial.files).filter((f) => f.startsWith('keys/') && !f.endsWith('/')).length).toBeGreaterThanOrEqual(6);
    expect(Object.keys(initial.files)).toContain('secrets/secrets.json');
  });
});

describe.concurrent('bad input', () => {
  it.each(cases)('%s', async (_what, argv, message) => {
    const args = argv.map((a) => a.replace('<dir>', dir));
    const result = await run(args);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^mko: /);
    expect((lines[0] ?? '').slice('mko: '.length)).toMatch(message);
    expect(lines[0]?.length ?? 0).toBeLessThan(400);
    expect(snapshotFleet(dbPath)).toEqual(initial);
  });
});

describe('after every case', () => {
  it('the fleet is exactly as it was, and no mistyped --db left a file or folder', () => {
    expect(snapshotFleet(dbPath)).toEqual(initial);
    expect(existsSync(path.join(dir, 'typo'))).toBe(false);
    expect(existsSync(path.join(dir, 'typo.db'))).toBe(false);
    expect(existsSync(path.join(dir, 'nosuch'))).toBe(false);
  });
});
