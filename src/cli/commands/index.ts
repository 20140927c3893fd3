import type { CommandModule } from 'yargs';

// Every subcommand of `agent`, in the order `agent --help` lists them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [];
