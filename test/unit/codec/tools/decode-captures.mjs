#!/usr/bin/env node
// Draft the decoded .json beside each captured fixture .bin listed in
// proto-fixtures/capture/manifest.json, with the decode context the capture
// recorded for that session direction:
//
//   npx tsc -p . && node test/unit/codec/tools/decode-captures.mjs [--force]
//
// "canonical" says whether re-encoding gives the captured bytes back; each
// draft is then read and checked against what the sender must have sent
// (the capture's logs and configs) before it is committed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../../../proto-fixtures');
const codec = await import(join(here, '../../../../dist/src/bgp/codec/index.js'));
const force = process.argv.includes('--force');

const manifest = JSON.parse(readFileSync(join(root, 'capture/manifest.json'), 'utf8'));
for (const entry of manifest) {
  const bin = join(root, entry.fixture);
  const out = bin.replace(/\.bin$/, '.json');
  if (!existsSync(bin) || (existsSync(out) && !force)) continue;
  const dc = entry.decodeContext ?? {};
  const context = {
    as4: dc.fourOctetAs ?? true,
    addPath: (dc.addPath ?? []).map((f) => f.afi * 256 + f.safi),
    extendedMessage: dc.extendedMessage ?? false,
  };
  const ctx = { ...context, addPath: new Set(context.addPath) };
  const bytes = readFileSync(bin);
  const msg = codec.decodeMessage(bytes, ctx);
  const canonical = codec.encodeMessage(msg, ctx).equals(bytes);
  const json = {
    source: `captured: ${entry.sender.daemon} (${entry.sender.speaker}) -> ${entry.receiver.speaker}, see capture/manifest.json`,
    context,
    canonical,
    message: codec.messageToJson(msg),
  };
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`${entry.fixture}: ${canonical ? 'canonical' : 'NOT canonical'}\n`);
}
