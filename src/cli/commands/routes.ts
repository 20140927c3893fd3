/** `agent routes [prefix]` (inspection) and `agent routes flush` (remove this agent's kernel routes on purpose). */
import type { CommandModule } from 'yargs';
import { routesShowCommand } from './inspect.js';
import { routesFlushCommand } from './routes-flush.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const subcommands: CommandModule<any, any>[] = [routesShowCommand, routesFlushCommand];

export const routesCommand: CommandModule = {
  command: 'routes',
  describe: 'Routes: `agent routes [prefix]`, `--received <peer>`, `--advertised <peer>`; `agent routes flush`',
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y;
  },
  handler: () => undefined,
};
