/** Options and helpers shared by the commands that talk to a running agent. */
import type { Argv, CommandModule } from 'yargs';
import { ControlUnavailableError, DEFAULT_CONTROL_SOCKET, controlRequest } from '../../agent/control.js';
import { errorJson } from '../../agent/status-json.js';

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

/**
 * Ask the running agent; on failure print one clear line on stderr and exit 1.
 * With `json` (the command's --json) the failure is also a JSON object on
 * stdout, `{"error": "..."}`, so a script reading stdout gets JSON either way.
 */
export async function ask<T>(args: ControlArgs, cmd: string, extra: Record<string, unknown> = {}, opts: { json?: boolean } = {}): Promise<T> {
  try {
    return (await controlRequest(args.controlSocket, { cmd, ...extra })) as T;
  } catch (err) {
    const message = err instanceof ControlUnavailableError ? err.message : `agent: ${(err as Error).message}`;
    if (opts.json) process.stdout.write(errorJson(message));
    process.stderr.write(message + '\n');
    process.exit(1);
  }
}

/**
 * A command whose work is done by its subcommands (`agent peers ...`,
 * `agent routes ...`), one of them usually the `$0` default.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function commandGroup(command: string, describe: string, subcommands: readonly CommandModule<any, any>[]): CommandModule {
  return {
    command,
    describe,
    builder: (y) => {
      for (const c of subcommands) y.command(c);
      return y;
    },
    handler: () => undefined,
  };
}
