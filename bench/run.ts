/**
 * `npm run bench [-- <scenario>...] [--quick] [--runs N]`: every scenario side
 * by side with BIRD 2, timed the same way for both (bench/README.md), one
 * JSON per scenario under bench/results/ (or --out <dir>), a ratio table at
 * the end, then the charts and README's Performance section from the JSON.
 *
 * Root only (network namespaces). Bounded: each run has its own limit and the
 * whole invocation --max-total seconds (default 40 min, 6 min with --quick).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { installCleanupHooks, sweep, REPO, delNamespace } from './lib/lab.js';
import { cleanupSync } from './lib/proc.js';
import { RESULTS_DIR, ratioTable, summarise, writeResult, type Json, type Scenario } from './lib/runner.js';
import { ingest6Distinct, ingestDistinct, ingestOne, ingestSame, kernelIngest, rrReflect } from './scenarios/ingest.js';
import { meshCalico, meshStorm } from './scenarios/mesh.js';
import { convergence, rrScale } from './scenarios/changes.js';
import { wireToKernel } from './scenarios/wire-kernel.js';

import { renderAll } from './report.js';

/** In the order. */
export const SCENARIOS: Scenario[] = [ingestDistinct, ingest6Distinct, ingestOne, ingestSame, rrReflect, rrScale, meshCalico, meshStorm, convergence, wireToKernel, kernelIngest];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: npm run bench -- [scenario ...] [--quick] [--runs N] [--clients N (rr-scale)] [--out DIR] [--max-total S] [--no-report]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('bench needs root (network namespaces)');
  const quick = argv.includes('--quick');
  const runs = Number(arg('runs') ?? (quick ? 1 : 3));
  const outDir = arg('out') ?? RESULTS_DIR;
  const clientsArg = arg('clients');
  const clients = clientsArg === undefined ? undefined : Number(clientsArg);
  if (clients !== undefined && !(Number.isInteger(clients) && clients >= 2 && clients <= 4000)) throw new Error(`--clients ${clientsArg}: a whole number from 2 to 4000`);
  const valued = new Set(['--runs', '--out', '--max-total', '--clients']);
  const names = argv.filter((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1] ?? ''));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const maxTotal = Number(arg('max-total') ?? (quick ? 360 : 2400)) * 1000;
  installCleanupHooks();
  sweep();
  setTimeout(() => {
    console.error(`bench: --max-total ${maxTotal / 1000} s reached, cleaning up`);
    cleanupSync(delNamespace);
    process.exit(3);
  }, maxTotal).unref();

  const docs: Json[] = [];
  for (const scenario of chosen) {
    // rr-scale at another size (issue 17: 200, 1000, 2000 clients) is its own result file.
    const s = clients !== undefined && scenario.name === 'rr-scale' && clients !== 1000
      ? { ...scenario, name: `rr-scale-${clients}`, title: scenario.title.replace('1000 clients', `${clients} clients`) }
      : scenario;
    const started = new Date();
    console.error(`== ${s.name}: ${s.title}${quick ? ' (quick)' : ''}, ${runs} run(s) per side`);
    try {
      const out = await s.run({ quick, runs, clients });
      const doc = summarise(s, quick, out, started);
      const path = writeResult(doc, outDir);
      docs.push(doc);
      console.error(`   ${path} (${doc.durationSeconds} s)`);
    } catch (err) {
      console.error(`   ${s.name} failed: ${(err as Error).stack ?? err}`);
      const doc = summarise(s, quick, { settings: {}, figures: [], runs: [], notes: [`failed: ${(err as Error).message}`] }, started);
      writeResult(doc, outDir);
      docs.push(doc);
    }
    sweep();
  }
  console.log('\nagent / BIRD (ratio < 1: the agent is faster or smaller)\n');
  console.log(ratioTable(docs));
  if (!argv.includes('--no-report') && outDir === RESULTS_DIR) {
    renderAll(RESULTS_DIR, join(REPO, 'README.md'));
    console.log(`\ncharts: ${RESULTS_DIR}/*.svg; README.md Performance section regenerated`);
  }
  void execFileSync;
}

try {
  await main();
} finally {
  cleanupSync(delNamespace);
}
