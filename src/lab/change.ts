/**
 * `npm run lab -- change`: move one IPAM block's affinity to another node, as
 * Calico IPAM does when a block is released by one host and claimed by
 * another, and time how long each node takes to show the new route.
 *
 * The move is written with etcdctl in Calico's IPAM v2 layout: the old host's
 * affinity key deleted, the block's `affinity` rewritten, the new host's
 * affinity written `confirmed`. The BIRD node, if its own blocks change, is
 * re-rendered and reloaded, which is what confd does for calico-node.
 */
import { reconfigureBird } from './bird-node.js';
import { waitForRoutes } from './converge.js';
import { etcdLog, primedTxn } from './etcd-node.js';
import { blocksOf, nodeByName, type Assignment, type LabPlan } from './plan.js';
import { Progress, secs } from './progress.js';
import { affinityKey, blockKey, blockValue } from './resources.js';
import { LabError, readState, writeState } from './state.js';
import { nodeLogs, showNodes } from './up.js';

export interface ChangeOptions {
  dir: string;
  repo: string;
  block?: string;
  to?: string;
  timeoutMs: number;
  quiet?: boolean;
}

export interface ChangeResult {
  block: string;
  from: string;
  to: string;
  perNode: Map<string, number>;
  ms: number;
}

/** Default move: the spare block (empty, on the last node at start) to the first agent node that does not own it. */
export function pickMove(plan: LabPlan, assignment: Assignment, block?: string, to?: string): { block: string; from: string; to: string } {
  const b = block ?? plan.spareBlock;
  const from = assignment[b];
  if (!from) throw new LabError(`no block ${b} in this lab (blocks: ${Object.keys(assignment).sort().join(', ')})`);
  let target = to;
  if (target === undefined) {
    const candidates = plan.nodes.filter((n) => n.name !== from);
    target = (candidates.find((n) => n.speaker === 'agent') ?? candidates[0]).name;
  }
  nodeByName(plan, target);
  if (target === from) throw new LabError(`block ${b} is already on ${from}`);
  return { block: b, from, to: target };
}

export async function labChange(opts: ChangeOptions, write: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<ChangeResult> {
  const state = readState(opts.dir);
  if (!state || state.status !== 'up') {
    throw new LabError(`no lab is up (no ${opts.dir}/state.json with status up): start one with \`npm run lab\``);
  }
  const { plan } = state;
  const move = pickMove(plan, state.assignment, opts.block, opts.to);
  const previous = state.assignment;
  const next: Assignment = { ...previous, [move.block]: move.to };
  const p = new Progress(2, write);
  write(`Moving block ${move.block} from ${move.from} to ${move.to}`);
  const txn = await p.step('preparing the etcd transaction', [etcdLog(opts.dir)], () =>
    primedTxn(plan, [
      { del: affinityKey(move.from, move.block) },
      { put: [blockKey(move.block), blockValue(move.block, move.to)] },
      { put: [affinityKey(move.to, move.block), JSON.stringify({ state: 'confirmed', deleted: false })] },
    ]),
  );
  // Times count from handing etcd the transaction; every node is polled meanwhile.
  let failure: Error | undefined;
  const t0 = performance.now();
  const written = txn
    .send()
    .then(() => {
      // Saved as soon as etcd has it, so `down`/`status`/`change` see the datastore as it now is.
      state.assignment = next;
      writeState(opts.dir, state);
      // confd's part for the BIRD node: re-render and reload when its own blocks changed.
      for (const n of plan.nodes) {
        const before = blocksOf(previous, n.name).join(',');
        if (n.speaker === 'bird' && before !== blocksOf(next, n.name).join(',')) reconfigureBird(plan, next, n, opts.dir);
      }
    })
    .catch((err: Error) => {
      failure = err;
    });
  const c = await p.step(
    `writing the move and waiting for every node to show it (timeout ${opts.timeoutMs / 1000} s)`,
    () => [etcdLog(opts.dir), ...nodeLogs(opts.dir, plan)],
    async (note) => {
      const r = await waitForRoutes(plan, next, opts.timeoutMs, {
        // Monitor events time the nodes; polling, which holds up the event loop, is only the fallback.
        pollMs: 500,
        monitor: true,
        since: t0,
        stop: () => failure,
        onNode: (n, ms) => note(`${n.name} (${n.speaker}): ${secs(ms)}`),
      });
      await written;
      if (failure) throw failure;
      return r;
    },
  );
  const ms = c.ms; // the last node's time
  write('');
  write(`Time from the etcd transaction until each node showed its new routes for ${move.block}:`);
  for (const n of plan.nodes) write(`  ${n.name.padEnd(8)} ${n.speaker.padEnd(6)} ${secs(c.perNode.get(n.name) ?? NaN)}`);
  write(`All nodes: ${secs(ms)}.`);
  if (!opts.quiet) {
    write('');
    showNodes(state, opts.dir, opts.repo, write);
  }
  return { ...move, perNode: c.perNode, ms };
}
