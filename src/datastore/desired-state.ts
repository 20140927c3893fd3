/**
 * Desired state: what confd would render for this node's BIRD, computed from
 * the cached Calico resources (pure: no etcd, no clock).
 *
 * The peering rules follow confd's updatePeersV1 and its BIRD template (see
 * docs/ARCHITECTURE.md, "Calico facts the agent matches", Peerings):
 *  - mesh first (skipped when this node has a routeReflectorClusterID; skips
 *    self by IP and nodes with a cluster id; passive towards greater IPs,
 *    compared as strings);
 *  - then global BGPPeers (no node / nodeSelector), then node-specific ones,
 *    then automatic reverse peerings; the first peering to an ip:port wins;
 *  - route-reflector client marking when AS matches and cluster ids differ.
 * Each section is a separate function so the Datastore can recompute only the
 * sections an etcd event touches.
 */
import type {
  AffinityState,
  BgpSettings,
  DesiredState,
  DesiredStateDiff,
  LocalBlock,
  NodeIdentity,
  PeerConfig,
  PeerType,
  Pool,
} from './desired.js';
import type {
  BGPConfigurationResource,
  BGPFilterResource,
  BGPPeerResource,
  BlockAffinityValue,
  IPPoolResource,
  NodeResource,
} from './model/resources.js';
import { selectRouterId } from './router-id.js';
import { blockDisposition, PoolIndex } from '../calico/ipam-rules.js';
import { resolvePrefixAdvertisements } from '../calico/communities.js';
import { parsePrefix } from '../bgp/prefix.js';
import type { Selector } from './selector.js';
import { computeBlocks6, computePools6, isIPv6Pool } from './desired-state6.js';
import type { BfdSettings } from '../contracts.js';
import type { BgpFilter } from '../calico/bgp-filter.js';

export const DEFAULT_AS = 64512;
export const DEFAULT_PORT = 179;
/** BIRD's graceful restart time as calico-node configures it. */
export const DEFAULT_RESTART_TIME = 120;

/** The resources desired state is computed from (the Datastore's cache satisfies it). */
export interface ResourceView {
  readonly nodes: ReadonlyMap<string, NodeResource>;
  readonly bgpConfigs: ReadonlyMap<string, BGPConfigurationResource>;
  readonly bgpPeers: ReadonlyMap<string, BGPPeerResource>;
  readonly ipPools: ReadonlyMap<string, IPPoolResource>;
  /** BGPFilters by name (the last good version of each); absent = none. */
  readonly bgpFilters?: ReadonlyMap<string, BGPFilterResource>;
  /** Block affinities by node name, then by block cidr. */
  readonly affinities: ReadonlyMap<string, ReadonlyMap<string, BlockAffinityValue>>;
}

/**
 * What the agent's own configuration adds (calico-node's environment):
 * `AS`, `CALICO_ROUTER_ID`, and BGP passwords, which etcd-mode Calico cannot
 * supply (its passwords are Kubernetes secretKeyRefs).
 */
export interface DesiredOverrides {
  asNumber?: number;
  /** CALICO_ROUTER_ID: a dotted quad or `hash`. */
  routerId?: string;
  /** Password for every mesh session (stands in for BGPConfiguration nodeMeshPassword). */
  meshPassword?: string;
  /** Passwords by BGPPeer resource name (stand in for BGPPeer spec.password). */
  peerPasswords?: Record<string, string>;
}

/** A note about something the computation could not honour, by resource. */
export interface DesiredProblem {
  key: string;
  message: string;
}

export interface DesiredResult {
  state?: DesiredState;
  problems: DesiredProblem[];
}

/** Read AS / CALICO_ROUTER_ID from an environment as calico-node does. */
export function overridesFromEnv(env: Record<string, string | undefined>): DesiredOverrides {
  const o: DesiredOverrides = {};
  if (env.AS) {
    const n = Number(env.AS);
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new Error(`AS: "${env.AS}" is not an AS number`);
    o.asNumber = n;
  }
  if (env.CALICO_ROUTER_ID) o.routerId = env.CALICO_ROUTER_ID;
  return o;
}

function globalConfig(view: ResourceView): BGPConfigurationResource | undefined {
  return view.bgpConfigs.get('default');
}

function globalAS(view: ResourceView): number {
  return globalConfig(view)?.asNumber ?? DEFAULT_AS;
}

/** A node's listen port as confd finds it: node.<name> BGPConfiguration, else default, else unset. */
function configuredListenPort(view: ResourceView, nodeName: string): number | undefined {
  return view.bgpConfigs.get(`node.${nodeName}`)?.listenPort ?? globalConfig(view)?.listenPort;
}

/**
 * This node's identity. An IPv6-only node (ipv6Address, no ipv4Address) gets
 * its router id from CALICO_ROUTER_ID (router-id.ts) and, only when the caller
 * passes `ipv6Only: true`, an identity with `ipv4: ''` and `ipv4PrefixLen: 0`:
 * the RIB and sessions take an IPv4 address as theirs today, so until their
 * IPv6 work lands such a node stays a clear problem rather than a crash.
 */
export function computeIdentity(
  view: ResourceView,
  nodeName: string,
  overrides: DesiredOverrides = {},
  opts: { ipv6Only?: boolean } = {},
): NodeIdentity | DesiredProblem {
  const key = `/calico/resources/v3/projectcalico.org/nodes/${nodeName}`;
  const node = view.nodes.get(nodeName);
  if (!node) return { key, message: `no Node resource for this node "${nodeName}"` };
  const hasV4 = !!node.ipv4 && node.ipv4PrefixLen !== undefined;
  if (!hasV4 && !node.ipv6) return { key, message: 'spec.bgp.ipv4Address is not set: this node cannot peer' };
  let routerId: string;
  try {
    routerId = selectRouterId(nodeName, hasV4 ? node.ipv4 : undefined, overrides.routerId);
  } catch (err) {
    return { key: 'CALICO_ROUTER_ID', message: (err as Error).message };
  }
  if (!hasV4 && !opts.ipv6Only) {
    return { key, message: `spec.bgp.ipv4Address is not set: IPv6-only node (router id ${routerId}); this agent does not run IPv6-only nodes until its IPv6 sessions land` };
  }
  const id: NodeIdentity = {
    name: nodeName,
    ipv4: hasV4 ? node.ipv4! : '',
    ipv4PrefixLen: hasV4 ? node.ipv4PrefixLen! : 0,
    asNumber: overrides.asNumber ?? node.asNumber ?? globalAS(view),
    routerId,
  };
  if (node.ipv6) id.ipv6 = node.ipv6;
  if (node.ipv6 && node.ipv6PrefixLen !== undefined) id.ipv6PrefixLen = node.ipv6PrefixLen;
  if (node.routeReflectorClusterID) id.routeReflectorClusterID = node.routeReflectorClusterID;
  if (node.ipv4IPIPTunnelAddr) id.ipv4IPIPTunnelAddr = node.ipv4IPIPTunnelAddr;
  return id;
}

export function computeBgpSettings(view: ResourceView, nodeName: string, problems: DesiredProblem[] = []): BgpSettings {
  const g = globalConfig(view);
  const n = view.bgpConfigs.get(`node.${nodeName}`);
  const settings: BgpSettings = {
    nodeToNodeMeshEnabled: g?.nodeToNodeMeshEnabled ?? true,
    listenPort: n?.listenPort ?? g?.listenPort ?? DEFAULT_PORT,
    prefixAdvertisements: prefixAdvertisements(g, n, problems),
  };
  // calico-node reads the service ranges from the default BGPConfiguration only.
  const services = [...(g?.serviceClusterIPs ?? []), ...(g?.serviceExternalIPs ?? []), ...(g?.serviceLoadBalancerIPs ?? [])]
    .filter((c) => !c.includes(':') && !c.endsWith('/32'));
  if (services.length) settings.serviceCidrs = [...new Set(services)];
  const pcr = n?.programClusterRoutes ?? g?.programClusterRoutes;
  if (pcr !== undefined) settings.programClusterRoutes = pcr;
  const sev = n?.logSeverityScreen ?? g?.logSeverityScreen;
  if (sev !== undefined) settings.logSeverityScreen = sev;
  return settings;
}

/**
 * The prefix advertisements this node applies, names resolved to values:
 * node.<name>'s when it has any, else the default's (confd reads the
 * node's prefix_advertisements key first), each resolving names against the
 * same resource's `communities` (confd getPrefixAdvertisementsKVPair). Bad
 * entries of both resources are problems naming the resource and field.
 */
function prefixAdvertisements(g: BGPConfigurationResource | undefined, n: BGPConfigurationResource | undefined, problems: DesiredProblem[]): BgpSettings['prefixAdvertisements'] {
  const chosen = n?.prefixAdvertisements ? n : g?.prefixAdvertisements ? g : undefined;
  for (const c of [g, n]) {
    if (!c) continue;
    const key = `/calico/resources/v3/projectcalico.org/bgpconfigurations/${c.name}`;
    const found = [...(c.communityProblems ?? []), ...(c === chosen ? resolvePrefixAdvertisements(c).problems : [])];
    for (const x of found) problems.push({ key, message: `${x.field}: ${x.message}` });
  }
  return chosen ? resolvePrefixAdvertisements(chosen).advertisements : [];
}

/** One candidate peering before it becomes a PeerConfig (confd's v1 bgpPeer). */
interface Candidate {
  ip: string;
  /** Port when set (explicit, or a configured listenPort); 0 = unset (179). */
  port: number;
  asNumber: number;
  /** Peer's RR cluster id; "" for peers given by IP (confd: present but empty). */
  rrClusterId: string;
  /** Peer given by peerIP and that IP is a Calico node's: the passive rule applies to global peers. */
  calicoNode: boolean;
  nodeName?: string;
}

function sessionName(prefix: string, ip: string, port: number): string {
  const base = `${prefix}_${ip.replace(/[.:]/g, '_')}`;
  return port ? `${base}_port_${port}` : base;
}

function nodesMatching(view: ResourceView, sel: Selector): NodeResource[] {
  const out: NodeResource[] = [];
  for (const n of view.nodes.values()) if (sel.matches(n.labels)) out.push(n);
  return out;
}

function nodeAsCandidate(view: ResourceView, n: NodeResource, gAS: number, v6: boolean): Candidate | undefined {
  const ip = v6 ? n.ipv6 : n.ipv4;
  if (!ip) return undefined;
  return {
    ip,
    port: configuredListenPort(view, n.name) ?? 0,
    asNumber: n.asNumber ?? gAS,
    rrClusterId: n.routeReflectorClusterID ?? '',
    calicoNode: false,
    nodeName: n.name,
  };
}

/** confd's nodesWithIPPortAndAS: Calico nodes behind a peerIP (+AS, +port). */
function nodesWithIPPortAndAS(view: ResourceView, ip: string, asNumber: number | undefined, port: number | undefined, gAS: number): NodeResource[] {
  const want = asNumber ?? gAS;
  const out: NodeResource[] = [];
  for (const n of view.nodes.values()) {
    if (n.ipv4 !== ip && n.ipv6 !== ip) continue;
    if ((n.asNumber ?? gAS) !== want) continue;
    if (port) {
      const lp = configuredListenPort(view, n.name);
      if (lp !== undefined && lp !== port) continue;
    }
    out.push(n);
  }
  return out;
}

/** The peers a BGPPeer's remote side names: peerSelector nodes, or its peerIP. */
function forwardCandidates(view: ResourceView, p: BGPPeerResource, gAS: number, nodeIPs: Map<string, NodeResource>): Candidate[] {
  if (p.peerSelector) {
    const out: Candidate[] = [];
    for (const n of nodesMatching(view, p.peerSelector)) {
      const c4 = nodeAsCandidate(view, n, gAS, false);
      if (c4) out.push(c4);
      const c6 = nodeAsCandidate(view, n, gAS, true);
      if (c6) out.push(c6);
    }
    return out;
  }
  if (!p.peerIP) return [];
  let port = p.peerIP.port ?? 0;
  const behind = nodesWithIPPortAndAS(view, p.peerIP.ip, p.asNumber, p.peerIP.port, gAS);
  if (!port && behind.length) port = configuredListenPort(view, behind[0].name) ?? 0;
  const node = nodeIPs.get(p.peerIP.ip);
  const c: Candidate = { ip: p.peerIP.ip, port, asNumber: p.asNumber ?? gAS, rrClusterId: '', calicoNode: !!node };
  if (node) c.nodeName = node.name;
  return [c];
}

/** Does this BGPPeer's local side (node / nodeSelector) pick `self`? */
function localSidePicks(p: BGPPeerResource, self: NodeResource): boolean {
  if (p.nodeSelector) return p.nodeSelector.matches(self.labels);
  if (p.node) return p.node === self.name;
  return true; // global
}

/** Issue 22: BFD's defaults (100 ms TX, 100 ms RX, multiplier 3), as Calico Enterprise's. */
export const DEFAULT_BFD: BfdSettings = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

/**
 * BGPConfiguration spec.bfd, field by field: node.<name> over default over
 * the defaults. Its bad fields are problems naming the resource and field.
 */
function bfdSettings(view: ResourceView, nodeName: string, problems: DesiredProblem[]): BfdSettings {
  const out = { ...DEFAULT_BFD };
  for (const name of ['default', `node.${nodeName}`]) {
    const c = view.bgpConfigs.get(name);
    if (!c) continue;
    for (const x of c.bfdProblems ?? []) problems.push({ key: `/calico/resources/v3/projectcalico.org/bgpconfigurations/${name}`, message: `${x.field}: ${x.message}` });
    Object.assign(out, c.bfd ?? {});
  }
  return out;
}

/** RFC 5881 single hop: is `ip` on this node's own IPv4 subnet (address/len from spec.bgp.ipv4Address)? */
function onIPv4Subnet(ip: string, self: string, len: number): boolean {
  const n = (a: string): number => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const size = 2 ** (32 - len);
  return Math.floor(n(ip) / size) === Math.floor(n(self) / size);
}

/**
 * The IPv6 node-to-node mesh, as confd renders bird6.cfg: a session to every
 * other node with an IPv6 address (self by IP), skipping nodes with a cluster
 * id; passive towards greater addresses compared as strings (canonical form).
 */
function addMesh6(
  view: ResourceView,
  id: NodeIdentity,
  gAS: number,
  g: BGPConfigurationResource | undefined,
  overrides: DesiredOverrides,
  peers: Map<string, PeerConfig>,
): void {
  const self = id.ipv6!;
  const meshSecret = overrides.meshPassword === undefined ? g?.nodeMeshPasswordRef : undefined;
  for (const name of [...view.nodes.keys()].sort()) {
    const n = view.nodes.get(name)!;
    if (!n.ipv6 || n.ipv6 === self || n.routeReflectorClusterID) continue;
    const port = configuredListenPort(view, n.name) ?? DEFAULT_PORT;
    const key = `${n.ipv6}:${port}`;
    if (peers.has(key)) continue;
    const pc: PeerConfig = {
      name: sessionName('Mesh', n.ipv6, 0),
      type: 'node-to-node mesh',
      address: n.ipv6,
      port,
      asNumber: n.asNumber ?? gAS,
      passive: n.ipv6 > self,
      sourceAddress: self,
      keepOriginalNextHop: false,
      restartTime: g?.nodeMeshMaxRestartTime ?? DEFAULT_RESTART_TIME,
      nodeName: n.name,
    };
    if (overrides.meshPassword !== undefined) pc.password = overrides.meshPassword;
    else if (meshSecret) pc.passwordSecret = { ...meshSecret };
    peers.set(key, pc);
  }
}

/**
 * A BGPPeer's `spec.filters`, resolved in order. A name with no usable
 * BGPFilter (none, or one that never parsed) is left out, as confd leaves out
 * a filter it cannot read (bgp_processor.go buildImportFilter); the peer
 * names it in the status.
 */
function resolveFilters(view: ResourceView, p: BGPPeerResource, problems: DesiredProblem[]): BgpFilter[] {
  const out: BgpFilter[] = [];
  p.filters.forEach((name, i) => {
    const f = view.bgpFilters?.get(name);
    if (f) {
      const { kind: _k, ...filter } = f;
      out.push(filter);
    } else {
      problems.push({
        key: `/calico/resources/v3/projectcalico.org/bgppeers/${p.name}`,
        message: `spec.filters[${i}]: BGPFilter/${name} does not exist or never parsed: not applied to this peer's sessions`,
      });
    }
  });
  return out;
}

export function computePeers(
  view: ResourceView,
  id: NodeIdentity,
  settings: BgpSettings,
  overrides: DesiredOverrides = {},
  problems: DesiredProblem[] = [],
): Map<string, PeerConfig> {
  const peers = new Map<string, PeerConfig>();
  const self = view.nodes.get(id.name);
  if (!self) return peers;
  const gAS = globalAS(view);
  const g = globalConfig(view);
  const bfd = bfdSettings(view, id.name, problems);
  const nodeIPs = new Map<string, NodeResource>();
  for (const n of view.nodes.values()) {
    if (n.ipv4) nodeIPs.set(n.ipv4, n);
    if (n.ipv6) nodeIPs.set(n.ipv6, n);
  }
  const clusterId = id.routeReflectorClusterID ?? '';

  // 1. Node-to-node mesh.
  if (settings.nodeToNodeMeshEnabled && !clusterId && id.ipv4) {
    // The agent's own mesh password (AGENT_MESH_PASSWORD) wins; else the
    // secret, which the agent reads from its mounted secrets (src/agent/secrets.ts).
    const meshPassword = overrides.meshPassword;
    const meshSecret = meshPassword === undefined ? g?.nodeMeshPasswordRef : undefined;
    {
      const names = [...view.nodes.keys()].sort();
      for (const name of names) {
        const n = view.nodes.get(name)!;
        if (!n.ipv4 || n.ipv4 === id.ipv4 || n.routeReflectorClusterID) continue;
        const port = configuredListenPort(view, n.name) ?? DEFAULT_PORT;
        const key = `${n.ipv4}:${port}`;
        if (peers.has(key)) continue;
        const pc: PeerConfig = {
          name: sessionName('Mesh', n.ipv4, 0),
          type: 'node-to-node mesh',
          address: n.ipv4,
          port,
          asNumber: n.asNumber ?? gAS,
          // Mesh is unidirectional: the peer with the greater IP (string compare) connects to us.
          passive: n.ipv4 > id.ipv4,
          sourceAddress: id.ipv4,
          keepOriginalNextHop: false,
          restartTime: g?.nodeMeshMaxRestartTime ?? DEFAULT_RESTART_TIME,
          nodeName: n.name,
        };
        if (meshPassword !== undefined) pc.password = meshPassword;
        else if (meshSecret) pc.passwordSecret = { ...meshSecret };
        peers.set(key, pc);
      }
    }
  }

  // 1b. The IPv6 mesh (bird6.cfg): the same rules between the nodes' IPv6 addresses.
  if (settings.nodeToNodeMeshEnabled && !clusterId && id.ipv6) addMesh6(view, id, gAS, g, overrides, peers);

  const sorted = [...view.bgpPeers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const filtersOf = new Map<string, BgpFilter[]>();
  for (const p of sorted) {
    for (const x of [...(p.bfdProblems ?? []), ...(p.optionProblems ?? [])]) {
      problems.push({ key: `/calico/resources/v3/projectcalico.org/bgppeers/${p.name}`, message: `${x.field}: ${x.message}` });
    }
    if (p.filters.length) filtersOf.set(p.name, resolveFilters(view, p, problems));
  }

  const emit = (c: Candidate, p: BGPPeerResource, type: PeerType, reverse: boolean): void => {
    if (c.ip === id.ipv4 || (id.ipv6 && c.ip === id.ipv6)) return; // confd skips ourselves by IP
    const v6 = c.ip.includes(':');
    if (v6 && !id.ipv6) return; // no IPv6 address: no IPv6 sessions (calico-node runs no bird6)
    if (!v6 && !id.ipv4) return; // IPv6-only node: no IPv4 sessions
    const port = c.port || DEFAULT_PORT;
    const key = `${c.ip}:${port}`;
    if (peers.has(key)) return; // an earlier peering to this ip:port wins
    const password = overrides.peerPasswords?.[p.name];
    const prefix = type === 'global' ? 'Global' : 'Node';
    const pc: PeerConfig = {
      name: sessionName(prefix, c.ip, c.port),
      type,
      address: c.ip,
      port,
      asNumber: c.asNumber,
      passive: type === 'global' && !reverse && c.calicoNode && c.ip > (v6 ? id.ipv6! : id.ipv4),
      keepOriginalNextHop: false,
      restartTime: p.maxRestartTime ?? DEFAULT_RESTART_TIME,
    };
    // confd's buildPeerFromData: localASNumber (peerIP peerings only: confd's
    // nodeAsBGPPeers, behind peerSelector and reverse peerings, never sets it)
    // is the AS this session speaks, and so decides iBGP vs eBGP below.
    const fromPeerIP = !reverse && !p.peerSelector;
    if (fromPeerIP && p.localASNumber !== undefined) pc.localAsNumber = p.localASNumber;
    if (fromPeerIP && p.numAllowedLocalASNumbers) pc.allowLocalAs = p.numAllowedLocalASNumbers;
    const localAs = pc.localAsNumber ?? id.asNumber;
    // nextHopMode wins over keepOriginalNextHop (confd getNextHopMode); the older field means `next hop keep` for eBGP only.
    if (p.nextHopMode === 'Self') pc.nextHopSelf = true;
    else if (p.nextHopMode === 'Keep') pc.keepOriginalNextHop = true;
    else if (p.nextHopMode === undefined) pc.keepOriginalNextHop = p.keepOriginalNextHop && c.asNumber !== localAs;
    // bird_aggr.cfg.template: `route <peerIP>/32 via <reachableBy>` (libcalico-go allows reachableBy only beside a peerIP).
    if (fromPeerIP && p.reachableBy && p.reachableBy.includes(':') === v6) pc.reachableBy = p.reachableBy;
    if (p.sourceAddress !== 'None') pc.sourceAddress = v6 ? id.ipv6 : id.ipv4;
    if (c.asNumber === localAs && clusterId && c.rrClusterId !== clusterId) {
      pc.routeReflectorClient = { clusterId };
    }
    if (password !== undefined) pc.password = password;
    else if (p.passwordRef) pc.passwordSecret = { ...p.passwordRef };
    if (p.keepaliveTime !== undefined) pc.keepaliveTime = p.keepaliveTime;
    if (p.ttlSecurity) pc.ttlSecurity = p.ttlSecurity;
    const filters = filtersOf.get(p.name);
    if (filters?.length) pc.filters = filters;
    if (c.nodeName) pc.nodeName = c.nodeName;
    pc.bgpPeer = p.name;
    // Calico Enterprise's BFDIfDirectlyConnected: BFD only towards a peer on this node's subnet (single hop, RFC 5881).
    if (p.failureDetectionMode === 'BFDIfDirectlyConnected' && !v6 && onIPv4Subnet(c.ip, id.ipv4, id.ipv4PrefixLen)) pc.bfd = { ...bfd };
    peers.set(key, pc);
  };

  // 2. Global BGPPeers, then 3. node-specific ones picking this node.
  for (const globalPass of [true, false]) {
    for (const p of sorted) {
      const isGlobal = !p.node && !p.nodeSelector;
      if (isGlobal !== globalPass) continue;
      if (!localSidePicks(p, self)) continue;
      for (const c of forwardCandidates(view, p, gAS, nodeIPs)) emit(c, p, isGlobal ? 'global' : 'node specific', false);
    }
  }

  // 4. Reverse peerings: a BGPPeer whose remote side names this node makes it
  //    peer back with the nodes its local side picks (unless reversePeering: Manual).
  for (const p of sorted) {
    if (p.reversePeering === 'Manual') continue;
    let selfIsRemote: boolean;
    let v4 = true;
    let v6 = true;
    if (p.peerSelector) selfIsRemote = p.peerSelector.matches(self.labels);
    else if (p.peerIP) {
      selfIsRemote = nodesWithIPPortAndAS(view, p.peerIP.ip, p.asNumber, p.peerIP.port, gAS).some((n) => n.name === self.name);
      v6 = p.peerIP.ip.includes(':');
      v4 = !v6;
    } else selfIsRemote = false;
    if (!selfIsRemote) continue;
    const remote = p.nodeSelector ? nodesMatching(view, p.nodeSelector) : p.node ? [view.nodes.get(p.node)].filter((n): n is NodeResource => !!n) : [...view.nodes.values()];
    remote.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const n of remote) {
      if (v4) {
        const c = nodeAsCandidate(view, n, gAS, false);
        if (c) emit(c, p, 'node specific', true);
      }
      if (v6) {
        const c = nodeAsCandidate(view, n, gAS, true);
        if (c) emit(c, p, 'node specific', true);
      }
    }
  }
  return peers;
}

/** IPv4 pools (IPv6 pools are DesiredState.pools6: desired-state6.ts). */
export function computePools(view: ResourceView): Map<string, Pool> {
  const pools = new Map<string, Pool>();
  for (const p of view.ipPools.values()) {
    if (isIPv6Pool(p)) continue;
    pools.set(p.name, {
      name: p.name,
      cidr: p.cidr.cidr,
      ipipMode: p.ipipMode,
      vxlanMode: p.vxlanMode,
      disabled: p.disabled,
      disableBGPExport: p.disableBGPExport,
      natOutgoing: p.natOutgoing,
      blockSize: p.blockSize,
    });
  }
  return pools;
}

/**
 * This host's blocks, from its affinity keys only (confd never reads block
 * values). Confirmed (or legacy empty) affinities are blackholed unless /32
 * and exported unless their pool has disableBGPExport; pending and
 * pendingDeletion are listed with neither.
 */
export function computeBlocks(view: ResourceView, nodeName: string): Map<string, LocalBlock> {
  const blocks = new Map<string, LocalBlock>();
  const mine = view.affinities.get(nodeName);
  if (!mine) return blocks;
  const pools = new PoolIndex([...view.ipPools.values()].map((p) => ({ cidr: p.cidr.cidr, name: p.name, disableBGPExport: p.disableBGPExport })));
  for (const a of mine.values()) {
    if (a.cidr.ipVersion !== 4) continue; // IPv4 agent (IPIP mode)
    const state: AffinityState = a.state;
    const pool = pools.of(parsePrefix(a.cidr.cidr, true));
    const d = blockDisposition(state, a.cidr.prefixLen, pool);
    const b: LocalBlock = { cidr: a.cidr.cidr, state, blackhole: d.blackhole, exported: d.exported };
    if (pool) b.pool = pool.name;
    blocks.set(b.cidr, b);
  }
  return blocks;
}

export function computeDesiredState(view: ResourceView, nodeName: string, overrides: DesiredOverrides = {}): DesiredResult {
  const problems: DesiredProblem[] = [];
  const id = computeIdentity(view, nodeName, overrides);
  if (!('ipv4' in id)) return { problems: [id] };
  const bgp = computeBgpSettings(view, nodeName, problems);
  const state: DesiredState = {
    node: id,
    bgp,
    peers: computePeers(view, id, bgp, overrides, problems),
    blocks: computeBlocks(view, nodeName),
    pools: computePools(view),
    // Without an IPv6 address calico-node runs no bird6: no IPv6 blackholes, no IPv6 export.
    blocks6: id.ipv6 ? computeBlocks6(view, nodeName) : new Map(),
    pools6: computePools6(view, problems),
  };
  return { state, problems };
}

// ---------------------------------------------------------------- diff

/** Shallow structural equality for the flat contract records (arrays/objects compared by JSON). */
export function sameRecord(a: object | undefined, b: object | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    const va = (a as Record<string, unknown>)[k];
    const vb = (b as Record<string, unknown>)[k];
    if (va === vb) continue;
    if (typeof va === 'object' && typeof vb === 'object' && JSON.stringify(va) === JSON.stringify(vb)) continue;
    return false;
  }
  return true;
}

function diffMap<T extends object>(prev: ReadonlyMap<string, T> | undefined, next: ReadonlyMap<string, T>, added: T[], changed: T[], removed: T[]): void {
  if (prev === next) return;
  for (const [k, v] of next) {
    const old = prev?.get(k);
    if (old === undefined) added.push(v);
    else if (!sameRecord(old, v)) changed.push(v);
  }
  if (prev) for (const [k, v] of prev) if (!next.has(k)) removed.push(v);
}

export function emptyDiff(): DesiredStateDiff {
  return {
    peersAdded: [],
    peersChanged: [],
    peersRemoved: [],
    blocksAdded: [],
    blocksChanged: [],
    blocksRemoved: [],
    poolsChanged: [],
    poolsRemoved: [],
    blocks6Added: [],
    blocks6Changed: [],
    blocks6Removed: [],
    pools6Changed: [],
    pools6Removed: [],
  };
}

const EMPTY_MAP: ReadonlyMap<string, never> = new Map<string, never>();

/** Differences from `prev` (undefined = nothing yet) to `next`; maps shared by reference are skipped. */
export function diffDesired(prev: DesiredState | undefined, next: DesiredState): DesiredStateDiff {
  const d = emptyDiff();
  if (!prev || !sameRecord(prev.node, next.node)) d.node = next.node;
  if (!prev || !sameRecord(prev.bgp, next.bgp)) d.bgp = next.bgp;
  diffMap(prev?.peers, next.peers, d.peersAdded, d.peersChanged, d.peersRemoved);
  diffMap(prev?.blocks, next.blocks, d.blocksAdded, d.blocksChanged, d.blocksRemoved);
  const poolsAdded: Pool[] = [];
  diffMap(prev?.pools, next.pools, poolsAdded, d.poolsChanged, d.poolsRemoved);
  d.poolsChanged.unshift(...poolsAdded);
  diffMap(prev?.blocks6, next.blocks6 ?? EMPTY_MAP, d.blocks6Added, d.blocks6Changed, d.blocks6Removed);
  const pools6Added: Pool[] = [];
  diffMap(prev?.pools6, next.pools6 ?? EMPTY_MAP, pools6Added, d.pools6Changed, d.pools6Removed);
  d.pools6Changed.unshift(...pools6Added);
  return d;
}

export function isEmptyDiff(d: DesiredStateDiff): boolean {
  return (
    !d.node &&
    !d.bgp &&
    !d.peersAdded.length &&
    !d.peersChanged.length &&
    !d.peersRemoved.length &&
    !d.blocksAdded.length &&
    !d.blocksChanged.length &&
    !d.blocksRemoved.length &&
    !d.poolsChanged.length &&
    !d.poolsRemoved.length &&
    !d.blocks6Added.length &&
    !d.blocks6Changed.length &&
    !d.blocks6Removed.length &&
    !d.pools6Changed.length &&
    !d.pools6Removed.length
  );
}
