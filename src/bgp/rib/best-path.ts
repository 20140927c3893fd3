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
 * `i` of BEST_PATH_STEPS, `i+1` when `b` does, 0 when no step separates them.
 * The steps written out in one function (same order and rules as the table):
 * this runs on the ingest path once per new path of a destination, and
 * calling ten closures through an array cost more than the rest of the
 * per-prefix work (socket profile, 10 paths per prefix).
 */
export function comparePaths(a: Path, b: Path): number {
  const as = a.src;
  const bs = b.src;
  const aa = a.attrs;
  const ba = b.attrs;
  if (as.local !== bs.local) return as.local ? -1 : 1;
  const lpa = as.ibgp || as.local ? aa.localPref : 100;
  const lpb = bs.ibgp || bs.local ? ba.localPref : 100;
  if (lpa !== lpb) return lpa > lpb ? -2 : 2;
  if (aa.asPathLength !== ba.asPathLength) return aa.asPathLength < ba.asPathLength ? -3 : 3;
  if (aa.origin !== ba.origin) return aa.origin < ba.origin ? -4 : 4;
  if (aa.neighbourAs === ba.neighbourAs && aa.med !== ba.med) return aa.med < ba.med ? -5 : 5;
  if (as.ibgp !== bs.ibgp) return as.ibgp ? 6 : -6;
  const ra = aa.originatorId >= 0 ? aa.originatorId : as.routerIdNum;
  const rb = ba.originatorId >= 0 ? ba.originatorId : bs.routerIdNum;
  if (ra !== rb) return ra < rb ? -7 : 7;
  if (aa.clusterListLength !== ba.clusterListLength) return aa.clusterListLength < ba.clusterListLength ? -8 : 8;
  if (as.addressNum !== bs.addressNum) return as.addressNum < bs.addressNum ? -9 : 9;
  if (a.pathId !== b.pathId) return a.pathId < b.pathId ? -10 : 10;
  return 0;
}

/**
 * `a` is preferred to `b`: the steps, then (when every step ties, which only
 * happens between sources sharing a peer address) the source's index, so the
 * order is total and the best of a set never depends on arrival order.
 */
export function better(a: Path, b: Path): boolean {
  const c = comparePaths(a, b);
  if (c !== 0) return c < 0;
  if (a.src.index !== b.src.index) return a.src.index < b.src.index;
  return a.pathId < b.pathId;
}

/**
 * The index of the best of `n` paths given by `at(i)`, independent of their
 * order; -1 when `n` is 0. `mixed`: the paths may come from more than one
 * neighbour AS. Within one neighbour AS every step (MED included) compares
 * numbers lexicographically, so `better` is a total order and a linear scan
 * finds the best; across ASes MED is not transitive, so the best of each
 * neighbour AS is taken first (MED counts) and then the best of those (MED
 * cannot decide across ASes). O(n^2) then, for the few paths of one prefix.
 */
export function selectBest(n: number, at: (i: number) => Path, mixed: boolean): number {
  let best = -1;
  if (!mixed) {
    for (let i = 0; i < n; i++) if (best < 0 || better(at(i), at(best))) best = i;
    return best;
  }
  for (let i = 0; i < n; i++) {
    const p = at(i);
    const as = p.attrs.neighbourAs;
    let rep = true;
    for (let j = 0; j < n && rep; j++) {
      if (j === i) continue;
      const q = at(j);
      if (q.attrs.neighbourAs === as && better(q, p)) rep = false;
    }
    if (rep && (best < 0 || better(p, at(best)))) best = i;
  }
  return best;
}

/** The index of the best path of `paths` (non-empty), independent of their order. */
export function bestIndex(paths: readonly Path[]): number {
  if (paths.length === 1) return 0;
  const as = paths[0].attrs.neighbourAs;
  let mixed = false;
  for (let i = 1; i < paths.length; i++) if (paths[i].attrs.neighbourAs !== as) mixed = true;
  return selectBest(paths.length, (i) => paths[i], mixed);
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
