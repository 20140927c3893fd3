/**
 * Codec benchmark (issue 3): decode and encode throughput of full 4096-octet
 * UPDATEs of /26 prefixes on one core, bytes held per decoded prefix, and
 * binary-parser vs hand-written code for the header and OPEN's fixed part.
 *
 *   npx tsc -p . && node dist/bench/codec/codec-bench.js
 *
 * Bounded in count and time (a few seconds in all); prints a table and
 * writes bench/results/codec.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  checkHeader,
  decodeMessage,
  encodeAttributes,
  encodeMessage,
  packUpdates,
  type DecodeContext,
  type UpdateMessage,
} from '../../src/bgp/codec/index.js';
import { headerParser } from '../../src/bgp/codec/header.js';
import { openFixedParser } from '../../src/bgp/codec/open.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ctx: DecodeContext = { as4: true, addPath: new Set(), extendedMessage: false };
const PREFIXES = 200_000;
const BUDGET_MS = 1500;

/** 200k distinct /26 keys from 10.64.0.0 upwards, as Calico blocks would be. */
const keys: number[] = Array.from({ length: PREFIXES }, (_, i) => (0x0a400000 + i * 64) * 64 + 26);
const attrs = encodeAttributes({ origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '10.10.20.5', localPref: 100 }, ctx);
const messages = packUpdates(attrs, keys, null, ctx);
const perMessage = keys.length / messages.length;

/** Run `round` until BUDGET_MS has passed (at most `maxRounds`); returns units per second. */
function rate(unitsPerRound: number, round: () => void, maxRounds = 1000): number {
  round(); // warm-up
  const start = process.hrtime.bigint();
  let rounds = 0;
  let elapsed = 0;
  while (rounds < maxRounds && elapsed < BUDGET_MS) {
    round();
    rounds++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (unitsPerRound * rounds) / (elapsed / 1000);
}

let sink = 0;
const decodeRate = rate(PREFIXES, () => {
  for (const m of messages) sink += (decodeMessage(m, ctx) as UpdateMessage).nlri.keys.length;
});
const encodeRate = rate(PREFIXES, () => {
  sink += packUpdates(attrs, keys, null, ctx).length;
});
// Encoding whole UpdateMessage values (attributes encoded per message), for comparison.
const decoded = messages.map((m) => decodeMessage(m, ctx) as UpdateMessage);
const encodeMessageRate = rate(PREFIXES, () => {
  for (const u of decoded) sink += encodeMessage(u, ctx).length;
});

// Bytes held per decoded prefix: decode everything again and keep it.
gc();
gc();
const before = process.memoryUsage().heapUsed;
const held: UpdateMessage[] = messages.map((m) => decodeMessage(m, ctx) as UpdateMessage);
gc();
gc();
const after = process.memoryUsage().heapUsed;
const bytesPerPrefix = (after - before) / PREFIXES;
sink += held.length;

// binary-parser vs hand-written: header and OPEN fixed part.
const header = messages[0];
const headerHand = rate(1, () => {
  sink += checkHeader(header, 0, 4096);
}, 5_000_000);
const headerBp = rate(1, () => {
  sink += (headerParser.parse(header.subarray(0, 19)) as { length: number }).length;
}, 5_000_000);
const open = encodeMessage(
  { type: 'OPEN', version: 4, myAs: 64512, holdTime: 240, bgpId: '10.0.0.1', capabilities: [{ code: 65, name: 'as4', asn: 64512 }] },
  ctx,
);
const openBody = open.subarray(19, 29);
const openBp = rate(1, () => {
  sink += (openFixedParser.parse(openBody) as { holdTime: number }).holdTime;
}, 5_000_000);
const openHand = rate(1, () => {
  const b = openBody;
  const fixed = { version: b[0], myAs: (b[1] << 8) | b[2], holdTime: (b[3] << 8) | b[4], bgpId: ((b[5] << 24) | (b[6] << 16) | (b[7] << 8) | b[8]) >>> 0, optLen: b[9] };
  sink += fixed.holdTime;
}, 5_000_000);
const openFull = rate(1, () => {
  sink += decodeMessage(open, ctx).type.length;
}, 2_000_000);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  prefixes: PREFIXES,
  messages: messages.length,
  prefixesPerMessage: Math.round(perMessage * 10) / 10,
  messageBytes: messages[0].length,
  decodePrefixesPerSec: Math.round(decodeRate),
  encodePackUpdatesPrefixesPerSec: Math.round(encodeRate),
  encodeMessagePrefixesPerSec: Math.round(encodeMessageRate),
  bytesHeldPerDecodedPrefix: Math.round(bytesPerPrefix * 10) / 10,
  targets: { decodePrefixesPerSec: 2_000_000, encodePrefixesPerSec: 1_000_000 },
  headerPerSec: { handWritten: Math.round(headerHand), binaryParser: Math.round(headerBp) },
  openFixedPerSec: { handWritten: Math.round(openHand), binaryParser: Math.round(openBp), wholeOpenDecode: Math.round(openFull) },
};

const fmt = (n: number): string => n.toLocaleString('en-US');
const rows: [string, string][] = [
  ['UPDATEs (4096-octet, /26)', `${result.messages} x ${result.prefixesPerMessage} prefixes, ${result.messageBytes} octets`],
  ['decode (prefixes/s)', `${fmt(result.decodePrefixesPerSec)}  (target 2,000,000)`],
  ['encode packUpdates (prefixes/s)', `${fmt(result.encodePackUpdatesPrefixesPerSec)}  (target 1,000,000)`],
  ['encode encodeMessage (prefixes/s)', fmt(result.encodeMessagePrefixesPerSec)],
  ['bytes held per decoded prefix', String(result.bytesHeldPerDecodedPrefix)],
  ['header: hand-written (/s)', fmt(result.headerPerSec.handWritten)],
  ['header: binary-parser (/s)', fmt(result.headerPerSec.binaryParser)],
  ['OPEN fixed part: hand-written (/s)', fmt(result.openFixedPerSec.handWritten)],
  ['OPEN fixed part: binary-parser (/s)', fmt(result.openFixedPerSec.binaryParser)],
  ['whole OPEN decode (/s)', fmt(result.openFixedPerSec.wholeOpenDecode)],
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');

const out = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/results/codec.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(`written ${out}${sink < 0 ? '' : ''}\n`);
