/** Focused behaviour: negotiation, End-of-RIB, error names and NOTIFICATIONs, RFC 7606 details, hot-path shapes. */
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  decodeMessage,
  encodeAttributes,
  encodeMessage,
  endOfRib,
  familyKey,
  formatIpv6,
  isEndOfRib,
  negotiate,
  notificationFor,
  notificationName,
  packUpdates,
  parseIpv6,
  type DecodeContext,
  type OpenMessage,
  type UpdateMessage,
} from '../../../src/bgp/codec/index.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';

const AS4: DecodeContext = { as4: true, addPath: new Set(), extendedMessage: false };

function open(caps: OpenMessage['capabilities'], myAs = 64512, holdTime = 240): OpenMessage {
  return { type: 'OPEN', version: 4, myAs, holdTime, bgpId: '10.0.0.1', capabilities: caps };
}

describe('negotiate', () => {
  it('agrees on what both sides sent, per direction for ADD-PATH', () => {
    const local = open([
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 65, name: 'as4', asn: 64512 },
      { code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
      { code: 2, name: 'route-refresh' },
      { code: 6, name: 'extended-message' },
    ]);
    const remote = open(
      [
        { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
        { code: 1, name: 'multiprotocol', afi: 2, safi: 1 },
        { code: 65, name: 'as4', asn: 4200000001 },
        { code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 2 }] },
        { code: 128, name: 'route-refresh-old' },
        { code: 64, name: 'graceful-restart', restartState: true, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] },
        { code: 73, name: 'fqdn', hostname: 'node-b', domain: 'cluster.local' },
      ],
      23456,
      90,
    );
    const n = negotiate(local, remote);
    expect(n.as4).toBe(true);
    expect(n.remoteAs).toBe(4200000001);
    expect(n.holdTime).toBe(90);
    expect(n.routeRefresh).toBe(true);
    expect(n.enhancedRouteRefresh).toBe(false);
    expect(n.extendedMessage).toBe(false);
    expect(n.families).toEqual([{ afi: 1, safi: 1 }]);
    expect([...n.addPathReceive]).toEqual([familyKey(1, 1)]);
    expect([...n.addPathSend]).toEqual([]);
    expect(n.receiveContext.addPath.has(257)).toBe(true);
    expect(n.sendContext.addPath.has(257)).toBe(false);
    expect(n.gracefulRestart.remote).toMatchObject({ restartTime: 120, restartState: true, families: [{ afi: 1, safi: 1, forwardingState: true }] });
    expect(n.remoteHostname).toBe('node-b.cluster.local');
  });

  it('implies IPv4 unicast without MP, uses My AS without as4, allows hold time 0', () => {
    const n = negotiate(open([{ code: 65, name: 'as4', asn: 1 }], 1, 0), open([], 65001, 180));
    expect(n.as4).toBe(false);
    expect(n.remoteAs).toBe(65001);
    expect(n.holdTime).toBe(0);
    expect(n.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(n.gracefulRestart.remote).toBeNull();
    expect(n.receiveContext.as4).toBe(false);
  });
});

describe('End-of-RIB (RFC 4724 §2)', () => {
  it('is an empty UPDATE for IPv4 unicast and an empty MP_UNREACH otherwise', () => {
    expect(endOfRib(1, 1, AS4).toString('hex')).toBe('ff'.repeat(16) + '0017020000' + '0000');
    const v4 = decodeMessage(endOfRib(1, 1, AS4), AS4);
    expect(isEndOfRib(v4)).toEqual({ afi: 1, safi: 1 });
    const v6 = decodeMessage(endOfRib(2, 1, AS4), AS4);
    expect(isEndOfRib(v6)).toEqual({ afi: 2, safi: 1 });
  });
  it('is not any other UPDATE', () => {
    const withdraw = packUpdates(null, [parsePrefix('10.0.0.0/8')], null, AS4, true)[0];
    expect(isEndOfRib(decodeMessage(withdraw, AS4))).toBeNull();
    expect(isEndOfRib({ type: 'KEEPALIVE' })).toBeNull();
  });
});

describe('errors', () => {
  it('names codes and subcodes (RFC 4271, RFC 4486)', () => {
    expect(notificationName(2, 2)).toBe('OPEN Message Error / Bad Peer AS');
    expect(notificationName(6, 2)).toBe('Cease / Administrative Shutdown');
    expect(notificationName(6, 7)).toBe('Cease / Connection Collision Resolution');
    expect(notificationName(3, 11)).toBe('UPDATE Message Error / Malformed AS_PATH');
    expect(notificationName(4, 0)).toBe('Hold Timer Expired / Unspecific');
  });
  it('maps a BgpError to its NOTIFICATION, which encodes', () => {
    const e = new BgpError(1, 2, Uint8Array.of(0x13, 0x88));
    const n = notificationFor(e);
    expect(n).toEqual({ type: 'NOTIFICATION', code: 1, subcode: 2, data: Uint8Array.of(0x13, 0x88) });
    expect(encodeMessage(n, AS4).toString('hex')).toBe('ff'.repeat(16) + '0017030102' + '1388');
  });
  it('puts the attribute in the data of an Attribute Flags Error that resets the session', () => {
    // MP_REACH_NLRI (code 14) sent with the well-known flags 0x40: RFC 7606 §7.11 session reset.
    const attr = '400e09' + '000101040a00000100';
    const bytes = Buffer.from('ff'.repeat(16) + '0000' + '02' + '0000' + '000c' + attr, 'hex');
    const good = Buffer.from(bytes);
    good.writeUInt16BE(bytes.length, 16);
    expect.assertions(3);
    try {
      decodeMessage(good, AS4);
    } catch (e) {
      expect(e).toBeInstanceOf(BgpError);
      expect((e as BgpError).subcode).toBe(4);
      expect(Buffer.from((e as BgpError).data).toString('hex')).toBe(attr);
    }
  });
});

describe('UPDATE hot path', () => {
  it('gives numeric keys and attrBytes as a view of the message, 810 /26 in one 4096-octet UPDATE', () => {
    const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: '10.10.20.5', localPref: 100 }, AS4);
    const keys = Array.from({ length: 2000 }, (_, i) => parsePrefix('10.64.0.0/26') + i * 64 * 64);
    const msgs = packUpdates(attrs, keys, null, AS4);
    expect(msgs[0].length).toBe(4094); // 23 + 21 octets of attributes + 810 * 5
    const u = decodeMessage(msgs[0], AS4) as UpdateMessage;
    expect(u.nlri.keys.length).toBe(810);
    expect(typeof u.nlri.keys[0]).toBe('number');
    expect(u.attrBytes!.buffer).toBe(msgs[0].buffer);
    expect(Buffer.from(u.attrBytes!).equals(attrs)).toBe(true);
  });

  it('treat-as-withdraw keeps every NLRI so the RIB can withdraw them', () => {
    const bytes = Buffer.from('ff'.repeat(16) + '0000' + '02' + '0000' + '000b' + '40010103' + '400304' + '0a000001' + '1a0a085e40', 'hex');
    bytes.writeUInt16BE(bytes.length, 16);
    const u = decodeMessage(bytes, AS4) as UpdateMessage;
    expect(u.treatAsWithdraw).toMatchObject({ code: 3, subcode: 6 });
    expect(u.nlri.keys).toEqual([parsePrefix('10.8.94.64/26')]);
  });
});

describe('IPv6 text', () => {
  it('formats per RFC 5952 and parses back', () => {
    for (const [text, canon] of [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['fe80::1', 'fe80::1'],
      ['::', '::'],
      ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ]) {
      expect(formatIpv6(parseIpv6(text))).toBe(canon);
    }
    expect(() => parseIpv6('1::2::3')).toThrow();
  });
});

