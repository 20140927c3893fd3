#!/usr/bin/env node
// Hand-built wire fixtures, assembled octet by octet from the RFC message
// formats (RFC 4271 §4, RFC 4760, RFC 5492, RFC 6793, RFC 7911, RFC 4724,
// RFC 8654, RFC 9072, RFC 2918, RFC 7313, RFC 9003) without the codec, so the
// codec cannot bless its own mistakes. Writes proto-fixtures/<type>/hand-*.bin
// and, for malformed/, the .json with the expected error written by hand.
//
//   node test/unit/codec/tools/hand-fixtures.mjs
//
// The decoded .json of the well-formed ones is written by decode-fixtures.mjs
// (after `npx tsc -p .`) and then read and checked by a person.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../../proto-fixtures');

const u8 = (...xs) => xs.flat(Infinity);
const u16 = (v) => [(v >> 8) & 255, v & 255];
const u32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const ip = (s) => s.split('.').map(Number);
const ascii = (s) => [...Buffer.from(s, 'utf8')];
/** RFC 4271 §4.1 header around a body. */
const msg = (type, body, lengthOverride) => u8(new Array(16).fill(0xff), u16(lengthOverride ?? 19 + body.length), type, body);
/** Path attribute: flags, code, length (1 or 2 octets per the Extended Length bit), value. */
const attr = (flags, code, value) => u8(flags, code, flags & 0x10 ? u16(value.length) : value.length, value);
/** IPv4 prefix as (length, significant octets); `extra` octets keep host bits as real dumps do. */
const pfx = (text) => {
  const [a, l] = text.split('/');
  return u8(Number(l), ip(a).slice(0, (Number(l) + 7) >> 3));
};
const update = (withdrawn, attrs, nlri) => msg(2, u8(u16(withdrawn.length), withdrawn, u16(attrs.length), attrs, nlri));
const open = (myAs, hold, id, params) => msg(1, u8(4, u16(myAs), u16(hold), ip(id), params.length, params));
const capParam = (caps) => u8(2, caps.length, caps);
const cap = (code, value) => u8(code, value.length, value);

const ORIGIN = (v) => attr(0x40, 1, [v]);
const AS_PATH4 = (...segs) => attr(0x40, 2, u8(...segs.map(([t, asns]) => u8(t, asns.length, asns.map(u32)))));
const AS_PATH2 = (...segs) => attr(0x40, 2, u8(...segs.map(([t, asns]) => u8(t, asns.length, asns.map(u16)))));
const NEXT_HOP = (a) => attr(0x40, 3, ip(a));
const LOCAL_PREF = (v) => attr(0x40, 5, u32(v));
const MED = (v) => attr(0x80, 4, u32(v));

const AS4 = { as4: true, addPath: [], extendedMessage: false };
const AS2 = { as4: false, addPath: [], extendedMessage: false };

const fixtures = [];
const add = (dir, name, bytes, meta) => fixtures.push({ dir, name, bytes: Uint8Array.from(bytes), meta });

// ---------------------------------------------------------------- OPEN
add('open', 'hand-open-bird-style', open(64512, 240, '10.0.0.1', capParam(u8(
  cap(1, [0, 1, 0, 1]), // MP IPv4 unicast
  cap(2, []), // route refresh
  cap(6, []), // extended message
  cap(64, [0x80 | 0, 120, 0, 1, 1, 0x80]), // GR: R bit, 120 s, IPv4 unicast with F bit
  cap(65, u32(64512)), // 4-octet AS
  cap(69, [0, 1, 1, 3]), // ADD-PATH IPv4 unicast send+receive
  cap(70, []), // enhanced route refresh
  cap(73, u8(6, ascii('node-a'), 0)), // hostname "node-a", empty domain (BIRD)
))), { context: AS4, description: 'OPEN in the shape BIRD 2 sends: all capabilities in one optional parameter' });

add('open', 'hand-open-frr-style', open(23456, 180, '192.168.1.2', u8(
  capParam(cap(1, [0, 1, 0, 1])),
  capParam(cap(128, [])),
  capParam(cap(2, [])),
  capParam(cap(65, u32(4200000001))), // real AS needs 4 octets: My AS is AS_TRANS
  capParam(cap(69, [0, 1, 1, 1])), // ADD-PATH receive only
  capParam(cap(73, u8(4, ascii('frr1'), 11, ascii('example.com')))),
  capParam(cap(64, [0x40 | 0x00, 0x78])), // GR with N bit (RFC 8538), no families
  capParam(cap(71, [0, 1, 1, 0x80, 0, 0, 0x0e, 0x10])), // long-lived GR: not interpreted, kept as bytes
)), { context: AS4, description: 'OPEN in the shape FRR sends: one capability per optional parameter, AS_TRANS in My AS' });

add('open', 'hand-open-ipv6', open(65001, 90, '10.99.0.1', capParam(u8(
  cap(1, [0, 1, 0, 1]),
  cap(1, [0, 2, 0, 1]), // MP IPv6 unicast
  cap(65, u32(65001)),
))), { context: AS4, description: 'OPEN for IPv4 and IPv6 unicast' });

{
  // RFC 9072: Non-Ext OP Len 255, Non-Ext OP Type 255, 2-octet Extended Opt. Parm. Length, 2-octet parameter lengths.
  const caps = [];
  for (let i = 0; i < 70; i++) caps.push(...cap(1, [0, 1, 0, i + 1])); // 70 MP capabilities: 420 octets
  const params = u8(2, u16(caps.length), caps);
  add('open', 'hand-open-rfc9072', msg(1, u8(4, u16(65001), u16(90), ip('10.0.0.9'), 255, 255, u16(params.length), params)), {
    context: AS4,
    description: 'OPEN whose capabilities need the RFC 9072 extended optional parameters length',
  });
}

// ---------------------------------------------------------------- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH
add('keepalive', 'hand-keepalive', msg(4, []), { context: AS4, description: 'KEEPALIVE (RFC 4271 §4.4)' });
add('notification', 'hand-cease-admin-shutdown', msg(3, u8(6, 2, 11, ascii('maintenance'))), {
  context: AS4,
  description: 'Cease / Administrative Shutdown with an RFC 9003 shutdown communication',
});
add('notification', 'hand-hold-timer-expired', msg(3, [4, 0]), { context: AS4, description: 'Hold Timer Expired' });
add('notification', 'hand-open-bad-peer-as', msg(3, u8(2, 2, u16(64513))), { context: AS4, description: 'OPEN Message Error / Bad Peer AS' });
add('route-refresh', 'hand-route-refresh', msg(5, u8(u16(1), 0, 1)), { context: AS4, description: 'ROUTE-REFRESH IPv4 unicast (RFC 2918)' });
add('route-refresh', 'hand-borr', msg(5, u8(u16(1), 1, 1)), { context: AS4, description: 'Beginning of Route Refresh (RFC 7313)' });
add('route-refresh', 'hand-eorr', msg(5, u8(u16(2), 2, 1)), { context: AS4, description: 'End of Route Refresh, IPv6 (RFC 7313)' });

// ---------------------------------------------------------------- UPDATE
add('update', 'hand-update-ipv4', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5'), LOCAL_PREF(100)),
  u8(pfx('10.8.94.64/26'), pfx('192.168.160.192/26'))), { context: AS4, description: 'Calico-style iBGP UPDATE: two /26 blocks' });
add('update', 'hand-update-withdraw', update(u8(pfx('10.8.94.64/26'), pfx('10.0.0.0/8'), pfx('0.0.0.0/0')), [], []), {
  context: AS4, description: 'withdrawn routes only, including a default route',
});
add('update', 'hand-update-eor-ipv4', update([], [], []), { context: AS4, description: 'End-of-RIB for IPv4 unicast (RFC 4724 §2)' });
add('update', 'hand-update-eor-ipv6', update([], attr(0x80, 15, u8(u16(2), 1)), []), {
  context: AS4, description: 'End-of-RIB for IPv6 unicast: empty MP_UNREACH_NLRI',
});
add('update', 'hand-update-all-attributes', update([], u8(
  ORIGIN(2),
  AS_PATH4([3, [65001, 65002]], [2, [64512, 4200000001]], [1, [65100, 65101]]),
  NEXT_HOP('10.0.0.1'),
  MED(50),
  LOCAL_PREF(200),
  attr(0x40, 6, []), // ATOMIC_AGGREGATE
  attr(0xc0, 7, u8(u32(4200000001), ip('10.0.0.2'))), // AGGREGATOR, 4-octet AS session
  attr(0xc0, 8, u8(u32(65000 * 65536 + 100), u32(0xffffff01))), // COMMUNITIES 65000:100, NO_EXPORT
  attr(0x80, 9, ip('10.0.0.3')), // ORIGINATOR_ID
  attr(0x80, 10, u8(ip('10.0.0.4'), ip('10.0.0.5'))), // CLUSTER_LIST
  attr(0xc0, 16, [0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100]), // EXTENDED_COMMUNITIES route target 65000:100
  attr(0xc0, 32, u8(u32(4200000001), u32(1), u32(2))), // LARGE_COMMUNITY
  attr(0xe0, 99, [1, 2, 3]), // unknown optional transitive, Partial already set
  attr(0x80, 100, [4, 5]), // unknown optional non-transitive
), u8(pfx('10.1.0.0/16'), pfx('10.2.3.4/32'), pfx('10.3.0.0/17'))), { context: AS4, description: 'every interpreted attribute once, plus unknown optional ones' });

const as2Attrs = u8(
  ORIGIN(0),
  AS_PATH2([2, [64512, 23456, 65000]]),
  NEXT_HOP('10.0.0.1'),
  attr(0xc0, 7, u8(u16(23456), ip('10.0.0.2'))), // AGGREGATOR with AS_TRANS
  attr(0xc0, 17, u8(2, 3, u32(64512), u32(4200000001), u32(65000))), // AS4_PATH, the full path
  attr(0xc0, 18, u8(u32(4200000001), ip('10.0.0.2'))), // AS4_AGGREGATOR
);
add('update', 'hand-update-as2-merged', update([], as2Attrs, pfx('10.8.0.0/16')), {
  context: AS2, description: '2-octet AS session: AS_PATH with AS_TRANS + AS4_PATH, merged per RFC 6793 §4.2.3',
});
add('update', 'hand-update-as2-kept', update([], as2Attrs, pfx('10.8.0.0/16')), {
  context: { ...AS2, keepAs4: true }, description: 'the same bytes decoded with keepAs4: AS4_PATH / AS4_AGGREGATOR shown as sent',
});
add('update', 'hand-update-as2-partial-as4path', update([], u8(
  ORIGIN(0),
  AS_PATH2([2, [65010, 65011, 23456, 65000]]),
  NEXT_HOP('10.0.0.1'),
  attr(0xc0, 17, u8(2, 2, u32(4200000001), u32(65000))), // AS4_PATH covers only the last two ASes
), pfx('10.9.0.0/16')), {
  context: AS2, canonical: false,
  description: 'AS4_PATH shorter than AS_PATH: leading 2-octet ASes kept (RFC 6793 §4.2.3); re-encoding sends the full AS4_PATH',
});

const ids = (id, p) => u8(u32(id), p);
add('update', 'hand-update-add-path', update(ids(7, pfx('10.8.1.0/26')), u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.6')),
  u8(ids(1, pfx('10.8.94.64/26')), ids(2, pfx('10.8.94.64/26')), ids(0xffffffff, pfx('10.8.95.0/26')))), {
  context: { ...AS4, addPath: [257] }, description: 'ADD-PATH (RFC 7911): path identifiers on withdrawn routes and NLRI',
});

const v6 = (s) => [...Buffer.from(s.replace(/:/g, ''), 'hex')];
add('update', 'hand-update-mp-ipv6', update([], u8(
  attr(0x80, 14, u8(u16(2), 1, 32, v6('2001:0db8:0000:0000:0000:0000:0000:0001'), v6('fe80:0000:0000:0000:0000:0000:0000:0001'), 0,
    48, v6('2001:0db8:0001'), 64, v6('2001:0db8:0002:0003'), 128, v6('2001:0db8:0000:0000:0000:0000:0000:00ff'))),
  ORIGIN(0), AS_PATH4([2, [65001]]),
), []), { context: AS4, description: 'MP_REACH_NLRI IPv6 unicast with global and link-local next hops (RFC 2545)' });
add('update', 'hand-update-mp-ipv6-unreach', update([], attr(0x80, 15, u8(u16(2), 1, 48, v6('2001:0db8:0001'))), []), {
  context: AS4, description: 'MP_UNREACH_NLRI IPv6 unicast',
});
add('update', 'hand-update-mp-ipv4', update([], u8(
  attr(0x80, 14, u8(u16(1), 1, 4, ip('10.0.0.7'), 0, pfx('10.20.0.0/26'))),
  ORIGIN(0), AS_PATH4([2, [65001]]),
), []), { context: AS4, description: 'IPv4 unicast carried in MP_REACH_NLRI (as GoBGP can send it)' });
add('update', 'hand-update-mp-vpn-raw', update([], u8(
  attr(0x80, 14, u8(u16(1), 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, ip('10.0.0.8'), 0, 112, 0, 0, 0x31, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 10, 1, 1)),
  ORIGIN(0), AS_PATH4([2, [65001]]),
), []), { context: AS4, description: 'MP_REACH_NLRI for VPNv4 (SAFI 128): not interpreted, kept as bytes' });
add('update', 'hand-update-host-bits', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')),
  u8(26, 10, 8, 94, 65, 20, 10, 8, 0xff)), {
  context: AS4, canonical: false, description: 'NLRI with bits set past the prefix length: zeroed on decode (10.8.94.65/26 -> 10.8.94.64/26)',
});
add('update', 'hand-update-ext-length-short', update([], u8(ORIGIN(0), attr(0x50, 2, u8(2, 1, u32(64512))), NEXT_HOP('10.10.20.5')),
  pfx('10.8.94.0/26')), {
  context: AS4, canonical: false, description: 'AS_PATH with the Extended Length bit on a 6-octet value; re-encoded with a 1-octet length',
});
{
  const asns = Array.from({ length: 70 }, (_, i) => 64512 + i);
  add('update', 'hand-update-long-as-path', update([], u8(ORIGIN(0), attr(0x50, 2, u8(2, 70, asns.map(u32))), NEXT_HOP('10.10.20.5')),
    pfx('10.8.94.0/26')), { context: AS4, description: 'AS_PATH of 282 octets: Extended Length needed' });
}
add('update', 'hand-update-unknown-no-partial', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5'), attr(0xc0, 99, [9])),
  pfx('10.8.94.0/26')), {
  context: AS4, canonical: false, description: 'unknown optional transitive attribute without Partial: re-encoded with Partial set (RFC 4271 §5)',
});
{
  // A full 4096-octet UPDATE of /26 blocks, as one Calico node would send after a big IPAM allocation.
  const attrs = u8(ORIGIN(0), AS_PATH4(), NEXT_HOP('10.10.20.5'), LOCAL_PREF(100));
  const room = 4096 - 23 - attrs.length;
  const nlri = [];
  for (let i = 0; nlri.length + 5 <= room; i++) nlri.push(...pfx(`10.${64 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`));
  add('update', 'hand-update-full-26', update([], attrs, nlri), { context: AS4, description: `a full 4096-octet UPDATE: ${nlri.length / 5} /26 prefixes, empty AS_PATH (iBGP origin)` });
}

// ---------------------------------------------------------------- malformed
const bad = (name, bytes, context, error, description) => add('malformed', name, bytes, { context, error, description });
const reset = (code, subcode) => ({ code, subcode, action: 'session-reset' });
const taw = (subcode) => ({ code: 3, subcode, action: 'treat-as-withdraw' });
const discard = (subcode) => ({ code: 3, subcode, action: 'attribute-discard' });
const okAttrs = u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5'));
const n26 = pfx('10.8.94.64/26');

{
  const m = msg(4, []);
  m[3] = 0xfe;
  bad('header-marker', m, AS4, reset(1, 1), 'marker octet not all ones (RFC 4271 §6.1)');
}
bad('header-length-short', msg(4, [], 18).slice(0, 19), AS4, reset(1, 2), 'length field 18 < 19');
bad('header-length-long', u8(msg(2, u8(0, 0, 0, 0)).slice(0, 16), u16(4097), 2, new Array(4078).fill(0)), AS4, reset(1, 2), 'length 4097 without extended messages');
bad('header-type-6', msg(6, []), AS4, reset(1, 3), 'message type 6');
bad('keepalive-length-20', msg(4, [0]), AS4, reset(1, 2), 'KEEPALIVE must be exactly 19 octets');
bad('open-length-short', msg(1, u8(4, u16(1), u16(90), ip('10.0.0.1'))), AS4, reset(1, 2), 'OPEN shorter than 29 octets');
bad('open-version-3', msg(1, u8(3, u16(65001), u16(90), ip('10.0.0.1'), 0)), AS4, reset(2, 1), 'BGP version 3');
bad('open-hold-time-1', open(65001, 1, '10.0.0.1', []), AS4, reset(2, 6), 'Hold Time 1 s (RFC 4271 §6.2)');
bad('open-bgp-id-zero', open(65001, 90, '0.0.0.0', []), AS4, reset(2, 3), 'BGP Identifier 0.0.0.0');
bad('open-unsupported-parameter', open(65001, 90, '10.0.0.1', u8(1, 2, 0, 0)), AS4, reset(2, 4), 'optional parameter type 1 (authentication, deprecated)');
bad('open-capability-overrun', open(65001, 90, '10.0.0.1', u8(2, 4, 65, 4, 0, 0)), AS4, reset(2, 0), 'capability length runs past its parameter');
bad('open-params-length-mismatch', msg(1, u8(4, u16(65001), u16(90), ip('10.0.0.1'), 10, 2, 2, 2, 0)), AS4, reset(1, 2), 'Opt Parm Len larger than the message');
bad('route-refresh-length', msg(5, u8(u16(1), 0, 1, 0)), AS4, reset(7, 1), 'ROUTE-REFRESH of 24 octets (RFC 7313 §5)');
bad('update-withdrawn-length', u8(msg(2, u8(u16(100), 0, 0))), AS4, reset(3, 1), 'Withdrawn Routes Length past the message');
bad('update-attribute-length', u8(msg(2, u8(0, 0, u16(50), okAttrs))), AS4, reset(3, 1), 'Total Path Attribute Length past the message');
bad('update-attribute-overrun', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), 0x40, 3, 9, 10, 10, 20, 5), n26), AS4, taw(1),
  'last attribute length runs past the attribute section (RFC 7606 §4)');
bad('update-origin-value', update([], u8(ORIGIN(3), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')), n26), AS4, taw(6), 'ORIGIN 3 (RFC 7606 §7.1)');
bad('update-origin-length', update([], u8(attr(0x40, 1, [0, 0]), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')), n26), AS4, taw(5), 'ORIGIN of 2 octets');
bad('update-origin-flags', update([], u8(attr(0xc0, 1, [0]), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')), n26), AS4, taw(4), 'ORIGIN marked optional (RFC 7606 §3 (c))');
bad('update-as-path-segment-type', update([], u8(ORIGIN(0), attr(0x40, 2, u8(5, 1, u32(64512))), NEXT_HOP('10.10.20.5')), n26), AS4, taw(11), 'AS_PATH segment type 5 (RFC 7606 §7.2)');
bad('update-as-path-empty-segment', update([], u8(ORIGIN(0), attr(0x40, 2, u8(2, 0)), NEXT_HOP('10.10.20.5')), n26), AS4, taw(11), 'AS_PATH segment of length 0');
bad('update-as-path-overrun', update([], u8(ORIGIN(0), attr(0x40, 2, u8(2, 2, u32(64512))), NEXT_HOP('10.10.20.5')), n26), AS4, taw(11), 'AS_PATH segment count larger than its octets');
bad('update-as-path-2octet-on-as4', update([], u8(ORIGIN(0), AS_PATH2([2, [64512, 64513, 64514]]), NEXT_HOP('10.10.20.5')), n26), AS4, taw(11),
  '2-octet AS_PATH on a 4-octet session (6 octets: one full 4-octet ASN, then a short one)');
bad('update-next-hop-length', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), attr(0x40, 3, [10, 10, 20])), n26), AS4, taw(5), 'NEXT_HOP of 3 octets');
bad('update-next-hop-zero', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('0.0.0.0')), n26), AS4, taw(8), 'NEXT_HOP 0.0.0.0 (RFC 4271 §6.3)');
bad('update-next-hop-multicast', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]]), NEXT_HOP('224.0.0.5')), n26), AS4, taw(8), 'NEXT_HOP 224.0.0.5');
bad('update-missing-origin', update([], u8(AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')), n26), AS4, taw(3), 'NLRI without ORIGIN (RFC 7606 §3 (d))');
bad('update-missing-next-hop', update([], u8(ORIGIN(0), AS_PATH4([2, [64512]])), n26), AS4, taw(3), 'NLRI without NEXT_HOP');
bad('update-no-attributes', update([], [], n26), AS4, taw(3), 'NLRI with no attributes at all');
bad('update-med-length', update([], u8(okAttrs, attr(0x80, 4, [0, 0, 1])), n26), AS4, taw(5), 'MULTI_EXIT_DISC of 3 octets');
bad('update-local-pref-length', update([], u8(okAttrs, attr(0x40, 5, [0, 0, 0, 0, 1])), n26), AS4, taw(5), 'LOCAL_PREF of 5 octets');
bad('update-communities-length', update([], u8(okAttrs, attr(0xc0, 8, [0, 0, 1])), n26), AS4, taw(5), 'COMMUNITIES not a multiple of 4 (RFC 7606 §7.8)');
bad('update-cluster-list-empty', update([], u8(okAttrs, attr(0x80, 10, [])), n26), AS4, taw(5), 'CLUSTER_LIST of 0 octets (RFC 7606 §7.10)');
bad('update-large-communities-length', update([], u8(okAttrs, attr(0xc0, 32, new Array(13).fill(1))), n26), AS4, taw(5), 'LARGE_COMMUNITY of 13 octets (RFC 8092 §6)');
bad('update-atomic-aggregate-length', update([], u8(okAttrs, attr(0x40, 6, [1])), n26), AS4, discard(5), 'ATOMIC_AGGREGATE with a value (RFC 7606 §7.6)');
bad('update-aggregator-length', update([], u8(okAttrs, attr(0xc0, 7, u8(u16(65001), ip('10.0.0.1')))), n26), AS4, discard(5),
  'AGGREGATOR of 6 octets on a 4-octet session (RFC 7606 §7.7)');
bad('update-as4-path-confed', update([], u8(ORIGIN(0), AS_PATH2([2, [64512]]), NEXT_HOP('10.10.20.5'), attr(0xc0, 17, u8(3, 1, u32(65001)))), n26), AS2, discard(9),
  'AS4_PATH with a confederation segment (RFC 6793 §6)');
bad('update-duplicate-origin', update([], u8(ORIGIN(0), ORIGIN(1), AS_PATH4([2, [64512]]), NEXT_HOP('10.10.20.5')), n26), AS4, discard(1),
  'ORIGIN twice: the second is discarded (RFC 7606 §3 (g))');
bad('update-duplicate-mp-reach', update([], u8(
  attr(0x80, 14, u8(u16(1), 1, 4, ip('10.0.0.7'), 0, n26)), attr(0x80, 14, u8(u16(1), 1, 4, ip('10.0.0.7'), 0, n26)), ORIGIN(0), AS_PATH4([2, [64512]])), []),
  AS4, reset(3, 1), 'MP_REACH_NLRI twice (RFC 7606 §3 (g))');
bad('update-mp-reach-next-hop-length', update([], u8(attr(0x80, 14, u8(u16(2), 1, 5, 1, 2, 3, 4, 5, 0, n26)), ORIGIN(0), AS_PATH4([2, [64512]])), []),
  AS4, reset(3, 9), 'MP_REACH_NLRI IPv6 with a 5-octet next hop (RFC 7606 §7.11)');
bad('update-mp-reach-prefix-length', update([], u8(attr(0x80, 14, u8(u16(2), 1, 16, new Array(16).fill(0x20), 0, 129, new Array(17).fill(0))), ORIGIN(0), AS_PATH4([2, [64512]])), []),
  AS4, reset(3, 9), 'MP_REACH_NLRI IPv6 prefix of length 129');
bad('update-mp-reach-flags', update([], u8(attr(0x40, 14, u8(u16(1), 1, 4, ip('10.0.0.7'), 0, n26)), ORIGIN(0), AS_PATH4([2, [64512]])), []),
  AS4, reset(3, 4), 'MP_REACH_NLRI marked well-known');
bad('update-unrecognized-well-known', update([], u8(okAttrs, attr(0x40, 200, [1])), n26), AS4, reset(3, 2), 'unknown attribute 200 without the Optional bit');
bad('update-nlri-length-33', update([], okAttrs, u8(33, 10, 0, 0, 0, 0)), AS4, reset(3, 10), 'NLRI prefix length 33 (RFC 7606 §5.3)');
bad('update-nlri-overrun', update([], okAttrs, u8(26, 10, 8)), AS4, reset(3, 10), 'NLRI prefix runs past the message');
bad('update-withdrawn-length-33', update(u8(33, 10, 0, 0, 0, 0), [], []), AS4, reset(3, 10), 'withdrawn prefix length 33');
bad('update-add-path-truncated', update([], okAttrs, u8(0, 0, 0, 1)), { ...AS4, addPath: [257] }, reset(3, 10), 'ADD-PATH NLRI: path id without a prefix');

for (const f of fixtures) {
  const dir = join(root, f.dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${f.name}.bin`), f.bytes);
  if (f.dir === 'malformed') writeFileSync(join(dir, `${f.name}.json`), JSON.stringify({ source: 'hand-built', ...f.meta }, null, 2) + '\n');
  else writeFileSync(join(dir, `${f.name}.meta.tmp`), JSON.stringify(f.meta));
}
process.stdout.write(`${fixtures.length} fixtures written under ${root}\n`);
