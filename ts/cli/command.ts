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

/** A command group: `mko node <command>`. */
export function group(name: string, describe: string, commands: CommandModule<GlobalArgs, GlobalArgs>[], example: [string, string]): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: `${name} <command>`,
    describe,
    builder: (y) => {
      for (const c of commands) y.command(c);
      const names = commands.map((c) => String(c.command).split(' ')[0]).join(', ');
      return y.demandCommand(1, `name a ${name} command: ${names}`).example(...example);
    },
    handler: () => undefined,
  };
}
