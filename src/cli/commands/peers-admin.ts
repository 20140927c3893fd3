/**
 * The birdc / gobgp verbs on sessions: `agent peers reset <peer> [--soft]`
 * (birdc `restart` / `reload`, `gobgp neighbor <addr> reset|softreset`),
 * `agent peers disable <peer>` and `enable <peer>` (birdc `disable` /
 * `enable`). `<peer>` is a session name, a peer address or a BGPPeer
 * resource name. What each does on the wire is the agent's
 * (src/agent/agent.ts, peerAdmin): Cease 4 and reconnect; ROUTE-REFRESH and
 * our routes again; Cease 2 and held Idle. Disabling is kept in the running
 * agent only: a restart enables every session again.
 */
import type { Argv, CommandModule } from 'yargs';
import { ask, withControlSocket, type ControlArgs } from './common.js';

type Args = ControlArgs & { peer: string; soft?: boolean };

function verb(command: string, describe: string, cmd: string, options: (y: Argv<Args>) => Argv<Args> = (y) => y): CommandModule<object, Args> {
  return {
    command: `${command} <peer>`,
    describe,
    builder: (y) =>
      options(withControlSocket(y).positional('peer', { type: 'string', demandOption: true, describe: 'Session name (Mesh_10_0_0_2), peer address or BGPPeer name' }) as Argv<Args>),
    handler: async (args) => {
      const result = await ask<{ peers: { name: string; done: string }[] }>(args, cmd, { peer: args.peer, soft: args.soft === true });
      for (const p of result.peers) process.stdout.write(`${p.name}: ${p.done}\n`);
    },
  };
}

export const peerAdminCommands: CommandModule<object, Args>[] = [
  verb(
    'reset',
    'Reset a session: NOTIFICATION Cease 4 (Administrative Reset) and reconnect; --soft: ROUTE-REFRESH in, our routes out again, no reset',
    'peer-reset',
    (y) => y.option('soft', { type: 'boolean', default: false, describe: 'Soft reset (RFC 2918 ROUTE-REFRESH; needs the peer\'s Route Refresh capability)' }) as Argv<Args>,
  ),
  verb('disable', 'Take a session down (Cease 2, Administrative Shutdown) and keep it down until `enable` (not kept across an agent restart)', 'peer-disable'),
  verb('enable', 'Start a session disabled with `disable`', 'peer-enable'),
];
