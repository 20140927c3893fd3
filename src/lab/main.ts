#!/usr/bin/env node
/**
 * `npm run lab [-- up|change|down|status] [options]`: the whole system on one
 * machine. See up.ts, change.ts, down.ts. Exit status 1 with a message naming
 * the failed step and the files to look at.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { labChange } from './change.js';
import { labDown } from './down.js';
import { StepError } from './progress.js';
import { acquireLock, LabError, readState } from './state.js';
import { labUp, showNodes } from './up.js';

/** The repository: the nearest directory above this file holding package.json. */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

const repo = repoRoot();

interface Common {
  stateDir: string;
  prefix: string;
  timeout: number;
}

async function locked<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  const release = acquireLock(dir, what);
  try {
    return await fn();
  } finally {
    release();
  }
}

const out = (l: string) => process.stdout.write(`${l}\n`);

const cli = yargs(hideBin(process.argv))
  .scriptName('npm run lab --')
  .usage('$0 [up|change|down|status] [options]\n\nA Calico-style cluster in network namespaces: etcd, BIRD on node-1, the agent on the other nodes.')
  .option('state-dir', { type: 'string', default: join(repo, '.lab'), describe: 'Where the lab keeps its state, configs and logs' })
  .option('prefix', { type: 'string', default: 'lab-', describe: 'Prefix of the lab\'s namespace and interface names' })
  .option('timeout', { type: 'number', default: 90, describe: 'Seconds to wait for routes before giving up' })
  .command(
    ['up', '$0'],
    'Start the lab and wait until every node routes every block',
    (y) =>
      y
        .option('nodes', { type: 'number', default: 3, describe: 'Number of nodes (node-1 runs BIRD, the rest the agent)' })
        .option('topology', { choices: ['mesh', 'rr'] as const, default: 'mesh' as const, describe: 'Full mesh, or node-2 as route reflector for the rest' })
        .option('speaker', { choices: ['auto', 'agent', 'bird'] as const, default: 'auto' as const, describe: 'What nodes 2..N run (bird: a BIRD-only reference lab)' })
        .option('ipv6', { type: 'boolean', default: false, describe: 'Dual stack: IPv6 addresses, an IPv6 pool and blocks, BIRD with ipv4 and ipv6 channels' }),
    async (a) => {
      const dir = resolve(a.stateDir);
      await locked(dir, `npm run lab -- up --nodes ${a.nodes} --topology ${a.topology}${a.ipv6 ? ' --ipv6' : ''}`, () =>
        labUp({ nodes: a.nodes, topology: a.topology, prefix: a.prefix, dir, repo, timeoutMs: a.timeout * 1000, speaker: a.speaker, ipv6: a.ipv6 }, out),
      );
    },
  )
  .command(
    'change',
    'Move one block to another node and time how long each node takes to show it',
    (y) =>
      y
        .option('block', { type: 'string', describe: 'Block to move (default: the last node\'s)' })
        .option('to', { type: 'string', describe: 'Node to move it to (default: the first agent node that does not own it)' }),
    async (a) => {
      const dir = resolve(a.stateDir);
      await locked(dir, 'npm run lab -- change', () => labChange({ dir, repo, block: a.block, to: a.to, timeoutMs: a.timeout * 1000 }, out));
    },
  )
  .command('down', 'Remove the lab: processes, namespaces, bridge, state directory', (y) => y, async (a: Common) => {
    const dir = resolve(a.stateDir);
    out(`Removing the lab (${dir}, namespaces ${readState(dir)?.plan.prefix ?? a.prefix}*)`);
    const r = await locked(dir, 'npm run lab -- down', () => labDown(dir, a.prefix, out));
    out(r.processes + r.namespaces === 0 && !r.removedDir ? 'No lab was running.' : 'Lab removed.');
  })
  .command('status', 'Show each node\'s speaker status and routes', (y) => y, async (a: Common) => {
    const dir = resolve(a.stateDir);
    const state = readState(dir);
    if (!state) throw new LabError(`no lab here (${dir}/state.json is missing): start one with \`npm run lab\``);
    showNodes(state, dir, repo, out);
  })
  .strict()
  .help()
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`lab: ${msg}\n(npm run lab -- --help lists the commands)\n`);
    process.exit(1);
  });

try {
  await cli.parseAsync();
} catch (err) {
  if (err instanceof StepError) {
    process.stderr.write(`\n${err.explain()}\n`);
    process.stderr.write('The lab is left as it is so you can look; `npm run lab -- down` removes it.\n');
  } else if (err instanceof LabError) {
    process.stderr.write(`lab: ${err.message}\n`);
  } else {
    process.stderr.write(`lab: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
}
