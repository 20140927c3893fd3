/**
 * The contracts between the parts (docs/ARCHITECTURE.md "Contracts"), in a
 * module of their own so that no part imports another's internals for its
 * types: the datastore produces a DesiredState (what the Calico datastore
 * says this node should be doing, computed the way confd renders BIRD's
 * configuration) and its diffs; sessions, RIB and kernel programmer each
 * reconcile towards their part of it.
 */

import type { BgpFilter } from './calico/bgp-filter.js';

/** This node, as calico-node knows itself. */
export interface NodeIdentity {
  name: string;
  /** IPv4 address without length, e.g. "10.10.20.5". */
  ipv4: string;
  /** Prefix length of the node's subnet (from spec.bgp.ipv4Address "10.10.20.5/24"); CrossSubnet uses it. */
  ipv4PrefixLen: number;
  /**
   * IPv6 address without length (spec.bgp.ipv6Address "fd00:199::2/64"), in
   * RFC 5952 canonical form (as Go prints it), so string compares (the mesh
   * passive rule) and peer keys match across nodes. Unset: no IPv6 sessions.
   */
  ipv6?: string;
  /** Prefix length of spec.bgp.ipv6Address, when ipv6 is set. */
  ipv6PrefixLen?: number;
  /** Effective AS: node spec.bgp.asNumber, else BGPConfiguration asNumber, else 64512. */
  asNumber: number;
  /** BGP identifier, dotted quad (node IPv4, or CALICO_ROUTER_ID, or hash of the name). */
  routerId: string;
  /** spec.bgp.routeReflectorClusterID: set when this node is a route reflector. */
  routeReflectorClusterID?: string;
  ipv4IPIPTunnelAddr?: string;
}

/** Calico's peer types, as `calicoctl node status` prints them. */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

/** One BGP session this node should have (confd's rendered `protocol bgp` block). */
export interface PeerConfig {
  /** Session name as confd renders it: Mesh_10_0_0_2, Global_..., Node_..., plus _port_N. */
  name: string;
  type: PeerType;
  /** Peer address (IPv4 or IPv6), no port. */
  address: string;
  port: number; // default 179
  asNumber: number;
  /** Calico's mesh passive rule: the node with the greater IP (string compare) connects. */
  passive: boolean;
  /** Local address to bind (the node IP by default; undefined = let the kernel choose). */
  sourceAddress?: string;
  /** Set when this node reflects routes to this peer: `rr client; rr cluster id X`. */
  routeReflectorClient?: { clusterId: string };
  /**
   * `next hop keep`: BGPPeer nextHopMode Keep, or its older form
   * keepOriginalNextHop (then towards eBGP peers only, as confd renders it).
   */
  keepOriginalNextHop: boolean;
  /** `next hop self`: BGPPeer nextHopMode Self (this node's address as NEXT_HOP, also towards iBGP peers). */
  nextHopSelf?: boolean;
  /**
   * BGPPeer localASNumber: BIRD's `local as N` for this session. The peer sees
   * only this AS (OPEN My AS / AS4 capability, the AS prepended towards it),
   * and it decides whether the session is iBGP. Unset: the node's AS.
   */
  localAsNumber?: number;
  /** BGPPeer numAllowedLocalASNumbers: BIRD's `allow local as N` (our AS up to N times in a received AS_PATH is not a loop). */
  allowLocalAs?: number;
  /**
   * BGPPeer reachableBy: confd renders `route <address>/32 via <gateway>` in
   * BIRD's static protocol, which BIRD writes to the kernel; the agent
   * programs that kernel route (never advertised: outside every pool).
   */
  reachableBy?: string;
  /**
   * TCP MD5 password (RFC 2385) if configured: the key is its UTF-8 bytes.
   * Filled by the agent from `passwordSecret` (src/agent/secrets.ts), or from
   * its own configuration (AGENT_PEER_PASSWORDS / AGENT_MESH_PASSWORD).
   */
  password?: string;
  /**
   * Where the password lives: BGPPeer spec.password.secretKeyRef, or
   * BGPConfiguration spec.nodeMeshPassword.secretKeyRef for mesh sessions.
   * A name and key only; the value never enters the desired state.
   */
  passwordSecret?: { name: string; key: string };
  /** Why the secret's value cannot be a TCP MD5 key (over 80 bytes, not UTF-8, unreadable): the session stays down with this reason. */
  passwordProblem?: string;
  /** Graceful restart time advertised (seconds): nodeMeshMaxRestartTime / maxRestartTime, default 120. */
  restartTime: number;
  /** BGPPeer keepaliveTime, seconds, if set (hold = 3x). */
  keepaliveTime?: number;
  /** BGPPeer ttlSecurity: GTSM (RFC 5082) with this many hops (send TTL 255, accept >= 256 - hops). */
  ttlSecurity?: number;
  /** Address of the Calico node behind this peer, when it is one (mesh, peerSelector). */
  nodeName?: string;
  /**
   * The BGPPeer resource (metadata.name) this session comes from; none for
   * mesh sessions. Operators name peers by it (`agent peers <name>`); a rename
   * alone never resets the session.
   */
  bgpPeer?: string;
  /**
   * BFD for this session (RFC 5880, single hop RFC 5881, BGP's use RFC 5882):
   * set when its BGPPeer has `failureDetectionMode: BFDIfDirectlyConnected`
   * and the peer is on this node's subnet. Timers from BGPConfiguration
   * spec.bfd (default 100 ms / 100 ms / 3). A change of timers is applied to
   * the live BFD session (Poll Sequence); it never resets the BGP session.
   */
  bfd?: BfdSettings;
  /**
   * BGPPeer spec.filters, resolved to the BGPFilters in force, in order
   * (src/calico/bgp-filter.ts). Set only when some filter applies. A change
   * never resets the session: the RIB re-evaluates its Adj-RIB-In and
   * re-exports to this peer, as BIRD reconfigures a protocol whose filters
   * changed without restarting it.
   */
  filters?: BgpFilter[];
}

/** BGPConfiguration spec.bfd: BFD's intervals (ms) and detect multiplier. */
export interface BfdSettings {
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

export type AffinityState = 'confirmed' | 'pending' | 'pendingDeletion';

/** An IPAM block affine to this node (from /calico/ipam/v2/host/<node>/ipv4/block/..., or ipv6 for DesiredState.blocks6). */
export interface LocalBlock {
  cidr: string; // "10.8.94.64/26"
  state: AffinityState; // empty value in etcd = confirmed
  /**
   * Export rules applied by the datastore (docs/ARCHITECTURE.md, "Calico facts
   * the agent matches", Blocks and export),
   * so the kernel and RIB need not re-derive them. Always set by the datastore;
   * optional only so older literals still type-check.
   * blackhole: confirmed and not a /32.
   */
  blackhole?: boolean;
  /** exported: confirmed and not in a pool with disableBGPExport. */
  exported?: boolean;
  /** Name of the most specific IPPool containing the block, if any. */
  pool?: string;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface Pool {
  name: string;
  cidr: string;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  disabled: boolean;
  disableBGPExport: boolean;
  natOutgoing: boolean;
  blockSize: number;
}

export interface BgpSettings {
  nodeToNodeMeshEnabled: boolean;
  listenPort: number; // default 179
  /** Communities to attach per prefix (BGPConfiguration communities/prefixAdvertisements), as uint32 / large triples. */
  prefixAdvertisements: { cidr: string; communities: string[] }[];
  /** BGPConfiguration.programClusterRoutes as written; undefined when absent. */
  programClusterRoutes?: string;
  logSeverityScreen?: string;
  /**
   * IPv4 service CIDRs every node advertises (the default BGPConfiguration's
   * serviceClusterIPs, serviceExternalIPs, serviceLoadBalancerIPs), at the
   * CIDR level: a single-address entry (/32) is a per-service address, which
   * calico-node advertises only from the nodes with a local endpoint, and is
   * left out here. Never programmed into this node's kernel, nor are learned
   * routes inside them.
   */
  serviceCidrs?: string[];
}

/**
 * The families are kept apart, as calico-node keeps bird (IPv4) and bird6
 * (IPv6) apart: `blocks` and `pools` are IPv4 only, so every IPv4 consumer
 * (RIB export, kernel) sees exactly what it saw before IPv6 existed;
 * `blocks6` and `pools6` carry the IPv6 ones, under the same rules
 * (src/calico/ipam-rules.ts). `peers` holds both families (an IPv6 peer's
 * `address` has a colon); a node without an IPv6 address has no IPv6 peers.
 */
export interface DesiredState {
  node: NodeIdentity;
  bgp: BgpSettings;
  /** Keyed by `${address}:${port}` so a later peering to the same IP+port is dropped, as confd does. */
  peers: Map<string, PeerConfig>;
  /** IPv4 blocks affine to this node, keyed by cidr. */
  blocks: Map<string, LocalBlock>;
  /** IPv4 pools, keyed by pool name. */
  pools: Map<string, Pool>;
  /**
   * IPv6 blocks affine to this node (/calico/ipam/v2/host/<node>/ipv6/block/...),
   * keyed by cidr in canonical form ("fd00:245::/122"). Always set by the
   * datastore; optional only so older literals still type-check.
   */
  blocks6?: Map<string, LocalBlock>;
  /** IPv6 pools, keyed by pool name (ipipMode is always Never: IPIP is IPv4 only). Always set by the datastore. */
  pools6?: Map<string, Pool>;
}

/** A change between two desired states, as emitted to the agent. */
export interface DesiredStateDiff {
  node?: NodeIdentity; // set when identity changed
  bgp?: BgpSettings; // set when settings changed
  peersAdded: PeerConfig[];
  peersChanged: PeerConfig[];
  peersRemoved: PeerConfig[];
  blocksAdded: LocalBlock[];
  blocksChanged: LocalBlock[];
  blocksRemoved: LocalBlock[];
  poolsChanged: Pool[]; // added or changed
  poolsRemoved: Pool[];
  /** The same for DesiredState.blocks6 / pools6 (IPv6). */
  blocks6Added: LocalBlock[];
  blocks6Changed: LocalBlock[];
  blocks6Removed: LocalBlock[];
  pools6Changed: Pool[]; // added or changed
  pools6Removed: Pool[];
}
