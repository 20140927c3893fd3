/**
 * `agent routes flush`: remove this agent's routes (protocol bird, main IPv4
 * table) from the kernel on purpose. The agent itself never flushes: on stop
 * its routes stay (BIRD's `persist`) and on start it adopts them. Routes of
 * any other protocol are never touched (the delete names proto bird, so the
 * kernel cannot match another protocol's route). Run it in the node's network
 * namespace (`ip netns exec <ns> agent routes flush` in the lab).
 */
import type { CommandModule } from 'yargs';
import type { KernelBackend, RouteOp } from '../../kernel/backend.js';
import { formatRoute } from '../../kernel/route.js';
import { KERNEL_BACKEND_OPTION, openKernelBackend } from './kernel-backend.js';

interface FlushArgs {
  'kernel-backend': string;
  'dry-run': boolean;
  json: boolean;
}

/** Delete every proto bird route; returns what was removed, what failed, and what a dump still shows. */
export async function flushBirdRoutes(backend: KernelBackend, dryRun = false): Promise<{ found: number; removed: number; failed: { route: string; error: string }[]; remaining: number }> {
  const routes = await backend.dump();
  if (dryRun) return { found: routes.length, removed: 0, failed: [], remaining: routes.length };
  const errors = await backend.apply(routes.map((route): RouteOp => ({ op: 'delete', route })));
  const failed = errors.filter((e) => e.code !== 'ESRCH').map((e) => ({ route: formatRoute(e.route), error: e.error }));
  const remaining = (await backend.dump()).length;
  return { found: routes.length, removed: routes.length - failed.length, failed, remaining };
}

export const routesFlushCommand: CommandModule<object, FlushArgs> = {
  command: 'flush',
  describe: "Remove this agent's routes (proto bird, main table) from the kernel; other routes are never touched",
  builder: (y) =>
    y
      // The same option as `agent run --kernel-backend` (one definition: kernel-backend.ts).
      .option('kernel-backend', { ...KERNEL_BACKEND_OPTION, choices: [...KERNEL_BACKEND_OPTION.choices] })
      .option('dry-run', { type: 'boolean', default: false, describe: 'only count the routes that would go' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }) as never,
  handler: async (argv) => {
    const backend = await openKernelBackend(argv['kernel-backend']);
    try {
      const result = await flushBirdRoutes(backend, argv['dry-run']);
      if (argv.json) console.log(JSON.stringify(result));
      else if (argv['dry-run']) console.log(`${result.found} proto bird route(s) would be removed`);
      else {
        console.log(`removed ${result.removed} of ${result.found} proto bird route(s); ${result.remaining} remain`);
        for (const f of result.failed.slice(0, 20)) console.error(`  failed: ${f.route}: ${f.error}`);
      }
      if (result.failed.length || (!argv['dry-run'] && result.remaining > 0)) process.exitCode = 1;
    } finally {
      backend.close();
    }
  },
};
