/**
 * Interned path-attribute sets.
 *
 * Every UPDATE's attribute section is decoded once and interned by its raw
 * bytes (docs/ARCHITECTURE.md "Where the speed comes from"): all prefixes of that UPDATE,
 * and of every later UPDATE with byte-identical attributes, point at one
 * `InternedAttrs`. Attribute sets the RIB builds itself (our own routes, the
 * attributes it exports) are interned by a canonical text of their fields, so
 * identical exports share one set and the session encodes them once.
 *
 * The values best path reads on every comparison (AS_PATH length, neighbour
 * AS, LOCAL_PREF, ...) are computed once here, not per prefix.
 *
 * Sets are reference counted by the paths that hold them and dropped from the
 * table when the last one goes, so attribute churn does not leak.
 */
import type { AsPathSegment, PathAttributes } from '../codec/types.js';
import type { AttrSet } from '../route.js';
import { parseIpv4 } from '../prefix.js';

export class InternedAttrs implements AttrSet {
  /** Paths (or export-cache slots) holding this set. */
  refs = 0;
  /** Cache of what this set becomes when exported, keyed by (export profile, source peer). */
  exports: Map<number, InternedAttrs | null> | null = null;
  exportsEpoch = -1;

  // Best-path inputs (RFC 4271 §9.1.2.2), computed once.
  readonly localPref: number;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number;
  /** First AS of the AS_PATH (RFC 4271 §9.1.2.2 c), 0 when the path is empty (our own AS). */
  readonly neighbourAs: number;
  /** ORIGINATOR_ID as uint32, or -1 when absent. */
  readonly originatorId: number;
  readonly clusterListLength: number;
  /** IPv4 next hop (NEXT_HOP, else the first MP_REACH next hop), '' when none. */
  readonly nextHop: string;

  constructor(
    readonly id: number,
    readonly attrs: PathAttributes,
    readonly internKey: string,
  ) {
    this.localPref = attrs.localPref ?? 100;
    this.asPathLength = asPathLength(attrs.asPath);
    this.origin = attrs.origin ?? 2;
    // RFC 4271 §9.1.2.2 c: a missing MED counts as the lowest value (BIRD's default).
    this.med = attrs.med ?? 0;
    this.neighbourAs = neighbourAs(attrs.asPath);
    this.originatorId = attrs.originatorId !== undefined ? parseIpv4(attrs.originatorId) : -1;
    this.clusterListLength = attrs.clusterList?.length ?? 0;
    const mp = attrs.mpReach;
    this.nextHop = attrs.nextHop ?? (mp && 'nextHops' in mp && mp.afi === 1 ? (mp.nextHops[0] ?? '') : '');
  }
}

/**
 * AS_PATH length for best path (RFC 4271 §9.1.2.2 a): an AS_SET counts as one,
 * confederation segments (RFC 5065 §5.3) count as zero.
 */
export function asPathLength(path: AsPathSegment[] | undefined): number {
  if (!path) return 0;
  let n = 0;
  for (const seg of path) {
    if (seg.type === 2) n += seg.asns.length;
    else if (seg.type === 1) n += 1;
  }
  return n;
}

/** The AS we heard the route from: the first AS of the first AS_SEQUENCE, skipping confederation segments. */
export function neighbourAs(path: AsPathSegment[] | undefined): number {
  if (!path) return 0;
  for (const seg of path) {
    if (seg.type === 3 || seg.type === 4) continue;
    if (seg.type === 2 && seg.asns.length > 0) return seg.asns[0];
    return 0;
  }
  return 0;
}

/**
 * A canonical text of a set of attributes: same fields, same text. Field order
 * is fixed; NLRI inside MP_REACH / MP_UNREACH is left out (it is not an
 * attribute of the path, only its carrier).
 */
export function canonicalKey(a: PathAttributes): string {
  let s = `o${a.origin ?? '-'}`;
  if (a.asPath) s += `|p${a.asPath.map((g) => `${g.type}:${g.asns.join(',')}`).join(';')}`;
  if (a.nextHop !== undefined) s += `|n${a.nextHop}`;
  if (a.med !== undefined) s += `|m${a.med}`;
  if (a.localPref !== undefined) s += `|l${a.localPref}`;
  if (a.atomicAggregate) s += '|A';
  if (a.aggregator) s += `|g${a.aggregator.asn}@${a.aggregator.address}`;
  if (a.communities) s += `|c${a.communities.join(',')}`;
  if (a.originatorId !== undefined) s += `|r${a.originatorId}`;
  if (a.clusterList) s += `|k${a.clusterList.join(',')}`;
  if (a.mpReach) {
    const mp = a.mpReach;
    s += `|M${mp.afi}/${mp.safi}`;
    if ('nextHops' in mp) s += `:${mp.nextHops.join(',')}`;
    else s += `:${hex(mp.raw)}`;
  }
  if (a.mpUnreach) s += `|U${a.mpUnreach.afi}/${a.mpUnreach.safi}`;
  if (a.extendedCommunities) s += `|x${a.extendedCommunities.map(hex).join(',')}`;
  if (a.as4Path) s += `|P${a.as4Path.map((g) => `${g.type}:${g.asns.join(',')}`).join(';')}`;
  if (a.as4Aggregator) s += `|G${a.as4Aggregator.asn}@${a.as4Aggregator.address}`;
  if (a.largeCommunities) s += `|L${a.largeCommunities.map((t) => t.join(':')).join(',')}`;
  if (a.unknown) s += `|u${a.unknown.map((u) => `${u.flags}/${u.code}/${hex(u.data)}`).join(',')}`;
  return s;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The table of interned sets. Keys starting with 'R' are raw wire bytes, 'C' canonical text. */
export class AttrTable {
  private readonly byKey = new Map<string, InternedAttrs>();
  private nextId = 1;

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Intern the attributes of a received UPDATE. The raw section is the key
   * when present and the set carries no MP_REACH / MP_UNREACH (whose bytes
   * include NLRI and would make every UPDATE unique); otherwise the canonical
   * text of the attributes without the NLRI.
   */
  internReceived(attrs: PathAttributes, raw: Uint8Array | undefined): InternedAttrs {
    if (raw !== undefined && attrs.mpReach === undefined && attrs.mpUnreach === undefined) {
      const key = 'R' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
      const hit = this.byKey.get(key);
      if (hit !== undefined) return hit;
      return this.add(key, attrs);
    }
    return this.intern(withoutNlri(attrs));
  }

  /** Intern attributes built by the RIB (our own routes, exports). */
  intern(attrs: PathAttributes): InternedAttrs {
    const key = 'C' + canonicalKey(attrs);
    return this.byKey.get(key) ?? this.add(key, attrs);
  }

  private add(key: string, attrs: PathAttributes): InternedAttrs {
    const set = new InternedAttrs(this.nextId++, Object.freeze(attrs), key);
    this.byKey.set(key, set);
    return set;
  }

  /**
   * The interned set for `attrs` if there is one, else a set outside the
   * table (for a one-off answer about a path already gone).
   */
  peek(attrs: PathAttributes): InternedAttrs {
    const key = 'C' + canonicalKey(attrs);
    return this.byKey.get(key) ?? new InternedAttrs(this.nextId++, Object.freeze(attrs), key);
  }

  /** One more holder of `set`. */
  retain(set: InternedAttrs): void {
    set.refs++;
  }

  /**
   * One holder fewer; at zero the set leaves the table and lets go of its
   * cached exports. The cache itself stays readable: a flush may still ask
   * what the gone path was exported as, to withdraw or replace it.
   */
  release(set: InternedAttrs): void {
    if (--set.refs > 0) return;
    if (this.byKey.get(set.internKey) === set) this.byKey.delete(set.internKey);
    const cached = set.exports;
    if (cached) for (const out of cached.values()) if (out !== null) this.release(out);
  }
}

/** Keep the next hop of an IPv4 MP_REACH but not its NLRI (the RIB holds those as keys). */
function withoutNlri(attrs: PathAttributes): PathAttributes {
  if (attrs.mpReach === undefined && attrs.mpUnreach === undefined) return attrs;
  const { mpReach, mpUnreach: _drop, ...rest } = attrs;
  void _drop;
  if (mpReach && 'nextHops' in mpReach && mpReach.afi === 1 && rest.nextHop === undefined) {
    rest.nextHop = mpReach.nextHops[0];
  }
  return rest;
}
