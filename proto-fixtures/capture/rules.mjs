// Which captured message becomes which fixture. `from`/`to` are the sender's and
// receiver's addresses in the lab (see capture.sh); `match` looks at the shallow
// summary select.mjs makes (capCodes, attrCodes, segTypes, mpReach, ...).
// The first unused message that matches is taken.

const BIRD_A = '10.99.0.1';
const GOBGP = '10.99.0.2';
const FRR = '10.99.0.3';
const has = (list, ...codes) => codes.every((c) => list.includes(c));
const cap = (s, code) => s.caps.find((c) => c.code === code);
const onlyAttrs = (s, ...codes) => s.attrCodes.length === codes.length && has(s.attrCodes, ...codes);

export const rules = [
  // ---- OPEN
  { name: 'open/bird2-ipv4-ipv6-addpath-gr-extmsg-hostname', from: BIRD_A, to: GOBGP, type: 'OPEN',
    match: (s) => has(s.capCodes, 1, 2, 6, 64, 65, 69, 70, 73) },
  { name: 'open/bird2-role-provider-addpath-rx-extmsg', from: BIRD_A, to: FRR, type: 'OPEN',
    match: (s) => has(s.capCodes, 9, 69, 6) },
  { name: 'open/bird2-ibgp-addpath-tx', from: '10.99.0.11', to: '10.99.0.111', type: 'OPEN',
    match: (s) => cap(s, 69)?.data[3] === 2 },
  { name: 'open/bird2-as4-off-2-octet-only', from: '10.99.0.12', to: '10.99.0.112', type: 'OPEN',
    match: (s) => !s.capCodes.includes(65) },
  { name: 'open/gobgp-ipv4-ipv6-addpath-gr-notification-fqdn-extnh', from: GOBGP, to: BIRD_A, type: 'OPEN',
    match: (s) => has(s.capCodes, 1, 5, 64, 65, 69, 73) },
  { name: 'open/frr-as-trans-role-addpath-gr-fw-fqdn-llgr-extmsg', from: FRR, to: BIRD_A, type: 'OPEN',
    match: (s) => s.myAs === 23456 && has(s.capCodes, 6, 9, 64, 65, 69, 71, 73, 128) },
  { name: 'open/frr-ipv6-session', from: 'fd99::3', to: 'fd99::1', type: 'OPEN' },

  // ---- KEEPALIVE
  { name: 'keepalive/bird2', from: BIRD_A, to: GOBGP, type: 'KEEPALIVE' },

  // ---- NOTIFICATION
  { name: 'notification/bird2-open-bad-peer-as', from: '10.99.0.17', to: '10.99.0.117', type: 'NOTIFICATION',
    match: (s) => s.code === 2 && s.subcode === 2 },
  { name: 'notification/bird2-hold-timer-expired', from: '10.99.0.118', to: '10.99.0.18', type: 'NOTIFICATION',
    match: (s) => s.code === 4 },
  { name: 'notification/bird2-cease-admin-shutdown-message', from: '10.99.0.113', to: '10.99.0.13',
    type: 'NOTIFICATION', match: (s) => s.code === 6 && s.subcode === 2 && s.dataLen > 0 },
  { name: 'notification/bird2-cease-admin-reset', from: '10.99.0.116', to: '10.99.0.16', type: 'NOTIFICATION',
    match: (s) => s.code === 6 && s.subcode === 4 },
  { name: 'notification/gobgp-cease-admin-reset', from: GOBGP, to: FRR, type: 'NOTIFICATION',
    match: (s) => s.code === 6 && s.subcode === 4 },
  { name: 'notification/frr-cease-admin-shutdown-message', from: FRR, to: BIRD_A, type: 'NOTIFICATION',
    match: (s) => s.code === 6 && s.subcode === 2 && s.dataLen > 0 },

  // ---- ROUTE-REFRESH (RFC 2918; subtypes 1/2 = BoRR/EoRR of RFC 7313)
  { name: 'route-refresh/bird2-ipv4', from: BIRD_A, to: GOBGP, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 1 && s.subtype === 0 },
  { name: 'route-refresh/frr-ipv4', from: FRR, to: BIRD_A, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 1 && s.subtype === 0 },
  { name: 'route-refresh/frr-ipv4-borr', from: FRR, to: BIRD_A, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 1 && s.subtype === 1 },
  { name: 'route-refresh/frr-ipv4-eorr', from: FRR, to: BIRD_A, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 1 && s.subtype === 2 },
  { name: 'route-refresh/bird2-ipv6-borr', from: BIRD_A, to: FRR, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 2 && s.subtype === 1 },
  { name: 'route-refresh/bird2-ipv6-eorr', from: BIRD_A, to: FRR, type: 'ROUTE-REFRESH',
    match: (s) => s.afi === 2 && s.subtype === 2 },

  // ---- UPDATE: volume, withdrawals, End-of-RIB
  { name: 'update/bird2-ipv4-26-full', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => s.nlriLen > 1200 && onlyAttrs(s, 1, 2, 3) },
  { name: 'update/frr-ipv4-26-near-4096-otc', from: FRR, to: GOBGP, type: 'UPDATE',
    match: (s) => s.length > 4000 && s.length <= 4096 },
  { name: 'update/frr-ipv4-26-addpath-extended-message', from: FRR, to: BIRD_A, type: 'UPDATE',
    match: (s) => s.length > 4096 && s.nlriLen > 0 },
  { name: 'update/frr-ipv4-withdraw-addpath-extended-message', from: FRR, to: BIRD_A, type: 'UPDATE',
    match: (s) => s.length > 4096 && s.withdrawnLen > 4096 },
  { name: 'update/bird2-ipv4-withdraw', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => s.withdrawnLen > 40 && s.attrCodes.length === 0 },
  { name: 'update/bird2-ipv4-withdraw-addpath', from: BIRD_A, to: GOBGP, type: 'UPDATE',
    match: (s) => s.withdrawnLen > 40 && s.attrCodes.length === 0 },
  { name: 'update/bird2-ipv4-end-of-rib', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => s.length === 23 },
  { name: 'update/bird2-ipv6-end-of-rib', from: 'fd99::1', to: 'fd99::3', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 15) && s.mpUnreach.nlriLen === 0 },
  { name: 'update/gobgp-ipv6-end-of-rib', from: GOBGP, to: BIRD_A, type: 'UPDATE',
    match: (s) => onlyAttrs(s, 15) && s.mpUnreach.nlriLen === 0 },

  // ---- UPDATE: attributes
  { name: 'update/bird2-ipv4-med-communities', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 4, 8) },
  { name: 'update/bird2-ipv4-extended-communities', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 16) },
  { name: 'update/bird2-ipv4-large-communities', from: '10.99.0.113', to: '10.99.0.13', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 32) },
  { name: 'update/bird2-ipv4-addpath-med-communities', from: BIRD_A, to: GOBGP, type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 4, 8) },
  { name: 'update/bird2-ibgp-local-pref', from: '10.99.0.114', to: '10.99.0.14', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 5) && s.length < 100 },
  { name: 'update/bird2-ibgp-addpath-tx', from: '10.99.0.11', to: '10.99.0.111', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 5) },
  { name: 'update/bird2-rr-originator-id-cluster-list', from: '10.99.0.114', to: '10.99.0.14', type: 'UPDATE',
    match: (s) => has(s.attrCodes, 9, 10) },
  { name: 'update/bird2-confed-sequence', from: '10.99.0.116', to: '10.99.0.16', type: 'UPDATE',
    match: (s) => s.segTypes.join() === '3,2' && onlyAttrs(s, 1, 2, 3, 5) },
  { name: 'update/bird2-confed-sequence-as-set', from: '10.99.0.116', to: '10.99.0.16', type: 'UPDATE',
    match: (s) => s.segTypes.join() === '3,2,1' },
  { name: 'update/bird2-as4-path-as4-aggregator', from: '10.99.0.112', to: '10.99.0.12', type: 'UPDATE',
    match: (s) => has(s.attrCodes, 6, 7, 17, 18) },
  { name: 'update/bird2-as4-path', from: '10.99.0.112', to: '10.99.0.12', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 17) },
  { name: 'update/bird2-as4-off-2-octet-as-path', from: '10.99.0.12', to: '10.99.0.112', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3) },
  { name: 'update/bird2-ipv4-otc-role', from: BIRD_A, to: FRR, type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 35) && s.length < 100 },
  { name: 'update/frr-aggregate-as-set-aggregator', from: FRR, to: GOBGP, type: 'UPDATE',
    match: (s) => s.segTypes.join() === '2,1' && has(s.attrCodes, 7) },
  { name: 'update/frr-aggregate-atomic-aggregate-aggregator', from: FRR, to: GOBGP, type: 'UPDATE',
    match: (s) => has(s.attrCodes, 6, 7) },
  { name: 'update/gobgp-ipv4-as-set', from: GOBGP, to: FRR, type: 'UPDATE',
    match: (s) => s.segTypes.join() === '2,1' },
  { name: 'update/gobgp-ipv4-aigp-optional-non-transitive', from: GOBGP, to: FRR, type: 'UPDATE',
    match: (s) => has(s.attrCodes, 26) },
  { name: 'update/gobgp-ipv4-addpath-med-communities', from: GOBGP, to: BIRD_A, type: 'UPDATE',
    match: (s) => onlyAttrs(s, 1, 2, 3, 4, 8) },
  { name: 'update/bird2-ipv6-mp-reach-link-local', from: 'fd99::1', to: 'fd99::3', type: 'UPDATE',
    match: (s) => s.mpReach?.nhLen === 32 && onlyAttrs(s, 14, 1, 2, 4, 8) },
  { name: 'update/frr-ipv6-mp-reach-link-local', from: 'fd99::3', to: 'fd99::1', type: 'UPDATE',
    match: (s) => s.mpReach?.nhLen === 32 && onlyAttrs(s, 14, 1, 2, 4) },
  { name: 'update/gobgp-ipv6-mp-reach-global-next-hop', from: GOBGP, to: BIRD_A, type: 'UPDATE',
    match: (s) => s.mpReach?.nhLen === 16 },
  { name: 'update/bird2-ipv6-mp-unreach', from: 'fd99::1', to: 'fd99::3', type: 'UPDATE',
    match: (s) => onlyAttrs(s, 15) && s.mpUnreach.nlriLen > 20 },
];
