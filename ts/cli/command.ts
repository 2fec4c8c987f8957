import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from './context.js';

/**
 * A subcommand with its own argument type, erased to what `yargs.command()` takes. Handlers keep
 * their precise types; only the list they are registered in is uniform.
 */
export function command<U>(module: CommandModule<GlobalArgs, U>): CommandModule<GlobalArgs, GlobalArgs> {
  return module as unknown as CommandModule<GlobalArgs, GlobalArgs>;
}

/** A builder whose inferred option types stand in for the declared argument type U. */
export function builder<U>(build: (y: Argv<GlobalArgs>) => Argv<unknown>): (y: Argv<GlobalArgs>) => Argv<U> {
  return build as unknown as (y: Argv<GlobalArgs>) => Argv<U>;
}

type AnyCommand = CommandModule<GlobalArgs, GlobalArgs>;

/** Each group's commands, so a parser error can name what the words on the command line meant. */
const groupCommands = new WeakMap<AnyCommand, AnyCommand[]>();

/** A command group: `mko node <command>`. */
export function group(name: string, describe: string, commands: AnyCommand[], example: [string, string], options: { defaultCommand?: AnyCommand } = {}): AnyCommand {
  const module: AnyCommand = {
    command: options.defaultCommand ? `${name} [command]` : `${name} <command>`,
    describe,
    builder: (y) => {
      // Every command that runs playbooks is in a group: its runs show the full log with it.
      y.option('verbose', { type: 'boolean', global: true, describe: 'Show the full log of each playbook run instead of a progress line' });
      for (const c of commands) y.command(c === options.defaultCommand ? { ...c, command: [String(c.command), '$0'] } : c);
      const names = commands.map((c) => String(c.command).split(' ')[0]).join(', ');
      return (options.defaultCommand ? y : y.demandCommand(1, `name a ${name} command: ${names}`)).example(...example);
    },
    handler: () => undefined,
  };
  groupCommands.set(module, commands);
  return module;
}

/** What the words of a command line name: the command's usage (`node show <node>`) and the words after it. */
export interface CommandLine {
  /** Usage of the deepest command named, e.g. `node show <node>`; '' when not even a group matched. */
  usage: string;
  /** Its words alone, e.g. `node show`. */
  path: string;
  /** The command is a group and the next word is none of its commands. */
  unknownCommand?: string;
  /** Non-option words after the command's name. */
  rest: string[];
}

/** The words of a command line that are no options: `node`, `show`, `pi1`. */
export function commandWords(argv: string[]): string[] {
  // The global --db takes a value, which is no command word.
  return argv.filter((w, i) => !w.startsWith('-') && argv[i - 1] !== '--db');
}

export function resolveCommandLine(top: AnyCommand[], argv: string[]): CommandLine {
  const words = commandWords(argv);
  const names: string[] = [];
  let level: AnyCommand[] | undefined = top;
  let usage = '';
  let i = 0;
  for (; level && i < words.length; i++) {
    const word: string = words[i] ?? '';
    const found: AnyCommand | undefined = level.find((c) => String(c.command).split(' ')[0] === word);
    if (!found) return { usage, path: names.join(' '), unknownCommand: word, rest: words.slice(i + 1) };
    usage = [...names, String(found.command)].join(' ');
    names.push(word);
    level = groupCommands.get(found);
  }
  return { usage, path: names.join(' '), rest: words.slice(i) };
}
