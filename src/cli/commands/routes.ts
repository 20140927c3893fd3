/** `agent routes [prefix]` and `agent routes for <address>` (inspection), `agent routes flush` (remove this agent's kernel routes on purpose). */
import { commandGroup } from './common.js';
import { routesForCommand, routesShowCommand } from './inspect.js';
import { routesFlushCommand } from './routes-flush.js';

export const routesCommand = commandGroup(
  'routes',
  'Routes: `agent routes [prefix]`, `--received <peer>`, `--advertised <peer>`; `agent routes for <address>`; `agent routes flush`',
  [routesShowCommand, routesForCommand, routesFlushCommand],
);
