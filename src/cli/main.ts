#!/usr/bin/env node
/**
 * `agent`: the per-node BGP agent and its operator tools, one yargs entry.
 * Each subcommand lives in its own module under ./commands, loaded only when
 * it is the command being run (see commands/index.ts).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandsFor } from './commands/index.js';
import { VERSION } from '../version.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('agent')
  .usage('$0 <command> [options]\n\nA BGP route-distribution agent for Calico-style clusters (IPIP mode).')
  .version(VERSION)
  .alias('h', 'help')
  .strict()
  .demandCommand(1, 'Name a command; `agent --help` lists them.')
  .recommendCommands()
  .wrap(Math.min(110, process.stdout.columns ?? 110));

const args = hideBin(process.argv);
for (const command of await commandsFor(args)) cli.command(command);

await cli.parseAsync();
