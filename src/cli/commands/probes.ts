/** `agent ready` and `agent live`: Kubernetes probes that say why they fail. */
import type { CommandModule } from 'yargs';
import type { Check } from '../../agent/readiness.js';
import { formatChecks } from '../../agent/readiness.js';
import { DEFAULT_CONTROL_SOCKET } from '../../agent/control.js';
import { ask, withControlSocket, type ControlArgs } from './common.js';

type Probe = 'ready' | 'live';

/** Ask the agent, print every check, exit 0 only when all pass. */
export async function runProbe(cmd: Probe, args: ControlArgs): Promise<void> {
  const checks = await ask<Check[]>(args, cmd);
  const ok = checks.every((c) => c.ok);
  (ok ? process.stdout : process.stderr).write(formatChecks(checks));
  process.exitCode = ok ? 0 : 1;
}

/**
 * The probes' own arguments without yargs: nothing, or `--control-socket
 * <path>` / `--control-socket=<path>`; anything else (help, a typo) is null
 * and goes to yargs as before. Kubernetes runs both probes every 10 s on
 * every node, so they skip loading yargs and the command table (main.ts).
 */
export function parseProbeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ControlArgs | null {
  const fallback = env.AGENT_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
  if (argv.length === 0) return { controlSocket: fallback };
  if (argv.length === 1 && argv[0].startsWith('--control-socket=') && argv[0].length > 17) return { controlSocket: argv[0].slice(17) };
  if (argv.length === 2 && argv[0] === '--control-socket' && !argv[1].startsWith('-')) return { controlSocket: argv[1] };
  return null;
}

function probe(cmd: Probe, describe: string): CommandModule<object, ControlArgs> {
  return {
    command: cmd,
    describe,
    builder: (y) => withControlSocket(y),
    handler: (args) => runProbe(cmd, args),
  };
}

export const readyCommand = probe('ready', 'Readiness probe: datastore synced, every peer Established, routes programmed');
export const liveCommand = probe('live', 'Liveness probe: the agent answers and its event loop is not stalled');
