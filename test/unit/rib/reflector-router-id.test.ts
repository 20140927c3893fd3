/**
 * RFC 4456 §8: a reflected route carries ORIGINATOR_ID = the router id of the
 * client it came from. The RIB caches exports per attribute set; a client's
 * first session must not throw every cache away (issue 17: at 1000 clients
 * that made every reflected table a fresh set of attribute objects), but a
 * client that comes back with another router id must get the new one.
 */
import { describe, expect, it } from 'vitest';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, OutRecorder, peer } from './helpers.js';

const AS = 64512;

function reflector() {
  const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId: '10.0.0.1', localAddress: '10.0.0.1' });
  const rec = new OutRecorder().attach(rib);
  for (const [n, a] of [['c1', '10.0.0.11'], ['c2', '10.0.0.12'], ['c3', '10.0.0.13']]) rib.addPeer(peer(n, a, AS, { rrClient: true, addPathSend: false }));
  const up = (name: string, id: string) => rec.reset(name, rib.peerUp(name, { remoteRouterId: id, addPathSend: false, addPathReceive: false }));
  return { rib, rec, up };
}

describe('route reflection across clients\' router ids (RFC 4456 §8)', () => {
  it('reflects with the ORIGINATOR_ID of the client; the same export object serves every client', () => {
    const { rib, rec, up } = reflector();
    up('c1', '1.1.1.11');
    up('c2', '1.1.1.12');
    rib.applyUpdate('c1', announce(['10.244.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    up('c3', '1.1.1.13'); // a later client's first session
    const first = (name: string) => rec.batches.filter((b) => b.peer === name).flatMap((b) => b.changes)[0].attrs!;
    const to2 = first('c2');
    const to3 = first('c3');
    expect(to2.attrs.originatorId).toBe('1.1.1.11');
    expect(to3).toBe(to2); // shared: c3's first session did not invalidate the cached export
  });

  it('a client back with another router id is reflected with the new ORIGINATOR_ID', () => {
    const { rib, rec, up } = reflector();
    up('c1', '1.1.1.11');
    up('c2', '1.1.1.12');
    rib.applyUpdate('c1', announce(['10.244.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    expect(rec.table('c2')['10.244.1.0/26'].originatorId).toBe('1.1.1.11');
    rib.peerDown('c1', { graceful: false, restartTime: 0 });
    rib.flush();
    expect(rec.table('c2')['10.244.1.0/26']).toBeUndefined();
    up('c1', '2.2.2.11'); // the node was rebuilt: same address, new router id
    rib.applyUpdate('c1', announce(['10.244.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    expect(rec.table('c2')['10.244.1.0/26'].originatorId).toBe('2.2.2.11');
  });
});
