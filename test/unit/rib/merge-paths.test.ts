/**
 * ECMP in the RIB (BIRD's kernel `merge paths on`, bgp_rte_mergable): paths
 * that tie with the best up to the tie-breaks (router id, CLUSTER_LIST
 * length, peer address, path id) give one best-path change with every next
 * hop; a path that loses at LOCAL_PREF, AS_PATH, ORIGIN, MED or eBGP/iBGP
 * does not join; the change comes as paths join and leave even when the best
 * itself stays; without mergePaths nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib, type BestPathChange } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, peer, withdraw } from './helpers.js';

const UP = { addPathSend: false, addPathReceive: false };

function setup(mergePaths = true) {
  const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1', mergePaths });
  const changes: string[] = [];
  rib.onBestPathChange((cs: BestPathChange[]) => {
    for (const c of cs) changes.push(`${formatPrefix(c.key)} ${c.best?.nextHop ?? 'gone'}${c.nextHops ? ` [${c.nextHops.join(',')}]` : ''}`);
  });
  for (const [name, addr, as] of [['b', '10.0.0.3', 64512], ['c', '10.0.0.4', 64512], ['d', '10.0.0.5', 64512], ['e', '10.0.0.6', 65100]] as const) {
    rib.addPeer(peer(name, addr, as));
    rib.peerUp(name, { remoteRouterId: addr, ...UP });
  }
  return { rib, changes };
}

describe('merge paths (ECMP next hops)', () => {
  it('two iBGP paths equal up to the router id give both next hops; one leaving gives one again', () => {
    const { rib, changes } = setup();
    rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    rib.flush();
    rib.applyUpdate('c', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.4')));
    rib.flush();
    // b stays best (lower router id): the change is the second next hop joining.
    expect(changes).toEqual(['10.244.30.0/26 10.0.0.3', '10.244.30.0/26 10.0.0.3 [10.0.0.3,10.0.0.4]']);
    changes.length = 0;
    rib.applyUpdate('b', withdraw(['10.244.30.0/26']));
    rib.flush();
    expect(changes).toEqual(['10.244.30.0/26 10.0.0.4']);
    changes.length = 0;
    rib.applyUpdate('c', withdraw(['10.244.30.0/26']));
    rib.flush();
    expect(changes).toEqual(['10.244.30.0/26 gone']);
  });

  it('a path that loses before the tie-breaks does not join: local-pref, as-path length, origin, MED, eBGP over iBGP', () => {
    for (const [name, worse] of [
      ['local-pref', ibgpAttrs('10.0.0.4', { localPref: 90 })],
      ['as-path', ibgpAttrs('10.0.0.4', { asPath: [{ type: 2, asns: [65001] }] })],
      ['origin', ibgpAttrs('10.0.0.4', { origin: 2 })],
      ['med', ibgpAttrs('10.0.0.4', { med: 10 })],
    ] as const) {
      const { rib, changes } = setup();
      rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3', { med: 0 })));
      rib.applyUpdate('c', announce(['10.244.30.0/26'], worse));
      rib.flush();
      expect(changes, name).toEqual(['10.244.30.0/26 10.0.0.3']);
    }
    // An eBGP path beats iBGP ones outright; they do not join it.
    const { rib, changes } = setup();
    rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    rib.applyUpdate('e', announce(['10.244.30.0/26'], { origin: 0, asPath: [], nextHop: '10.0.0.6' }));
    rib.flush();
    expect(changes).toEqual(['10.244.30.0/26 10.0.0.6']);
  });

  it('a third equal path joins, and two paths with one next hop are one next hop', () => {
    const { rib, changes } = setup();
    rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    rib.applyUpdate('c', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    rib.flush();
    expect(changes).toEqual(['10.244.30.0/26 10.0.0.3']);
    rib.applyUpdate('d', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.5')));
    rib.flush();
    expect(changes.at(-1)).toBe('10.244.30.0/26 10.0.0.3 [10.0.0.3,10.0.0.5]');
    // A re-announcement with the same attributes changes nothing for the kernel.
    const n = changes.length;
    rib.applyUpdate('d', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.5')));
    rib.flush();
    expect(changes.length).toBe(n);
  });

  it('our own route is never merged with a learned one; without mergePaths only the best counts', () => {
    const own = setup();
    own.rib.setLocalRoutes(new Map([[parsePrefix('10.244.30.0/26'), {}]]));
    own.rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    own.rib.flush();
    expect(own.changes).toEqual(['10.244.30.0/26 10.0.0.1']);
    const off = setup(false);
    off.rib.applyUpdate('b', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.3')));
    off.rib.applyUpdate('c', announce(['10.244.30.0/26'], ibgpAttrs('10.0.0.4')));
    off.rib.flush();
    expect(off.changes).toEqual(['10.244.30.0/26 10.0.0.3']);
  });
});
