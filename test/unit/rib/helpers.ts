/** Small builders for RIB tests: UPDATEs from prefix strings, peers, snapshots. */
import type { PathAttributes, UpdateMessage } from '../../../src/bgp/codec/types.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { OutChange } from '../../../src/bgp/route.js';
import type { Rib, RibPeer } from '../../../src/bgp/rib/rib.js';

export function announce(prefixes: string[], attributes: PathAttributes, pathIds?: number[]): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: [], pathIds: null },
    attributes,
    nlri: { keys: prefixes.map((p) => parsePrefix(p)), pathIds: pathIds ?? null },
  };
}

export function withdraw(prefixes: string[], pathIds?: number[]): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: prefixes.map((p) => parsePrefix(p)), pathIds: pathIds ?? null },
    attributes: {},
    nlri: { keys: [], pathIds: null },
  };
}

export function ibgpAttrs(nextHop: string, extra: PathAttributes = {}): PathAttributes {
  return { origin: 0, asPath: [], nextHop, localPref: 100, ...extra };
}

export function peer(name: string, address: string, asNumber: number, extra: Partial<RibPeer> = {}): RibPeer {
  return { name, address, asNumber, rrClient: false, keepOriginalNextHop: false, addPathSend: false, ...extra };
}

/** Loc-RIB as text: prefix -> "best-peer nexthop" (sorted), for snapshot comparisons. */
export function locRib(rib: Rib, prefixes: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const p of prefixes) {
    const r = rib.lookup(parsePrefix(p));
    out[p] = r.best ? `${r.best.peer ?? 'local'} ${r.best.attrs.attrs.nextHop}` : null;
  }
  return out;
}

/** A peer's Adj-RIB-Out as kept by a listener: prefix[/pathId] -> attributes. */
export class OutRecorder {
  readonly tables = new Map<string, Map<string, PathAttributes>>();
  readonly batches: { peer: string; changes: OutChange[] }[] = [];
  attach(rib: Rib): this {
    rib.onAdjRibOut((peer, changes) => this.apply(peer, changes));
    return this;
  }
  apply(peer: string, changes: OutChange[]): void {
    this.batches.push({ peer, changes });
    let t = this.tables.get(peer);
    if (!t) this.tables.set(peer, (t = new Map()));
    for (const c of changes) {
      const k = c.pathId ? `${formatPrefix(c.key)}#${c.pathId}` : formatPrefix(c.key);
      if (c.attrs) t.set(k, c.attrs.attrs);
      else t.delete(k);
    }
  }
  /** Replace the table of a peer with a full Adj-RIB-Out (what peerUp returns). */
  reset(peer: string, full: OutChange[]): void {
    this.tables.set(peer, new Map());
    this.apply(peer, full);
  }
  table(peer: string): Record<string, PathAttributes> {
    return Object.fromEntries([...(this.tables.get(peer) ?? new Map()).entries()].sort());
  }
}
