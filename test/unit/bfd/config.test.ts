/**
 * BFD configuration from the Calico datastore (issue 22): BGPPeer
 * spec.failureDetectionMode and BGPConfiguration spec.bfd, through the real
 * validation and desired-state computation; and that a timer change is not
 * a BGP session change.
 */
import { describe, expect, it } from 'vitest';
import { computeDesiredState, diffDesired } from '../../../src/datastore/desired-state.js';
import type { DesiredState, PeerConfig } from '../../../src/contracts.js';
import { cacheWith } from '../datastore/fixtures.js';

const nodes = [{ name: 'a', ip: '10.0.0.1/24' }];
const PEER_KEY = '/calico/resources/v3/projectcalico.org/bgppeers';
const CFG_KEY = '/calico/resources/v3/projectcalico.org/bgpconfigurations';

function compute(opts: Parameters<typeof cacheWith>[0]) {
  const r = computeDesiredState(cacheWith({ nodes, ...opts }), 'a');
  if (!r.state) throw new Error(JSON.stringify(r.problems));
  const byAddress = (ip: string): PeerConfig => [...r.state!.peers.values()].find((p) => p.address === ip)!;
  return { state: r.state as DesiredState, problems: r.problems, byAddress };
}

describe('BFD configuration', () => {
  it('BFDIfDirectlyConnected: BFD for a peer on our subnet, with the default 100/100/3', () => {
    const { byAddress, problems } = compute({
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: {
        near: { peerIP: '10.0.0.3', asNumber: 64512, failureDetectionMode: 'BFDIfDirectlyConnected' },
        far: { peerIP: '10.9.0.3', asNumber: 64512, failureDetectionMode: 'BFDIfDirectlyConnected' },
        plain: { peerIP: '10.0.0.4', asNumber: 64512 },
        off: { peerIP: '10.0.0.5', asNumber: 64512, failureDetectionMode: 'None' },
      },
    });
    expect(byAddress('10.0.0.3').bfd).toEqual({ minTxMs: 100, minRxMs: 100, multiplier: 3 });
    expect(byAddress('10.9.0.3').bfd).toBeUndefined(); // not directly connected: single hop only
    expect(byAddress('10.0.0.4').bfd).toBeUndefined();
    expect(byAddress('10.0.0.5').bfd).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('takes spec.bfd from default, node.<name> over it field by field', () => {
    const { byAddress } = compute({
      bgpConfig: { nodeToNodeMeshEnabled: false, bfd: { minTxMs: 300, minRxMs: 200 } },
      nodeConfigs: { a: { bfd: { minRxMs: 50, multiplier: 5 } } },
      peers: { near: { peerIP: '10.0.0.3', asNumber: 64512, failureDetectionMode: 'BFDIfDirectlyConnected' } },
    });
    expect(byAddress('10.0.0.3').bfd).toEqual({ minTxMs: 300, minRxMs: 50, multiplier: 5 });
  });

  it('unknown values are problems naming resource and field; the rest still applies', () => {
    const { byAddress, problems, state } = compute({
      bgpConfig: { nodeToNodeMeshEnabled: false, asNumber: 65001, bfd: { minTxMs: 'fast', multiplier: 0, interval: 5 } },
      peers: { near: { peerIP: '10.0.0.3', asNumber: 65001, failureDetectionMode: 'BFDAlways' }, ok: { peerIP: '10.0.0.6', asNumber: 65001, failureDetectionMode: 'BFDIfDirectlyConnected' } },
    });
    expect(state.node.asNumber).toBe(65001); // the BGPConfiguration was not skipped
    expect(byAddress('10.0.0.3')).toBeDefined(); // the peering is kept, without BFD
    expect(byAddress('10.0.0.3').bfd).toBeUndefined();
    expect(byAddress('10.0.0.6').bfd).toEqual({ minTxMs: 100, minRxMs: 100, multiplier: 3 });
    expect(problems).toEqual(
      expect.arrayContaining([
        { key: `${CFG_KEY}/default`, message: 'spec.bfd.minTxMs: "fast" is not an integer in 1..60000: the default applies' },
        { key: `${CFG_KEY}/default`, message: 'spec.bfd.multiplier: 0 is not an integer in 1..255: the default applies' },
        { key: `${CFG_KEY}/default`, message: 'spec.bfd.interval: is not a BFD setting (minTxMs, minRxMs, multiplier): ignored' },
        { key: `${PEER_KEY}/near`, message: 'spec.failureDetectionMode: "BFDAlways" is not one of None, BFDIfDirectlyConnected: BFD is off for this peer' },
      ]),
    );
  });

  it('a timer change is a peer change (the BFD manager applies it) but not a new peer', () => {
    const peers = { near: { peerIP: '10.0.0.3', asNumber: 64512, failureDetectionMode: 'BFDIfDirectlyConnected' } };
    const before = compute({ bgpConfig: { nodeToNodeMeshEnabled: false }, peers }).state;
    const after = compute({ bgpConfig: { nodeToNodeMeshEnabled: false, bfd: { minTxMs: 50 } }, peers }).state;
    const d = diffDesired(before, after);
    expect(d.peersChanged.map((p) => p.bfd)).toEqual([{ minTxMs: 50, minRxMs: 100, multiplier: 3 }]);
    expect(d.peersAdded).toEqual([]);
    expect(d.peersRemoved).toEqual([]);
  });
});
