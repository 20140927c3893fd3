/**
 * `npm run fuzz -- --cases 1000000 [--seed N]`: the fuzzer of engine.ts at
 * any size, outside vitest. Prints progress every 100k cases and a summary;
 * exits 1 with the failing case (seed and number) on the first failure.
 */
import { FuzzFailure, runFuzz, type FuzzReport } from './engine.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`fuzz: --${name} needs a positive integer, got ${process.argv[i + 1]}\n`);
    process.exit(2);
  }
  return v;
}

const summary = (r: FuzzReport) =>
  `${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s (slowest case ${r.slowestMs.toFixed(1)} ms); ` +
  `decoder ${r.decoder.cases} (${r.decoder.roundTrips} round trips, ${r.decoder.ipv6} with IPv6 MP_REACH/MP_UNREACH, ` +
  `${r.decoder.extended} extended > 4096 octets of which ${r.decoder.extendedRoundTrips} round-tripped, ${r.decoder.treatAsWithdraw} treat-as-withdraw, ${r.decoder.errors} BgpErrors); ` +
  `framer ${r.framer.streams} streams (${r.framer.messages} messages, ${r.framer.damaged} damaged headers); ` +
  `session ${r.session.messages} frames on ${r.session.sessions} sessions (${r.session.notifications} NOTIFICATIONs checked)`;

const cases = arg('cases', 100_000);
const seed = arg('seed', 0x5eed);
try {
  const report = runFuzz({ cases, seed, progress: (n, r) => process.stderr.write(`fuzz: ${n} cases, ${(r.ms / 1000).toFixed(1)} s\n`) });
  process.stdout.write(`fuzz OK: ${summary(report)}\n`);
} catch (e) {
  process.stderr.write(`fuzz FAILED: ${e instanceof FuzzFailure ? e.message : (e as Error).stack}\n`);
  process.exit(1);
}
