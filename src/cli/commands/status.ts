/** `agent status`: calicoctl node status for this agent, plus the reasons behind every problem. */
import type { CommandModule } from 'yargs';
import type { StatusSnapshot } from '../../agent/snapshot.js';
import { formatStatus } from '../../agent/status-format.js';
import { statusJson } from '../../agent/status-json.js';
import { ask, withControlSocket, type ControlArgs } from './common.js';

export const statusCommand: CommandModule<object, ControlArgs & { json: boolean }> = {
  command: 'status',
  describe: 'BGP status as `calicoctl node status` prints it, then one line per problem',
  builder: (y) => withControlSocket(y).option('json', { type: 'boolean', default: false, describe: 'Print the status as JSON' }),
  handler: async (args) => {
    const snap = await ask<StatusSnapshot>(args, 'status', {}, { json: args.json });
    if (args.json) {
      process.stdout.write(JSON.stringify(statusJson(snap), null, 2) + '\n');
      return;
    }
    process.stdout.write(formatStatus(snap));
  },
};
