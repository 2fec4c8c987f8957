import { quote } from '../errors.js';
import type { CommandLine } from './command.js';

const flag = (key: string): string => (key.length === 1 ? `-${key}` : `--${key}`);

/** The option as typed (`--foo`, `-x`), or, for a word that is no option, the word quoted. */
function unknownWord(key: string, argv: string[]): string {
  const typed = argv.find((a) => a === flag(key) || a.startsWith(`${flag(key)}=`) || a === `--no-${key}`);
  return typed !== undefined ? `option ${typed.split('=')[0] ?? typed}` : `argument ${quote(key)}`;
}

/**
 * yargs's own messages (several lines, option names without dashes) rewritten as mko's one line
 * naming the option or argument. Messages it does not know pass through, joined into one line.
 */
export function parserMessage(message: string, argv: string[], line: CommandLine): string {
  const where = line.path ? `mko ${line.path}` : 'mko';
  const usage = line.usage ? `mko ${line.usage}` : 'mko';
  let m: RegExpExecArray | null;
  if ((m = /^Unknown arguments?: (.+)$/s.exec(message))) {
    // yargs names an unknown --foo-bar twice, also as its camel-case alias fooBar.
    const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const all = (m[1] ?? '').split(', ');
    const keys = all.filter((k) => kebab(k) === k || !all.includes(kebab(k)));
    if (line.unknownCommand !== undefined && keys.includes(line.unknownCommand)) return `unknown command ${quote(line.unknownCommand)}: see ${where} --help`;
    return `unknown ${keys.map((k) => unknownWord(k, argv)).join(', ')}: see ${where} --help`;
  }
  if ((m = /^Did you mean (.+)\?$/.exec(message))) {
    return `unknown command ${quote(line.unknownCommand ?? '')}: did you mean ${m[1] ?? ''}? (see ${where} --help)`;
  }
  if ((m = /^Missing required arguments?: (.+)$/.exec(message))) {
    const keys = (m[1] ?? '').split(', ');
    return `missing ${keys.map(flag).join(', ')}: ${keys.length > 1 ? 'they are' : 'it is'} required (see ${where} --help)`;
  }
  if ((m = /^Invalid values:\s+Argument: (\S+), Given: (.*?), Choices: (.*)$/m.exec(message))) {
    const choices = (m[3] ?? '').split(', ').map((c) => c.replace(/^"|"$/g, '')).join(', ');
    const given = (m[2] ?? '').replace(/^"|"$/g, '');
    return `invalid ${flag(m[1] ?? '')} ${quote(given)}: must be one of ${choices}`;
  }
  if ((m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(message))) {
    const positionals = [...line.usage.matchAll(/<([^>]+)>/g)].map((p) => p[0]);
    const missing = positionals.slice(Number(m[1]), Number(m[2]));
    return `missing ${missing.length > 0 ? missing.join(' ') : 'an argument'}: usage ${usage}`;
  }
  if ((m = /^Not enough arguments following: (\S+)$/.exec(message))) return `missing value for ${flag(m[1] ?? '')}: see ${where} --help`;
  // A group's own "name a node command: ..." when the word given is none of them.
  if (line.unknownCommand !== undefined && message.startsWith('name a ')) return `unknown command ${quote(line.unknownCommand)}: ${message}`;
  return message.replace(/\s*\n\s*/g, ' ');
}
