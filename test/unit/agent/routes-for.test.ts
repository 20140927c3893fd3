/**
 * `agent routes for <address>` (issue 23): the longest Loc-RIB prefix that
 * covers an address, as `birdc show route for`, in the IPv4 and the IPv6 RIB.
 */
import { describe, expect, it } from 'vitest';
import { inspectRoutes, longestMatch } from '../../../src/agent/inspect.js';
import { parsePrefix, formatPrefix } from '../../../src/bgp/prefix.js';
import { parsePrefix6, formatPrefix6 } from '../../../src/bgp/prefix6.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, peer } from '../rib/helpers.js';

function ribs() {
  const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' });
  rib.addPeer(peer('Mesh_10_0_0_2', '10.0.0.2', 64512));
  rib.peerUp('Mesh_10_0_0_2', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
  // A covering /16 learned, a /26 inside it learned, an unrelated /24, our own /26 elsewhere.
  rib.applyUpdate('Mesh_10_0_0_2', announce(['10.244.0.0/16', '10.244.3.0/26', '10.250.1.0/24'], ibgpAttrs('10.0.0.2')));
  rib.setLocalRoutes(new Map([[parsePrefix('10.244.9.0/26'), {}]]));
  rib.flush();
  const rib6 = rib.ipv6Sibling('fd00:1::1');
  rib6.setLocalRoutes(new Map([[parsePrefix6('fd00:245::/64'), {}], [parsePrefix6('fd00:245::1:0/122'), {}]]));
  rib6.flush();
  return { rib, rib6 };
}

const v4 = (rib: Rib, target: string) => {
  const k = longestMatch(rib, null, target);
  return k === undefined ? undefined : formatPrefix(k);
};

describe('agent routes for', () => {
  it('picks the longest IPv4 prefix covering the address, down to a covering one, or none', () => {
    const { rib } = ribs();
    expect(v4(rib, '10.244.3.7')).toBe('10.244.3.0/26');
    expect(v4(rib, '10.244.3.64')).toBe('10.244.0.0/16'); // just past the /26
    expect(v4(rib, '10.244.9.1')).toBe('10.244.9.0/26'); // our own block
    expect(v4(rib, '10.244.3.0/28')).toBe('10.244.3.0/26'); // a prefix: the longest one holding all of it
    expect(v4(rib, '10.244.0.0/15')).toBeUndefined(); // wider than anything held
    expect(v4(rib, '192.168.1.1')).toBeUndefined();
    expect(() => longestMatch(rib, null, 'node-b')).toThrow('"node-b" is not an IPv4 or IPv6 address');
  });

  it('picks the longest IPv6 prefix in the IPv6 RIB', () => {
    const { rib, rib6 } = ribs();
    const v6 = (target: string) => {
      const k = longestMatch(rib, rib6, target);
      return k === undefined ? undefined : formatPrefix6(k);
    };
    expect(v6('fd00:245::1:5')).toBe('fd00:245::1:0/122');
    expect(v6('fd00:245::2:5')).toBe('fd00:245::/64');
    expect(v6('fd00:999::1')).toBeUndefined();
    expect(longestMatch(rib, null, 'fd00:245::1:5')).toBeUndefined(); // no IPv6 RIB on this node
  });

  it('answers through inspectRoutes with the whole Loc-RIB entry: paths, best, the kernel route', () => {
    const { rib, rib6 } = ribs();
    const [view] = inspectRoutes(rib, undefined, { for: '10.244.3.9' }, undefined, rib6);
    expect(view).toMatchObject({ prefix: '10.244.3.0/26', paths: [{ peer: 'Mesh_10_0_0_2', nextHop: '10.0.0.2', best: true }] });
    expect(inspectRoutes(rib, undefined, { for: 'fd00:245::1:5' }, undefined, rib6).map((r) => r.prefix)).toEqual(['fd00:245::1:0/122']);
    expect(inspectRoutes(rib, undefined, { for: '172.16.0.1' }, undefined, rib6)).toEqual([]);
  });
});
