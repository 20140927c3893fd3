/**
 * Calico v3 resources (projectcalico.org/v3) and IPAM values as this agent
 * models them, and their validation from etcd values.
 *
 * Fields follow libcalico-go's api types; only those that change what confd
 * would render for BIRD are modelled (docs/ARCHITECTURE.md, "Calico facts
 * the agent matches"). Unknown fields are ignored, as Calico's decoder does.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseKey, type ParsedKey, type ResourceKind } from '../keys.js';
import { parseSelector, SelectorError, type Selector } from '../selector.js';
import { FieldReader, ValidationError, type FieldProblem, type Obj, type ParsedCidr } from './fields.js';
import { canonicalCidr6, canonicalIpv6 } from '../../bgp/prefix6.js';
import { parseBGPFilterSpec, type BGPFilterResource } from './bgp-filter.js';

export type { BGPFilterResource } from './bgp-filter.js';

export interface NodeResource {
  kind: 'Node';
  name: string;
  labels: Record<string, string>;
  /** spec.bgp.ipv4Address split: address and length ("10.10.20.5/24"). */
  ipv4?: string;
  ipv4PrefixLen?: number;
  /** spec.bgp.ipv6Address split: address (RFC 5952 canonical form) and length ("fd00:199::2/64"). */
  ipv6?: string;
  ipv6PrefixLen?: number;
  asNumber?: number;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  communities: string[];
}

export interface BGPConfigurationResource {
  kind: 'BGPConfiguration';
  name: string; // "default" or "node.<name>"
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number;
  listenPort?: number;
  /** spec.nodeMeshPassword.secretKeyRef: the Secret holding every mesh session's password. */
  nodeMeshPasswordRef?: SecretKeyRef;
  nodeMeshMaxRestartTime?: number;
  serviceClusterIPs: string[];
  serviceExternalIPs: string[];
  serviceLoadBalancerIPs: string[];
  prefixAdvertisements?: PrefixAdvertisement[];
  /** spec.communities: named values ({name, value}) that prefixAdvertisements may refer to. */
  communities?: { name: string; value: string }[];
  /**
   * Bad entries of spec.communities / spec.prefixAdvertisements, by field:
   * the entry is left out and the rest of the resource applies.
   */
  communityProblems?: FieldProblem[];
  ignoredInterfaces: string[];
  logSeverityScreen?: string;
  programClusterRoutes?: string;
  /** spec.bfd: BFD timers for peers with failureDetectionMode (issue 22); unset fields take the defaults. */
  bfd?: { minTxMs?: number; minRxMs?: number; multiplier?: number };
  /** Bad spec.bfd fields: reported by name, the rest of the resource still applies. */
  bfdProblems?: FieldProblem[];
}

export interface PeerIP {
  ip: string;
  /** Port given as "ip:port" ("[v6]:port" for IPv6); undefined when absent. */
  port?: number;
}

export interface BGPPeerResource {
  kind: 'BGPPeer';
  name: string;
  node?: string;
  nodeSelector?: Selector;
  peerIP?: PeerIP;
  peerSelector?: Selector;
  asNumber?: number;
  keepOriginalNextHop: boolean;
  /** spec.password.secretKeyRef: the Secret holding this peering's TCP MD5 password. */
  passwordRef?: SecretKeyRef;
  /** UseNodeIP (default) or None. */
  sourceAddress: 'UseNodeIP' | 'None';
  maxRestartTime?: number;
  keepaliveTime?: number;
  ttlSecurity?: number;
  reversePeering: 'Auto' | 'Manual';
  /** spec.failureDetectionMode: BFDIfDirectlyConnected turns BFD on for peers on this node's subnet. */
  failureDetectionMode?: 'BFDIfDirectlyConnected';
  /** An unknown failureDetectionMode: reported by field; the peering applies without BFD. */
  bfdProblems?: FieldProblem[];
  /** spec.filters: BGPFilter names, in the order their rules are tried (confd calls them in this order). */
  filters: string[];
  /** spec.localASNumber: BIRD's `local as N` for this peering (the peer sees only this AS). */
  localASNumber?: number;
  /** spec.nextHopMode: Self = `next hop self`, Keep = `next hop keep`; when set, keepOriginalNextHop is ignored (confd getNextHopMode). */
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  /** spec.numAllowedLocalASNumbers: BIRD's `allow local as N` (our AS up to N times in a received AS_PATH). */
  numAllowedLocalASNumbers?: number;
  /** spec.reachableBy: the gateway the peer is reached through (confd renders `route <peerIP>/32 via <gateway>`). */
  reachableBy?: string;
  /**
   * Bad values of the per-peer options above, by field: the option is left
   * out, the peering applies without it (one bad field never stops the rest).
   */
  optionProblems?: FieldProblem[];
}

export type EncapModeValue = 'Never' | 'Always' | 'CrossSubnet';

export interface IPPoolResource {
  kind: 'IPPool';
  name: string;
  cidr: ParsedCidr;
  ipipMode: EncapModeValue;
  vxlanMode: EncapModeValue;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  blockSize: number;
  nodeSelector?: Selector;
}

export interface IPAMBlockValue {
  kind: 'IPAMBlock';
  cidr: ParsedCidr;
  /** "host:node-a" as stored; undefined when the block has no affinity. */
  affinity?: string;
  /** Allocated addresses (non-null entries of `allocations`). */
  allocated: number;
}

export type AffinityStateValue = 'confirmed' | 'pending' | 'pendingDeletion';

export interface BlockAffinityValue {
  kind: 'BlockAffinity';
  node: string;
  cidr: ParsedCidr;
  /** An empty etcd value (older clusters) means confirmed. */
  state: AffinityStateValue;
  deleted: boolean;
}

export type CalicoResource = NodeResource | BGPConfigurationResource | BGPPeerResource | IPPoolResource | BGPFilterResource;
export type DatastoreValue = CalicoResource | IPAMBlockValue | BlockAffinityValue;

const ENCAP = ['Never', 'Always', 'CrossSubnet'] as const;
const VXLAN = ['Never', 'Always', 'CrossSubnet'] as const;

function selector(r: FieldReader, v: unknown, field: string): Selector | undefined {
  const s = r.string(v, field);
  if (s === undefined || s.trim() === '') return undefined;
  try {
    return parseSelector(s);
  } catch (err) {
    if (err instanceof SelectorError) return r.fail(field, `invalid selector ${JSON.stringify(s)}: ${err.message}`);
    throw err;
  }
}

function metadata(r: FieldReader, doc: Obj, kind: string, keyName: string): { name: string; labels: Record<string, string> } {
  const k = doc.kind;
  if (k !== undefined && k !== kind) r.fail('kind', `is ${JSON.stringify(k)}, expected "${kind}" for this key`);
  const md = r.object(doc.metadata, 'metadata') ?? {};
  const name = r.string(md.name, 'metadata.name');
  if (name !== undefined && name !== keyName) r.fail('metadata.name', `"${name}" does not match the key's name "${keyName}"`);
  return { name: keyName, labels: r.stringMap(md.labels, 'metadata.labels') };
}

function parseNode(r: FieldReader, doc: Obj, name: string): NodeResource {
  const { labels } = metadata(r, doc, 'Node', name);
  const spec = r.object(doc.spec, 'spec') ?? {};
  const bgp = r.object(spec.bgp, 'spec.bgp') ?? {};
  const node: NodeResource = { kind: 'Node', name, labels };
  const v4 = r.cidr(bgp.ipv4Address, 'spec.bgp.ipv4Address', { allowBareIp: true });
  if (v4) {
    if (v4.ipVersion !== 4) r.fail('spec.bgp.ipv4Address', `"${String(bgp.ipv4Address)}" is not an IPv4 address`);
    else {
      node.ipv4 = v4.address;
      node.ipv4PrefixLen = v4.prefixLen;
    }
  }
  const v6 = r.cidr(bgp.ipv6Address, 'spec.bgp.ipv6Address', { allowBareIp: true });
  if (v6) {
    if (v6.ipVersion !== 6) r.fail('spec.bgp.ipv6Address', `"${String(bgp.ipv6Address)}" is not an IPv6 address`);
    else {
      // Canonical form: the mesh passive rule compares addresses as strings, and
      // Go (which wrote them) prints IPv6 in RFC 5952 form.
      node.ipv6 = canonicalIpv6(v6.address);
      node.ipv6PrefixLen = v6.prefixLen;
    }
  }
  node.asNumber = r.asNumber(bgp.asNumber, 'spec.bgp.asNumber');
  const tun = r.string(bgp.ipv4IPIPTunnelAddr, 'spec.bgp.ipv4IPIPTunnelAddr');
  if (tun) {
    if (!isIPv4(tun)) r.fail('spec.bgp.ipv4IPIPTunnelAddr', `"${tun}" is not an IPv4 address`);
    else node.ipv4IPIPTunnelAddr = tun;
  }
  const rr = r.string(bgp.routeReflectorClusterID, 'spec.bgp.routeReflectorClusterID');
  if (rr) {
    // libcalico-go validates the cluster id as an IPv4 address.
    if (!isIPv4(rr)) r.fail('spec.bgp.routeReflectorClusterID', `"${rr}" is not an IPv4 address`);
    else node.routeReflectorClusterID = rr;
  }
  return node;
}

function parseBGPConfiguration(r: FieldReader, doc: Obj, name: string): BGPConfigurationResource {
  metadata(r, doc, 'BGPConfiguration', name);
  const spec = r.object(doc.spec, 'spec') ?? {};
  const cfg: BGPConfigurationResource = {
    kind: 'BGPConfiguration',
    name,
    serviceClusterIPs: [],
    serviceExternalIPs: [],
    serviceLoadBalancerIPs: [],
    ignoredInterfaces: [],
  };
  cfg.nodeToNodeMeshEnabled = r.bool(spec.nodeToNodeMeshEnabled, 'spec.nodeToNodeMeshEnabled');
  cfg.asNumber = r.asNumber(spec.asNumber, 'spec.asNumber');
  cfg.listenPort = r.int(spec.listenPort, 'spec.listenPort', 1, 65535);
  const pw = r.object(spec.nodeMeshPassword, 'spec.nodeMeshPassword');
  if (pw) cfg.nodeMeshPasswordRef = secretRef(r, pw, 'spec.nodeMeshPassword');
  cfg.nodeMeshMaxRestartTime = r.duration(spec.nodeMeshMaxRestartTime, 'spec.nodeMeshMaxRestartTime');
  for (const f of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs'] as const) {
    const list = r.array(spec[f], `spec.${f}`) ?? [];
    list.forEach((e, i) => {
      const o = r.object(e, `spec.${f}[${i}]`);
      const c = o && r.cidr(o.cidr, `spec.${f}[${i}].cidr`, { required: true });
      if (c) cfg[f].push(c.cidr);
    });
  }
  parseCommunities(cfg, spec);
  const ifaces = r.array(spec.ignoredInterfaces, 'spec.ignoredInterfaces') ?? [];
  ifaces.forEach((x, i) => {
    const s = r.string(x, `spec.ignoredInterfaces[${i}]`);
    if (s) cfg.ignoredInterfaces.push(s);
  });
  cfg.logSeverityScreen = r.string(spec.logSeverityScreen, 'spec.logSeverityScreen');
  cfg.programClusterRoutes = r.oneOf(spec.programClusterRoutes, 'spec.programClusterRoutes', [
    'Enabled',
    'Disabled',
    'EnabledIPIPOnly',
    'EnabledNoEncapOnly',
  ] as const);
  const bfdProblems: FieldProblem[] = [];
  const bfd = parseBfdTimers(spec.bfd, bfdProblems);
  if (bfd) cfg.bfd = bfd;
  if (bfdProblems.length) cfg.bfdProblems = bfdProblems;
  if (name !== 'default' && !name.startsWith('node.')) {
    // Calico only reads "default" and "node.<name>"; others are harmless but inert.
  }
  return cfg;
}

/**
 * spec.communities and spec.prefixAdvertisements, with a reader of their own:
 * a bad entry is a problem naming its field and is left out, so one typo in a
 * community never stops the mesh settings of the same resource. Values and
 * names are checked when the node's settings are computed
 * (src/calico/communities.ts).
 */
function parseCommunities(cfg: BGPConfigurationResource, spec: Obj): void {
  const soft = new FieldReader();
  const named = soft.array(spec.communities, 'spec.communities');
  if (named) {
    cfg.communities = [];
    named.forEach((e, i) => {
      const o = soft.object(e, `spec.communities[${i}]`);
      const name = o && soft.string(o.name, `spec.communities[${i}].name`, true);
      const value = o && soft.string(o.value, `spec.communities[${i}].value`, true);
      if (name && value) cfg.communities!.push({ name, value });
    });
  }
  const ads = soft.array(spec.prefixAdvertisements, 'spec.prefixAdvertisements');
  if (ads) {
    cfg.prefixAdvertisements = [];
    ads.forEach((e, i) => {
      const f = `spec.prefixAdvertisements[${i}]`;
      const o = soft.object(e, f);
      if (!o) return;
      const c = soft.cidr(o.cidr, `${f}.cidr`, { required: true });
      const comms = (soft.array(o.communities, `${f}.communities`) ?? []).map((x, j) => soft.string(x, `${f}.communities[${j}]`));
      // An IPv6 cidr in canonical form, so it compares with the blocks' (as Go prints it).
      if (c) cfg.prefixAdvertisements!.push({ cidr: c.ipVersion === 6 ? canonicalCidr6(c.cidr) : c.cidr, communities: comms.filter((x): x is string => !!x) });
    });
  }
  if (soft.problems.length) cfg.communityProblems = soft.problems;
}

/** A Kubernetes secretKeyRef: the agent reads `$BGP_SECRETS_DIR/<name>/<key>` (src/agent/secrets.ts). */
export interface SecretKeyRef {
  name: string;
  key: string;
}

const BFD_LIMITS = { minTxMs: [1, 60_000], minRxMs: [1, 60_000], multiplier: [1, 255] } as const;

/**
 * BGPConfiguration spec.bfd {minTxMs, minRxMs, multiplier}. A bad or unknown
 * field is a problem naming it and its default applies, so that a typo in
 * the BFD timers never stops the mesh settings of the same resource.
 */
function parseBfdTimers(v: unknown, problems: FieldProblem[]): BGPConfigurationResource['bfd'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push({ field: 'spec.bfd', message: 'must be an object {minTxMs, minRxMs, multiplier}: the BFD defaults apply' });
    return undefined;
  }
  const out: NonNullable<BGPConfigurationResource['bfd']> = {};
  for (const [k, x] of Object.entries(v as Obj)) {
    const field = `spec.bfd.${k}`;
    if (!(k in BFD_LIMITS)) {
      problems.push({ field, message: 'is not a BFD setting (minTxMs, minRxMs, multiplier): ignored' });
      continue;
    }
    const [min, max] = BFD_LIMITS[k as keyof typeof BFD_LIMITS];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
      problems.push({ field, message: `${JSON.stringify(x)} is not an integer in ${min}..${max}: the default applies` });
      continue;
    }
    out[k as keyof typeof BFD_LIMITS] = x;
  }
  return out;
}

function secretRef(r: FieldReader, o: Obj, field: string): SecretKeyRef | undefined {
  const ref = r.object(o.secretKeyRef, `${field}.secretKeyRef`, true);
  if (!ref) return undefined;
  const n = r.string(ref.name, `${field}.secretKeyRef.name`, true);
  const k = r.string(ref.key, `${field}.secretKeyRef.key`, true);
  return n && k ? { name: n, key: k } : undefined;
}

/** "10.0.0.1", "10.0.0.1:1790", "[fd00::1]:1790" or "fd00::1". */
export function parsePeerIP(s: string): PeerIP | undefined {
  const v6port = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6port) {
    const port = Number(v6port[2]);
    return net6(v6port[1]) && port >= 1 && port <= 65535 ? { ip: canonicalIpv6(v6port[1]), port } : undefined;
  }
  if (isIPv4(s)) return { ip: s };
  // IPv6 in canonical form, so it matches a node's ipv6Address and dedups by ip:port.
  if (net6(s)) return { ip: canonicalIpv6(s) };
  const v4port = /^([^:]+):(\d+)$/.exec(s);
  if (v4port && isIPv4(v4port[1])) {
    const port = Number(v4port[2]);
    return port >= 1 && port <= 65535 ? { ip: v4port[1], port } : undefined;
  }
  return undefined;
}

function net6(s: string): boolean {
  return isIPv6(s);
}

function parseBGPPeer(r: FieldReader, doc: Obj, name: string): BGPPeerResource {
  metadata(r, doc, 'BGPPeer', name);
  const spec = r.object(doc.spec, 'spec') ?? {};
  const peer: BGPPeerResource = {
    kind: 'BGPPeer',
    name,
    keepOriginalNextHop: false,
    sourceAddress: 'UseNodeIP',
    reversePeering: 'Auto',
    filters: [],
  };
  (r.array(spec.filters, 'spec.filters') ?? []).forEach((x, i) => {
    const f = r.string(x, `spec.filters[${i}]`, true);
    if (f) peer.filters.push(f);
  });
  peer.node = r.string(spec.node, 'spec.node') || undefined;
  peer.nodeSelector = selector(r, spec.nodeSelector, 'spec.nodeSelector');
  const pip = r.string(spec.peerIP, 'spec.peerIP');
  if (pip) {
    const parsed = parsePeerIP(pip);
    if (!parsed) r.fail('spec.peerIP', `"${pip}" is not an IP address (or ip:port)`);
    else peer.peerIP = parsed;
  }
  peer.peerSelector = selector(r, spec.peerSelector, 'spec.peerSelector');
  peer.asNumber = r.asNumber(spec.asNumber, 'spec.asNumber');
  peer.keepOriginalNextHop = r.bool(spec.keepOriginalNextHop, 'spec.keepOriginalNextHop') ?? false;
  const pw = r.object(spec.password, 'spec.password');
  if (pw) peer.passwordRef = secretRef(r, pw, 'spec.password');
  peer.sourceAddress = r.oneOf(spec.sourceAddress, 'spec.sourceAddress', ['UseNodeIP', 'None'] as const) ?? 'UseNodeIP';
  peer.maxRestartTime = r.duration(spec.maxRestartTime, 'spec.maxRestartTime');
  peer.keepaliveTime = r.duration(spec.keepaliveTime, 'spec.keepaliveTime');
  peer.ttlSecurity = r.int(spec.ttlSecurity, 'spec.ttlSecurity', 0, 255);
  peer.reversePeering = r.oneOf(spec.reversePeering, 'spec.reversePeering', ['Auto', 'Manual'] as const) ?? 'Auto';
  // Not r.fail: an unknown mode must not drop the peering itself, only its BFD (named in the status).
  const fdm = spec.failureDetectionMode;
  if (fdm === 'BFDIfDirectlyConnected') peer.failureDetectionMode = fdm;
  else if (fdm !== undefined && fdm !== null && fdm !== '' && fdm !== 'None') {
    peer.bfdProblems = [{ field: 'spec.failureDetectionMode', message: `${JSON.stringify(fdm)} is not one of None, BFDIfDirectlyConnected: BFD is off for this peer` }];
  }
  peerOptions(peer, spec);
  // libcalico-go's validateBGPPeerSpec rules.
  if (peer.node && spec.nodeSelector) r.fail('spec.nodeSelector', 'cannot be set together with spec.node');
  if (peer.peerIP && spec.peerSelector) r.fail('spec.peerSelector', 'cannot be set together with spec.peerIP');
  if (spec.peerSelector && peer.asNumber !== undefined) r.fail('spec.asNumber', 'must be empty when spec.peerSelector is set (the peers are Calico nodes with their own AS)');
  if (!pip && !spec.peerSelector) r.fail('spec.peerIP', 'one of spec.peerIP or spec.peerSelector is required');
  return peer;
}

/**
 * The per-peer options confd renders into the peer's `protocol bgp` block
 * (localASNumber, nextHopMode, numAllowedLocalASNumbers) and its static route
 * (reachableBy). Read with a reader of their own: a bad value is a problem
 * naming the field, and the peering applies without that option.
 */
function peerOptions(peer: BGPPeerResource, spec: Obj): void {
  const soft = new FieldReader();
  peer.localASNumber = soft.asNumber(spec.localASNumber, 'spec.localASNumber');
  // An empty string is Go's zero value (omitempty): unset.
  const unsetIfEmpty = (v: unknown): unknown => (v === '' ? undefined : v);
  peer.nextHopMode = soft.oneOf(unsetIfEmpty(spec.nextHopMode), 'spec.nextHopMode', ['Auto', 'Self', 'Keep'] as const);
  // int32 in the v3 API; BIRD's `allow local as` takes any non-negative count.
  peer.numAllowedLocalASNumbers = soft.int(spec.numAllowedLocalASNumbers, 'spec.numAllowedLocalASNumbers', 0, 2147483647);
  const via = soft.ip(unsetIfEmpty(spec.reachableBy), 'spec.reachableBy');
  if (via !== undefined) {
    const ip = peer.peerIP?.ip;
    // confd (client.go) drops a reachableBy of the other family than peerIP.
    if (!ip) soft.fail('spec.reachableBy', 'must be empty when spec.peerIP is empty');
    else if (isIPv6(via) !== ip.includes(':')) soft.fail('spec.reachableBy', `"${via}" is not of the same address family as spec.peerIP ${ip}`);
    else peer.reachableBy = isIPv6(via) ? canonicalIpv6(via) : via;
  }
  for (const k of ['localASNumber', 'nextHopMode', 'numAllowedLocalASNumbers', 'reachableBy'] as const) if (peer[k] === undefined) delete peer[k];
  if (soft.problems.length) peer.optionProblems = soft.problems;
}

function parseIPPool(r: FieldReader, doc: Obj, name: string): IPPoolResource {
  metadata(r, doc, 'IPPool', name);
  const spec = r.object(doc.spec, 'spec', true) ?? {};
  const parsed = r.cidr(spec.cidr, 'spec.cidr', { required: true });
  const v6 = parsed?.ipVersion === 6;
  // An IPv6 pool's cidr as Go's IPNet prints it (canonical, host bits cleared).
  const cidr = parsed && v6 ? { ...parsed, cidr: canonicalCidr6(parsed.cidr) } : parsed;
  const pool: IPPoolResource = {
    kind: 'IPPool',
    name,
    cidr: cidr ?? { cidr: '0.0.0.0/0', address: '0.0.0.0', prefixLen: 0, ipVersion: 4 },
    ipipMode: r.oneOf(spec.ipipMode, 'spec.ipipMode', ENCAP) ?? 'Never',
    vxlanMode: r.oneOf(spec.vxlanMode, 'spec.vxlanMode', VXLAN) ?? 'Never',
    natOutgoing: r.bool(spec.natOutgoing, 'spec.natOutgoing') ?? false,
    disabled: r.bool(spec.disabled, 'spec.disabled') ?? false,
    disableBGPExport: r.bool(spec.disableBGPExport, 'spec.disableBGPExport') ?? false,
    blockSize: r.int(spec.blockSize, 'spec.blockSize', v6 ? 116 : 20, v6 ? 128 : 32) ?? (v6 ? 122 : 26),
  };
  // Older resources spell IPIP as spec.ipip {enabled, mode: always|cross-subnet}.
  const legacy = r.object(spec.ipip, 'spec.ipip');
  if (legacy && spec.ipipMode === undefined && legacy.enabled !== false) {
    pool.ipipMode = legacy.mode === 'cross-subnet' ? 'CrossSubnet' : 'Always';
  }
  if (cidr && pool.blockSize < cidr.prefixLen) r.fail('spec.blockSize', `/${pool.blockSize} is larger than the pool ${cidr.cidr}`);
  if (pool.ipipMode !== 'Never' && pool.vxlanMode !== 'Never') r.fail('spec.vxlanMode', 'cannot be enabled together with spec.ipipMode');
  pool.nodeSelector = selector(r, spec.nodeSelector, 'spec.nodeSelector');
  return pool;
}

function parseBlock(r: FieldReader, doc: Obj, keyCidr: string): IPAMBlockValue {
  const c = r.cidr(doc.cidr, 'cidr', { required: true });
  if (c && c.cidr !== keyCidr) r.fail('cidr', `"${c.cidr}" does not match the key's block ${keyCidr}`);
  const aff = r.string(doc.affinity, 'affinity');
  const allocs = r.array(doc.allocations, 'allocations') ?? [];
  let allocated = 0;
  for (const a of allocs) if (a !== null) allocated++;
  return { kind: 'IPAMBlock', cidr: c ?? { cidr: keyCidr, address: '', prefixLen: 0, ipVersion: 4 }, affinity: aff || undefined, allocated };
}

const AFFINITY_STATES = ['confirmed', 'pending', 'pendingDeletion'] as const;

function parseAffinity(r: FieldReader, raw: string, node: string, keyCidr: string, key: string): BlockAffinityValue {
  const cidr = r.cidr(keyCidr, 'key', { required: true });
  let state: AffinityStateValue = 'confirmed';
  let deleted = false;
  if (raw.trim() !== '') {
    const doc = parseJson(raw, key);
    const o = r.object(doc, '', true);
    if (o) {
      if (o.state !== '' && o.state !== undefined) state = r.oneOf(o.state, 'state', AFFINITY_STATES) ?? 'confirmed';
      deleted = r.bool(o.deleted, 'deleted') ?? false;
    }
  }
  return { kind: 'BlockAffinity', node, cidr: cidr ?? { cidr: keyCidr, address: '', prefixLen: 0, ipVersion: 4 }, state, deleted };
}

function parseJson(raw: string, key: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(key, [{ field: '', message: `value is not valid JSON (${(err as Error).message})` }]);
  }
}

/**
 * Validate one etcd key/value. Returns undefined for keys this agent does not
 * read; throws ValidationError (naming key and fields) for bad values.
 */
export function decodeKv(key: string, raw: string, parsed: ParsedKey | undefined = parseKey(key)): DatastoreValue | undefined {
  if (!parsed) return undefined;
  const r = new FieldReader();
  let value: DatastoreValue;
  if (parsed.type === 'affinity') {
    value = parseAffinity(r, raw, parsed.node, parsed.cidr, key);
  } else {
    const doc = parseJson(raw, key);
    const o = r.object(doc, '', true);
    if (!o) throw new ValidationError(key, r.problems.map((p) => ({ field: '', message: `value ${p.message}` })));
    if (parsed.type === 'block') value = parseBlock(r, o, parsed.cidr);
    else value = decodeResource(r, parsed.kind, o, parsed.name);
  }
  if (r.problems.length) throw new ValidationError(key, r.problems);
  return value;
}

function decodeResource(r: FieldReader, kind: ResourceKind, o: Obj, name: string): CalicoResource {
  switch (kind) {
    case 'Node':
      return parseNode(r, o, name);
    case 'BGPConfiguration':
      return parseBGPConfiguration(r, o, name);
    case 'BGPPeer':
      return parseBGPPeer(r, o, name);
    case 'IPPool':
      return parseIPPool(r, o, name);
    case 'BGPFilter':
      return parseBGPFilter(r, o, name);
  }
}

function parseBGPFilter(r: FieldReader, doc: Obj, name: string): BGPFilterResource {
  metadata(r, doc, 'BGPFilter', name);
  return parseBGPFilterSpec(r, r.object(doc.spec, 'spec') ?? {}, name);
}
