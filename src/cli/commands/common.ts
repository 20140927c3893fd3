/** Options and helpers shared by the commands that talk to a running agent. */
import type { Argv } from 'yargs';
import { ControlUnavailableError, DEFAULT_CONTROL_SOCKET, controlRequest } from '../../agent/control.js';

export interface ControlArgs {
  controlSocket: string;
}

export function withControlSocket<T>(y: Argv<T>): Argv<T & ControlArgs> {
  return y.option('control-socket', {
    type: 'string',
    default: process.env.AGENT_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET,
    describe: 'The agent\'s control socket (AGENT_CONTROL_SOCKET)',
  }) as unknown as Argv<T & ControlArgs>;
}

/** Ask the running agent; on failure print one clear line and exit 1. */
export async function ask<T>(args: ControlArgs, cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
  try {
    return (await controlRequest(args.controlSocket, { cmd, ...extra })) as T;
  } catch (err) {
    const message = err instanceof ControlUnavailableError ? err.message : `agent: ${(err as Error).message}`;
    process.stderr.write(message + '\n');
    process.exit(1);
  }
}
