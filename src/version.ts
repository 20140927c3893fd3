import { readFileSync } from 'node:fs';

/** The package root's files: src/ under tsx, dist/src/ when built. */
const ROOTS = ['../', '../../'];

function readAtRoot(rel: string): { root: URL; text: string } | undefined {
  for (const r of ROOTS) {
    const root = new URL(r, import.meta.url);
    try {
      return { root, text: readFileSync(new URL(rel, root), 'utf8') };
    } catch {
      /* try the next layout */
    }
  }
  return undefined;
}

/** The package version, read once from package.json (one line for `agent --version`). */
export const VERSION: string = (() => {
  const pkg = readAtRoot('package.json');
  if (!pkg) return '0.0.0';
  try {
    return JSON.parse(pkg.text).version as string;
  } catch {
    return '0.0.0';
  }
})();

/**
 * The commit the agent was built from, for `build_info` (the usual Prometheus
 * way to tell which build runs where): a `COMMIT` file at the package root
 * (deploy/Dockerfile writes it from its COMMIT build argument; the image has no
 * .git), else the checkout's .git HEAD, read without spawning git, else "unknown".
 */
export function buildCommit(): string {
  for (const r of ROOTS) {
    const found = commitAt(new URL(r, import.meta.url));
    if (found !== 'unknown') return found;
  }
  return 'unknown';
}

/** `buildCommit` for one package root (a directory URL ending in "/"). */
export function commitAt(root: URL): string {
  const read = (rel: string): string | undefined => {
    try {
      return readFileSync(new URL(rel, root), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const file = read('COMMIT');
  if (file && /^[0-9a-f]{7,40}$/i.test(file)) return file.toLowerCase();
  const head = read('.git/HEAD');
  if (head === undefined) return 'unknown';
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : 'unknown';
  // A loose ref file, else a "<sha> <ref>" line in .git/packed-refs.
  const sha = read(`.git/${ref}`) ?? read('.git/packed-refs')?.split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0];
  return sha && /^[0-9a-f]{40}$/.test(sha) ? sha : 'unknown';
}
