/** `agent ready` and `agent live`: Kubernetes probes that say why they fail. */
import type { CommandModule } from 'yargs';
import type { Check } from '../../agent/readiness.js';
import { formatChecks } from '../../agent/readiness.js';
import { ask, withControlSocket, type ControlArgs } from './common.js';

function probe(cmd: 'ready' | 'live', describe: string): CommandModule<object, ControlArgs> {
  return {
    command: cmd,
    describe,
    builder: (y) => withControlSocket(y),
    handler: async (args) => {
      const checks = await ask<Check[]>(args, cmd);
      const ok = checks.every((c) => c.ok);
      (ok ? process.stdout : process.stderr).write(formatChecks(checks));
      process.exitCode = ok ? 0 : 1;
    },
  };
}

export const readyCommand = probe('ready', 'Readiness probe: datastore synced, every peer Established, routes programmed');
export const liveCommand = probe('live', 'Liveness probe: the agent answers and its event loop is not stalled');
