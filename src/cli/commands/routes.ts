/** `agent routes [prefix]` and `agent routes for <address>` (inspection), `agent routes flush` (remove this agent's kernel routes on purpose). */
import type { CommandModule } from 'yargs';
import { routesForCommand, routesShowCommand } from './inspect.js';
import { routesFlushCommand } from './routes-flush.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const subcommands: CommandModule<any, any>[] = [routesShowCommand, routesForCommand, routesFlushCommand];

export const routesCommand: CommandModule = {
  command: 'routes',
  describe: 'Routes: `agent routes [prefix]`, `--received <peer>`, `--advertised <peer>`; `agent routes for <address>`; `agent routes flush`',
  builder: (y) => {
    for (const c of subcommands) y.command(c);
    return y;
  },
  handler: () => undefined,
};
