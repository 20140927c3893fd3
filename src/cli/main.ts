#!/usr/bin/env node
/**
 * `agent`: the per-node BGP agent and its operator tools, one yargs entry.
 * Each subcommand lives in its own module under ./commands, loaded only when
 * it is the command being run (see commands/index.ts).
 *
 * `agent run` with plain options (no --help, nothing yargs must explain)
 * does not load yargs at all: the daemon would carry it for its whole life
 * (commands/run.ts, parseRunArgs). Nor do `agent ready` / `agent live`,
 * which Kubernetes runs every 10 s on every node (commands/probes.ts,
 * parseProbeArgs). Everything else goes through yargs.
 */
import { VERSION } from '../version.js';

const args = process.argv.slice(2);

async function main(): Promise<void> {
  // `agent --version` says what `agent version` says (version, commit, node), not the bare number.
  if (args.length === 1 && args[0] === '--version') return (await import('./commands/version.js')).printVersion(false);
  if (args[0] === 'run') {
    const run = await import('./commands/run.js');
    const parsed = run.parseRunArgs(args.slice(1));
    if (parsed) return run.runAgent(parsed);
  }
  if (args[0] === 'ready' || args[0] === 'live') {
    const probes = await import('./commands/probes.js');
    const parsed = probes.parseProbeArgs(args.slice(1));
    if (parsed) return probes.runProbe(args[0], parsed);
  }
  const [{ default: yargs }, { commandsFor }] = await Promise.all([import('yargs'), import('./commands/index.js')]);
  const cli = yargs(args)
    .scriptName('agent')
    .usage('$0 <command> [options]\n\nA BGP route-distribution agent for Calico-style clusters (IPIP mode).')
    .version(VERSION)
    .alias('h', 'help')
    .strict()
    .demandCommand(1, 'Name a command; `agent --help` lists them.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 110));
  for (const command of await commandsFor(args)) cli.command(command);
  await cli.parseAsync();
}

await main();
