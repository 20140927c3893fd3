import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (one line for `agent --version`). */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string;
    } catch {
      /* try the next layout (src/ under tsx, dist/src/ when built) */
    }
  }
  return '0.0.0';
})();
