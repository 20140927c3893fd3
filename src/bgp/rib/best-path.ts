/**
 * Best-path selection, RFC 4271 §9.1.2.2, as an ordered list of comparators
 * (the GoBGP habit) so the step that decided can be shown.
 *
 * Order: our own route (BIRD prefers a locally originated route to a learned
 * one), highest LOCAL_PREF, shortest AS_PATH, lowest ORIGIN, lowest MED (only
 * between paths from the same neighbour AS), eBGP over iBGP, (IGP cost to the
 * next hop: skipped, next hops are assumed reachable), lowest ORIGINATOR_ID or
 * router id (RFC 4456 §9), shortest CLUSTER_LIST (RFC 4456 §9), lowest peer
 * address, lowest path id (RFC 7911, several paths from one peer).
 *
 * MED makes the pairwise order non-transitive, so a plain fold would depend
 * on the order the paths arrived in. `bestPath` therefore picks the best of
 * each neighbour AS first, with MED, and then the best of those, where MED
 * never decides (what BIRD calls `deterministic med`). The result depends
 * only on the set of paths.
 */
import type { Path } from './path.js';

export interface BestPathStep {
  name: string;
  /** Negative when `a` is better, positive when `b` is, 0 when this step cannot tell them apart. */
  compare(a: Path, b: Path): number;
}

/** LOCAL_PREF only has meaning inside the AS; an eBGP-learned path gets the default 100 (RFC 4271 §5.1.5). */
const localPref = (p: Path): number => (p.src.ibgp || p.src.local ? p.attrs.localPref : 100);
/** RFC 4456 §9: ORIGINATOR_ID stands in for the router id when present. */
const routerId = (p: Path): number => (p.attrs.originatorId >= 0 ? p.attrs.originatorId : p.src.routerIdNum);

export const BEST_PATH_STEPS: readonly BestPathStep[] = [
  { name: 'local route', compare: (a, b) => Number(b.src.local) - Number(a.src.local) },
  { name: 'local-pref', compare: (a, b) => localPref(b) - localPref(a) },
  { name: 'as-path length', compare: (a, b) => a.attrs.asPathLength - b.attrs.asPathLength },
  { name: 'origin', compare: (a, b) => a.attrs.origin - b.attrs.origin },
  {
    name: 'med',
    compare: (a, b) => (a.attrs.neighbourAs === b.attrs.neighbourAs ? a.attrs.med - b.attrs.med : 0),
  },
  { name: 'ebgp over ibgp', compare: (a, b) => Number(a.src.ibgp) - Number(b.src.ibgp) },
  { name: 'router id', compare: (a, b) => routerId(a) - routerId(b) },
  { name: 'cluster-list length', compare: (a, b) => a.attrs.clusterListLength - b.attrs.clusterListLength },
  { name: 'peer address', compare: (a, b) => a.src.addressNum - b.src.addressNum },
  { name: 'path id', compare: (a, b) => a.pathId - b.pathId },
];

const MED_STEP = BEST_PATH_STEPS.findIndex((s) => s.name === 'med');

/**
 * Compare two paths through the steps. Returns `-(i+1)` when `a` wins at step
 * `i`, `i+1` when `b` does, 0 when no step separates them. No allocation: this
 * runs on the ingest path.
 */
export function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < BEST_PATH_STEPS.length; i++) {
    const c = BEST_PATH_STEPS[i].compare(a, b);
    if (c < 0) return -(i + 1);
    if (c > 0) return i + 1;
  }
  return 0;
}

/** The index of the best path of `paths` (non-empty), independent of their order. */
export function bestIndex(paths: readonly Path[]): number {
  if (paths.length === 1) return 0;
  if (paths.length === 2) {
    // Two paths: with one neighbour AS the full order holds; with two, MED ties anyway.
    return comparePaths(paths[0], paths[1]) <= 0 ? 0 : 1;
  }
  // Best per neighbour AS (MED counts), then best of those (MED cannot decide across ASes).
  const groupBest = new Map<number, number>();
  for (let i = 0; i < paths.length; i++) {
    const as = paths[i].attrs.neighbourAs;
    const j = groupBest.get(as);
    if (j === undefined || comparePaths(paths[i], paths[j]) < 0) groupBest.set(as, i);
  }
  let best = -1;
  for (const i of groupBest.values()) {
    if (best < 0 || comparePaths(paths[i], paths[best]) < 0) best = i;
  }
  return best;
}

export interface BestPathResult {
  best: Path | null;
  /** Name of the step that put `best` ahead of the runner-up; 'only path' or 'no path' otherwise. */
  reason: string;
  runnerUp: Path | null;
}

/** Best path of a set and why it won (for `lookup`, status and tests). */
export function bestPath(paths: readonly Path[]): BestPathResult {
  if (paths.length === 0) return { best: null, reason: 'no path', runnerUp: null };
  const bi = bestIndex(paths);
  const best = paths[bi];
  if (paths.length === 1) return { best, reason: 'only path', runnerUp: null };
  const rest = paths.filter((_, i) => i !== bi);
  const runnerUp = rest[bestIndex(rest)];
  const r = comparePaths(best, runnerUp);
  // r > 0 only when the runner-up lost inside its own neighbour AS group by MED
  // to a path the winner then beat (MED's non-transitivity): MED decided.
  const reason = r < 0 ? BEST_PATH_STEPS[-r - 1].name : r > 0 ? BEST_PATH_STEPS[MED_STEP].name : 'identical';
  return { best, reason, runnerUp };
}
