import type { CommandModule } from 'yargs';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { liveCommand, readyCommand } from './probes.js';
import { logLevelCommand, peersCommand } from './inspect.js';
import { routesCommand } from './routes.js';
import { datastoreCommand } from './datastore.js';
import { decodeCommand } from './decode.js';

// Every subcommand of `agent`, in the order `agent --help` lists them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  runCommand,
  statusCommand,
  readyCommand,
  liveCommand,
  peersCommand,
  routesCommand,
  logLevelCommand,
  datastoreCommand,
  decodeCommand,
];
