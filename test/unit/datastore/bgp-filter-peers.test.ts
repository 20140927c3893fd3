/**
 * BGPPeer spec.filters (issue 21): the BGPFilters in force are resolved onto
 * the peer's session config, in order; a missing name is a problem on the
 * peer and left out (confd skips a filter it cannot read); a bad edit of a
 * filter keeps its last good version (what BIRD keeps running when confd
 * cannot render); a filter change never changes the session's identity.
 */
import { describe, expect, it } from 'vitest';
import { computePeers, computeBgpSettings, computeIdentity, type DesiredProblem } from '../../../src/datastore/desired-state.js';
import type { NodeIdentity } from '../../../src/contracts.js';
import { cacheWith, resource } from './fixtures.js';
import type { ResourceCache } from '../../../src/datastore/cache.js';

function peersOf(cache: ResourceCache) {
  const id = computeIdentity(cache, 'a') as NodeIdentity;
  const problems: DesiredProblem[] = [];
  const peers = computePeers(cache, id, computeBgpSettings(cache, 'a'), {}, problems);
  return { peers: [...peers.values()], problems };
}

let rev = 1000;
function putFilter(cache: ResourceCache, name: string, spec: unknown): void {
  const r = resource('BGPFilter', name, spec);
  cache.apply({ type: 'put', key: r.key, value: JSON.stringify(r.value), modRevision: rev++ });
}

describe('BGPPeer spec.filters', () => {
  const base = () =>
    cacheWith({
      nodes: [{ name: 'a', ip: '10.0.0.1/24' }],
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: { tor: { peerIP: '10.0.0.254', asNumber: 65100, filters: ['f2', 'f1', 'missing'] } },
    });

  it('resolves the filters in spec.filters order and names a missing one on the peer', () => {
    const cache = base();
    putFilter(cache, 'f1', { exportV4: [{ action: 'Reject', cidr: '10.244.1.0/26', matchOperator: 'Equal' }] });
    putFilter(cache, 'f2', { importV4: [{ action: 'Reject', cidr: '192.0.2.0/24', matchOperator: 'In' }] });
    const { peers, problems } = peersOf(cache);
    expect(peers.map((p) => p.filters?.map((f) => f.name))).toEqual([['f2', 'f1']]);
    expect(problems).toEqual([
      { key: '/calico/resources/v3/projectcalico.org/bgppeers/tor', message: 'spec.filters[2]: BGPFilter/missing does not exist or never parsed: not applied to this peer\'s sessions' },
    ]);
  });

  it('keeps the last good version of a filter whose edit is invalid, and reports the bad edit by key and field', () => {
    const cache = base();
    putFilter(cache, 'f1', { exportV4: [{ action: 'Reject', cidr: '10.244.1.0/26', matchOperator: 'Equal' }] });
    putFilter(cache, 'f1', { exportV4: [{ action: 'Reject', cidr: '10.244.1.0/26', matchOperator: 'Is' }] });
    expect(cache.skipped.get('/calico/resources/v3/projectcalico.org/bgpfilters/f1')).toMatchObject({
      label: 'BGPFilter/f1',
      error: expect.stringMatching(/^spec\.exportV4\[0\]\.matchOperator: "Is" is not one of/),
    });
    const { peers } = peersOf(cache);
    expect(peers[0].filters?.[0].exportV4[0].cidr?.operator).toBe('Equal');
  });

  it('a peer without filters has none set (its config is unchanged from before filters existed)', () => {
    const cache = cacheWith({ nodes: [{ name: 'a', ip: '10.0.0.1/24' }], bgpConfig: { nodeToNodeMeshEnabled: false }, peers: { tor: { peerIP: '10.0.0.254', asNumber: 65100 } } });
    expect('filters' in peersOf(cache).peers[0]).toBe(false);
  });
});
