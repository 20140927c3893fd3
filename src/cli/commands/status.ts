/** `agent status`: calicoctl node status for this agent, plus the reasons behind every problem. */
import type { CommandModule } from 'yargs';
import type { StatusSnapshot } from '../../agent/snapshot.js';
import { formatStatus, notes, peerInfo, problems } from '../../agent/status-format.js';
import { ask, withControlSocket, type ControlArgs } from './common.js';

export const statusCommand: CommandModule<object, ControlArgs & { json: boolean }> = {
  command: 'status',
  describe: 'BGP status as `calicoctl node status` prints it, then one line per problem',
  builder: (y) => withControlSocket(y).option('json', { type: 'boolean', default: false, describe: 'Print the status as JSON' }),
  handler: async (args) => {
    const snap = await ask<StatusSnapshot>(args, 'status');
    if (args.json) {
      const out = {
        ...snap,
        peers: snap.peers.map((p) => ({
          address: p.address,
          type: p.type,
          state: p.birdState,
          since: new Date(p.since).toISOString(),
          info: peerInfo(p),
          bgpState: p.bgpState,
          lastError: p.lastError ?? null,
          name: p.name,
          port: p.port,
          asNumber: p.asNumber,
          prefixes: { received: p.counters.received, accepted: p.counters.accepted, advertised: p.counters.advertised },
          counters: p.counters,
          ...(p.bfd ? { bfd: p.bfd } : {}),
        })),
        problems: problems(snap),
        notes: notes(snap),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    process.stdout.write(formatStatus(snap));
  },
};
