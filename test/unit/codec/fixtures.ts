/** Loads proto-fixtures/<type>/<name>.bin with its .json (shared by the codec tests). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodeContext } from '../../../src/bgp/codec/index.js';

export const FIXTURE_ROOT = join(import.meta.dirname, '../../../proto-fixtures');

export interface FixtureContextJson {
  as4: boolean;
  addPath: number[];
  extendedMessage: boolean;
  keepAs4?: boolean;
}

export interface Fixture {
  dir: string;
  name: string;
  bytes: Buffer;
  json: Record<string, unknown> | null;
  ctx: DecodeContext;
}

export function toContext(c: FixtureContextJson | undefined): DecodeContext {
  return {
    as4: c?.as4 ?? true,
    addPath: new Set(c?.addPath ?? []),
    extendedMessage: c?.extendedMessage ?? false,
    ...(c?.keepAs4 ? { keepAs4: true } : {}),
  };
}

/** Every fixture under `<type>/` directories (`malformed` only when asked). */
export function loadFixtures(which: 'wellFormed' | 'malformed'): Fixture[] {
  const out: Fixture[] = [];
  for (const entry of readdirSync(FIXTURE_ROOT, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'capture') continue;
    if ((entry.name === 'malformed') !== (which === 'malformed')) continue;
    const dir = join(FIXTURE_ROOT, entry.name);
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.bin')) continue;
      const name = file.slice(0, -4);
      const jsonPath = join(dir, `${name}.json`);
      const json = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>) : null;
      out.push({
        dir: entry.name,
        name,
        bytes: readFileSync(join(dir, file)),
        json,
        ctx: toContext(json?.context as FixtureContextJson | undefined),
      });
    }
  }
  return out;
}
