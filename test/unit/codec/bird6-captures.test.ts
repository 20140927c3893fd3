/**
 * BIRD 2's IPv6 UPDATEs (issue 19), captured on the wire by
 * proto-fixtures/capture/bird6.mjs: each decodes to the routes BIRD A was
 * configured to send, as capture/bird6.json records them from the script's
 * own configuration (not from this codec): the prefixes, the global next hop
 * and, on the shared link, the link-local one (RFC 2545 §3), path ids exactly
 * where ADD-PATH was negotiated (RFC 7911 §3); and they land in the IPv6 RIB
 * via the global address.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, type UpdateMessage } from '../../../src/bgp/codec/index.js';
import { formatPrefix6 } from '../../../src/bgp/prefix6.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { FIXTURE_ROOT, toContext, type FixtureContextJson } from './fixtures.js';

interface Entry {
  fixture: string;
  session: string;
  sender: string;
  context: FixtureContextJson;
  expected: { announcedFrom?: string[]; withdrawn?: string[]; nextHop?: string; linkLocalNextHop?: string | null; pathIds: boolean };
}
const manifest = JSON.parse(readFileSync(join(FIXTURE_ROOT, 'capture/bird6.json'), 'utf8')) as { speaker: string; fixtures: Entry[] };
const load = (e: Entry): UpdateMessage => decodeMessage(readFileSync(join(FIXTURE_ROOT, e.fixture)), toContext(e.context)) as UpdateMessage;

describe('BIRD 2 IPv6 captures (capture/bird6.json)', () => {
  it('cover MP_REACH and MP_UNREACH with and without ADD-PATH, from BIRD 2', () => {
    expect(manifest.speaker).toMatch(/^BIRD version 2\./);
    const kinds = manifest.fixtures.map((e) => `${e.fixture.includes('unreach') ? 'unreach' : 'reach'} ${e.expected.pathIds ? 'add-path' : 'plain'}`);
    for (const k of ['reach add-path', 'reach plain', 'unreach add-path', 'unreach plain']) expect(kinds).toContain(k);
  });

  for (const e of manifest.fixtures) {
    it(`${e.fixture} (${e.session}) decodes to what BIRD A was configured to send`, () => {
      const msg = load(e);
      expect(msg.type).toBe('UPDATE');
      expect(msg.treatAsWithdraw).toBeUndefined();
      expect(msg.nlri.keys).toEqual([]); // IPv6 only in MP_(UN)REACH_NLRI (RFC 4760)
      if (e.expected.announcedFrom) {
        const reach = msg.attributes.mpReach!;
        expect(reach).toMatchObject({ afi: 2, safi: 1 });
        if (!('nlri' in reach) || reach.afi !== 2) throw new Error('not IPv6 NLRI');
        expect([...reach.nlri.prefixes].sort()).toEqual([...e.expected.announcedFrom].sort());
        // RFC 2545 §3: global, then link-local when the peer shares the link; none on a multihop session.
        expect(reach.nextHops).toEqual(e.expected.linkLocalNextHop ? [e.expected.nextHop, e.expected.linkLocalNextHop] : [e.expected.nextHop]);
        expect(msg.attributes.nextHop).toBeUndefined();
        if (e.expected.pathIds) expect(reach.nlri.pathIds?.every((id) => id > 0)).toBe(true);
        else expect(reach.nlri.pathIds).toBeNull();
        expect(reach.nlri.pathIds?.length ?? reach.nlri.prefixes.length).toBe(reach.nlri.prefixes.length);
      } else {
        const unreach = msg.attributes.mpUnreach!;
        if (!('withdrawn' in unreach) || unreach.afi !== 2) throw new Error('not IPv6 withdrawn routes');
        expect([...unreach.withdrawn.prefixes].sort()).toEqual([...e.expected.withdrawn!].sort());
        expect(unreach.withdrawn.pathIds === null).toBe(!e.expected.pathIds);
        expect(msg.attributes.mpReach).toBeUndefined();
      }
    });
  }

  it('an ADD-PATH capture read without ADD-PATH does not give its routes (the context is what makes them right)', () => {
    const e = manifest.fixtures.find((x) => x.expected.pathIds && x.expected.announcedFrom)!;
    let prefixes: string[] = [];
    try {
      const reach = (decodeMessage(readFileSync(join(FIXTURE_ROOT, e.fixture)), toContext({ ...e.context, addPath: [] })) as UpdateMessage).attributes.mpReach;
      if (reach && 'nlri' in reach && reach.afi === 2) prefixes = reach.nlri.prefixes;
    } catch {
      /* a session reset is also "not its routes" */
    }
    expect([...prefixes].sort()).not.toEqual([...e.expected.announcedFrom!].sort());
  });

  for (const session of [...new Set(manifest.fixtures.map((e) => e.session))]) {
    it(`${session}: announce then withdraw through the IPv6 RIB leaves the /122 blocks via the global next hop`, () => {
      const [reach, unreach] = ['mp-reach', 'mp-unreach'].map((k) => manifest.fixtures.find((e) => e.session === session && e.fixture.endsWith(`-${k}.bin`))!);
      const rib6 = new Rib({ localAs: 65002, routerId: '10.98.0.2', localAddress: '10.98.0.2' }).ipv6Sibling(reach.fixture.includes('ibgp') ? 'fd98::22' : 'fd98::2');
      const ibgp = session.startsWith('ibgp');
      rib6.addPeer({ name: 'A', address: reach.sender, asNumber: ibgp ? 65002 : 65001, rrClient: false, keepOriginalNextHop: false, addPathSend: false });
      rib6.peerUp('A', { remoteRouterId: '10.98.0.1', addPathSend: false, addPathReceive: reach.expected.pathIds });
      rib6.applyUpdate('A', load(reach));
      rib6.applyUpdate('A', load(unreach));
      rib6.flush();
      const held = [...rib6.prefixes()].map((k) => `${formatPrefix6(k)} via ${rib6.lookup(k).best?.attrs.attrs.nextHop}`).sort();
      const blocks = reach.expected.announcedFrom!.filter((p) => !unreach.expected.withdrawn!.includes(p));
      expect(held).toEqual(blocks.map((p) => `${p} via ${reach.expected.nextHop}`).sort());
    });
  }
});
