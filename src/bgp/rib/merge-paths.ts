/**
 * Which paths share the kernel route with the best one: BIRD's kernel
 * protocol with `merge paths on` (confd's bird.cfg.template renders it for
 * every calico-node, "Allow export multipath routes (ECMP)") installs one
 * multipath route over the best route and every route `rte_mergable` with it.
 * For BGP that is bgp_rte_mergable: equal after RFC 4271 §9.1.2.2 up to the
 * IGP cost, i.e. the same LOCAL_PREF, AS_PATH length, ORIGIN, MED (between
 * paths from the same neighbour AS), and both iBGP or both eBGP; router id,
 * CLUSTER_LIST length, peer address and path id (the tie-breaks after that)
 * do not count. A locally originated route is never merged with a learned one
 * (BIRD: different protocols, rte_mergable is false).
 *
 * The steps are the ones in best-path.ts (comparePaths returns the step that
 * decided); the tie-breaks begin at 'router id'.
 */
import { BEST_PATH_STEPS, comparePaths } from './best-path.js';
import type { Path } from './path.js';

/** 1-based index of the first tie-break step: a comparison decided there (or not at all) is a tie for ECMP. */
const FIRST_TIE_BREAK = BEST_PATH_STEPS.findIndex((s) => s.name === 'router id') + 1;

/** `p` is equally good as `best` for the kernel (BIRD's bgp_rte_mergable). */
export function mergable(best: Path, p: Path): boolean {
  if (best.src.local || p.src.local) return best === p;
  const c = comparePaths(best, p);
  return c === 0 || Math.abs(c) >= FIRST_TIE_BREAK;
}

/**
 * The distinct next hops of `best` and of the accepted paths mergable with
 * it, `best`'s first and the rest in the order given; one entry when there is
 * nothing to merge.
 */
export function mergedNextHops(best: Path, accepted: readonly Path[], nextHopOf: (p: Path) => string): string[] {
  const out = [nextHopOf(best)];
  for (const p of accepted) {
    if (p === best || !mergable(best, p)) continue;
    const nh = nextHopOf(p);
    if (!out.includes(nh)) out.push(nh);
  }
  return out;
}
