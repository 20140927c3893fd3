#!/usr/bin/env node
// Write the decoded .json beside each hand-built fixture .bin (from the
// .meta.tmp hand-fixtures.mjs left), using the compiled codec:
//
//   npx tsc -p . && node test/unit/codec/tools/decode-fixtures.mjs
//
// The output is a draft: each .json is then read and checked against what
// the bytes must mean before it is committed.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../../../proto-fixtures');
const codec = await import(join(here, '../../../../dist/src/bgp/codec/index.js'));

for (const dir of readdirSync(root, { withFileTypes: true })) {
  if (!dir.isDirectory() || dir.name === 'malformed') continue;
  for (const file of readdirSync(join(root, dir.name))) {
    if (!file.endsWith('.meta.tmp')) continue;
    const name = file.slice(0, -'.meta.tmp'.length);
    const meta = JSON.parse(readFileSync(join(root, dir.name, file), 'utf8'));
    const bytes = readFileSync(join(root, dir.name, `${name}.bin`));
    const ctx = { ...meta.context, addPath: new Set(meta.context.addPath) };
    const message = codec.messageToJson(codec.decodeMessage(bytes, ctx));
    const json = { source: 'hand-built', description: meta.description, context: meta.context, canonical: meta.canonical ?? true, message };
    writeFileSync(join(root, dir.name, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
    rmSync(join(root, dir.name, file));
  }
}
