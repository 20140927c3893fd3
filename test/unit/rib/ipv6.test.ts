/**
 * The IPv6 unicast RIB (issue 19): a second Rib with family 6, keyed by
 * prefix6 ids, fed by MP_REACH_NLRI / MP_UNREACH_NLRI AFI 2 (RFC 4760), with
 * the IPv4 RIB's best path, ADD-PATH, route reflection and graceful restart.
 */
import { describe, expect, it } from 'vitest';
import type { PathAttributes, UpdateMessage } from '../../../src/bgp/codec/types.js';
import { Rib, type BestPathChange } from '../../../src/bgp/rib/rib.js';
import { formatPrefix6, isPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import type { OutChange } from '../../../src/bgp/route.js';
import { originatedRoutes6 } from '../../../src/bgp/rib/calico-policy6.js';
import { learnedExportFilter } from '../../../src/bgp/rib/calico-policy.js';
import { peer } from './helpers.js';

const BIRD_LL = 'fe80::1';

function reach6(prefixes: string[], nextHop: string, extra: PathAttributes = {}, pathIds?: number[]): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: [], pathIds: null },
    // BIRD sends global + link-local (RFC 2545 §3, 32 octets).
    attributes: { origin: 0, asPath: [], localPref: 100, ...extra, mpReach: { afi: 2, safi: 1, nextHops: [nextHop, BIRD_LL], nlri: { prefixes, pathIds: pathIds ?? null } } },
    nlri: { keys: [], pathIds: null },
  };
}

function unreach6(prefixes: string[], pathIds?: number[]): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: [], pathIds: null },
    attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: { prefixes, pathIds: pathIds ?? null } } },
    nlri: { keys: [], pathIds: null },
  };
}

function newRib6(opts: { clusterId?: string } = {}) {
  let cancel: (() => void) | null = null;
  let timer: (() => void) | null = null;
  const v4 = new Rib({
    localAs: 64512,
    routerId: '10.0.0.1',
    localAddress: '10.0.0.1',
    clusterId: opts.clusterId,
    schedule: (_ms, fn) => {
      timer = fn;
      cancel = () => (timer = null);
      return cancel;
    },
  });
  const rib = v4.ipv6Sibling('fd00:1::1');
  const best: BestPathChange[] = [];
  const out = new Map<string, OutChange[]>();
  rib.onBestPathChange((c) => best.push(...c));
  rib.onAdjRibOut((p, c) => out.set(p, [...(out.get(p) ?? []), ...c]));
  return { rib, v4, best, out, fireTimer: () => timer?.() };
}

const bestOf = (rib: Rib, prefix: string) => {
  const r = rib.lookup(parsePrefix6(prefix));
  return r.best ? `${r.best.peer ?? 'local'} ${r.best.attrs.attrs.nextHop}` : null;
};

describe('IPv6 RIB', () => {
  it('takes MP_REACH AFI 2 paths with the global next hop, withdraws them on MP_UNREACH, and leaves the IPv4 RIB alone', () => {
    const { rib, v4, best } = newRib6();
    expect(rib.family).toBe(6);
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('b', reach6(['fd00:245::/122', 'fd00:245::40/122'], 'fd00:1::2'));
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBe('b fd00:1::2');
    expect(best.map((c) => [formatPrefix6(c.key), c.best?.nextHop ?? null]).sort()).toEqual([
      ['fd00:245::/122', 'fd00:1::2'],
      ['fd00:245::40/122', 'fd00:1::2'],
    ]);
    expect(best.every((c) => isPrefix6(c.key))).toBe(true);
    expect([...v4.prefixes()]).toEqual([]);
    best.length = 0;
    rib.applyUpdate('b', unreach6(['fd00:245::/122']));
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBeNull();
    expect(bestOf(rib, 'fd00:245::40/122')).toBe('b fd00:1::2');
    expect(best).toEqual([{ key: parsePrefix6('fd00:245::/122'), best: null }]);
  });

  it('IPv4 NLRI in an UPDATE is not the IPv6 RIB family', () => {
    const { rib } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.applyUpdate('b', { type: 'UPDATE', withdrawn: { keys: [], pathIds: null }, attributes: { origin: 0, asPath: [], nextHop: '10.0.0.2' }, nlri: { keys: [5], pathIds: null } });
    rib.flush();
    expect([...rib.prefixes()]).toEqual([]);
  });

  it('chooses the best path as IPv4 does (local pref, then lowest router id) and re-selects when the best goes', () => {
    const { rib } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.addPeer(peer('c', 'fd00:1::3', 64512));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.peerUp('c', { remoteRouterId: '10.0.0.3', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('c', reach6(['fd00:245::/122'], 'fd00:1::3'));
    rib.applyUpdate('b', reach6(['fd00:245::/122'], 'fd00:1::2'));
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBe('b fd00:1::2'); // lower router id
    rib.applyUpdate('c', reach6(['fd00:245::/122'], 'fd00:1::3', { localPref: 200 }));
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBe('c fd00:1::3');
    expect(rib.lookup(parsePrefix6('fd00:245::/122')).reason).toMatch(/local.?pref/i);
    rib.applyUpdate('c', unreach6(['fd00:245::/122']));
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBe('b fd00:1::2');
  });

  it('exports its own IPv6 blocks with its IPv6 address as next hop, learned ones only inside an exported IPv6 pool', () => {
    const { rib, out } = newRib6();
    const pools = [
      { name: 'v6', cidr: 'fd00:245::/64', ipipMode: 'Never' as const, vxlanMode: 'Never' as const, disableBGPExport: false, disabled: false, blockSize: 122 },
      { name: 'noexp', cidr: 'fd00:999::/64', ipipMode: 'Never' as const, vxlanMode: 'Never' as const, disableBGPExport: true, disabled: false, blockSize: 122 },
    ];
    const own = originatedRoutes6(
      [
        { cidr: 'fd00:245::1:0/122', state: 'confirmed' },
        { cidr: 'fd00:245::2:0/122', state: 'pending' },
        { cidr: 'fd00:999::/122', state: 'confirmed' },
      ],
      pools as never,
    );
    expect([...own.routes.keys()].map(formatPrefix6)).toEqual(['fd00:245::1:0/122']);
    rib.setLocalRoutes(own.routes);
    rib.setExportFilter(learnedExportFilter(pools as never));
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    // eBGP, so learned routes go there; `add paths on` as Calico renders every session.
    rib.addPeer(peer('c', 'fd00:1::3', 64513, { addPathSend: true }));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    const full = rib.peerUp('c', { remoteRouterId: '10.0.0.3', addPathSend: true, addPathReceive: true });
    expect(full.map((c) => [formatPrefix6(c.key), c.attrs?.attrs.nextHop])).toEqual([['fd00:245::1:0/122', 'fd00:1::1']]);
    rib.applyUpdate('b', reach6(['fd00:245::40/122', 'fd00:777::/122'], 'fd00:1::2'));
    rib.flush();
    const toC = (out.get('c') ?? []).map((c) => [formatPrefix6(c.key), c.attrs?.attrs.nextHop]);
    expect(toC).toEqual([['fd00:245::40/122', 'fd00:1::1']]);
  });

  it('ADD-PATH: every path of an IPv6 destination goes to an ADD-PATH peer with its own path id', () => {
    const { rib } = newRib6({ clusterId: '1.1.1.1' });
    rib.addPeer(peer('b', 'fd00:1::2', 64512, { rrClient: true }));
    rib.addPeer(peer('c', 'fd00:1::3', 64512, { rrClient: true }));
    rib.addPeer(peer('d', 'fd00:1::4', 64512, { rrClient: true, addPathSend: true }));
    for (const [n, id] of [['b', '10.0.0.2'], ['c', '10.0.0.3']] as const) rib.peerUp(n, { remoteRouterId: id, addPathSend: false, addPathReceive: false });
    rib.applyUpdate('b', reach6(['fd00:245::/122'], 'fd00:1::2'));
    rib.applyUpdate('c', reach6(['fd00:245::/122'], 'fd00:1::3'));
    rib.flush();
    const full = rib.peerUp('d', { remoteRouterId: '10.0.0.4', addPathSend: true, addPathReceive: true });
    expect(full).toHaveLength(2);
    expect(new Set(full.map((c) => c.pathId)).size).toBe(2);
    // Route reflection (RFC 4456 §8): ORIGINATOR_ID and CLUSTER_LIST on reflected IPv6 paths, next hop kept for iBGP.
    for (const c of full) {
      expect(c.attrs?.attrs.clusterList).toEqual(['1.1.1.1']);
      expect(c.attrs?.attrs.originatorId).toMatch(/^10\.0\.0\.[23]$/);
      expect(c.attrs?.attrs.nextHop).toMatch(/^fd00:1::[23]$/);
    }
  });

  it('ADD-PATH received: two path ids of one peer are two paths', () => {
    const { rib } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: true });
    rib.applyUpdate('b', reach6(['fd00:245::/122', 'fd00:245::/122'], 'fd00:1::2', {}, [1, 2]));
    rib.flush();
    expect(rib.lookup(parsePrefix6('fd00:245::/122')).paths).toHaveLength(2);
    rib.applyUpdate('b', unreach6(['fd00:245::/122'], [1]));
    rib.flush();
    expect(rib.lookup(parsePrefix6('fd00:245::/122')).paths).toHaveLength(1);
  });

  it('graceful restart (RFC 4724): IPv6 paths stay stale across the restart, End-of-RIB drops the ones not re-announced', () => {
    const { rib } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('b', reach6(['fd00:245::/122', 'fd00:245::40/122'], 'fd00:1::2'));
    rib.flush();
    rib.peerDown('b', { graceful: true, restartTime: 120 });
    rib.flush();
    expect(rib.lookup(parsePrefix6('fd00:245::/122')).best?.stale).toBe(true);
    expect(bestOf(rib, 'fd00:245::40/122')).toBe('b fd00:1::2');
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('b', reach6(['fd00:245::/122'], 'fd00:1::2'));
    rib.endOfRib('b');
    rib.flush();
    expect(rib.lookup(parsePrefix6('fd00:245::/122')).best?.stale).toBe(false);
    expect(bestOf(rib, 'fd00:245::40/122')).toBeNull();
  });

  it('graceful restart: the restart timer drops stale IPv6 paths when the peer does not come back', () => {
    const { rib, fireTimer } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    rib.peerUp('b', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('b', reach6(['fd00:245::/122'], 'fd00:1::2'));
    rib.flush();
    rib.peerDown('b', { graceful: true, restartTime: 120 });
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBe('b fd00:1::2');
    fireTimer();
    rib.flush();
    expect(bestOf(rib, 'fd00:245::/122')).toBeNull();
  });

  it('holds many IPv6 destinations through table growth (slots move, keys stay)', () => {
    const { rib } = newRib6();
    rib.addPeer(peer('b', 'fd00:1::2', 64512));
    const prefixes = Array.from({ length: 5000 }, (_, i) => `fd00:245::${(i >> 10).toString(16)}:${((i * 64) & 0xffff).toString(16)}/122`);
    rib.applyUpdate('b', reach6(prefixes, 'fd00:1::2'));
    rib.flush();
    expect(new Set([...rib.prefixes()].map(formatPrefix6))).toEqual(new Set(prefixes.map((p) => formatPrefix6(parsePrefix6(p)))));
    rib.applyUpdate('b', unreach6(prefixes.slice(0, 2500)));
    rib.flush();
    expect([...rib.prefixes()]).toHaveLength(2500);
  });
});
