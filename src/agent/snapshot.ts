/**
 * The read-only snapshot every status surface is drawn from: `agent status`,
 * `agent peers`, readiness, metrics. The agent rebuilds it from cheap counters
 * (never by walking the RIB), so the control socket answers in microseconds
 * even while a million routes are arriving — the calicoctl weakness "status
 * unreachable while the daemon is busy".
 */
import type { PeerType } from '../contracts.js';
import type { BirdState } from '../bgp/session/peer.js';
import type { BfdPeerStatus } from '../bfd/manager.js';

export type { BirdState };

export interface PeerCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  /** Paths held in Adj-RIB-In as received. */
  received: number;
  /** Paths held after import policy. */
  accepted: number;
  /** Paths held in Adj-RIB-Out. */
  advertised: number;
}

export interface PeerSnapshot {
  name: string; // Mesh_10_0_0_2
  address: string;
  port: number;
  type: PeerType;
  asNumber: number;
  /** RFC 4271 FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  bgpState: string;
  birdState: BirdState;
  /** Epoch ms of the last state change (for an Established peer: when the session came up). */
  since: number;
  /** Sessions lost (Established -> any other state) since the peer was configured; absent for a peer never started. */
  flaps?: number;
  /** Last error in an operator's words, if any ("Connect: connection refused"). */
  lastError?: string;
  /** Where the session's state comes from when it is not ours to hold (passive wait etc.). */
  note?: string;
  passive: boolean;
  localAddress?: string;
  remoteRouterId?: string;
  holdTime?: number;
  keepaliveTime?: number;
  capabilities?: string[];
  counters: PeerCounters;
  /** The BGPPeer resource behind this session (none for the mesh). */
  bgpPeer?: string;
  /** BGPPeer localASNumber: the AS the peer sees from us on this session (BIRD `local as`). */
  localAs?: number;
  /** The BGPFilters in force on this session, in the order they are tried (BGPPeer spec.filters). */
  filters?: string[];
  /** Disabled by the operator (`agent peers disable`): held Idle until `agent peers enable`; an agent restart enables it. */
  disabled?: boolean;
  /** BFD (issue 22), when the peer's failureDetectionMode turned it on: state, negotiated intervals, last down reason. */
  bfd?: BfdPeerStatus;
}

export interface DatastoreSnapshot {
  connected: boolean;
  /** Epoch ms since when `connected` has held. */
  since: number;
  synced: boolean;
  revision: number;
  lastError?: string;
  /** `label`: the resource as calicoctl names it ("BGPFilter/tor-policy"), for a resource key. */
  skipped: { key: string; error: string; label?: string }[];
  /** What the desired state could not honour (own Node resource missing, a password only Kubernetes has, ...). */
  problems?: { key: string; message: string }[];
}

export interface KernelFailure {
  route: string;
  error: string;
  since: number;
  attempts: number;
}

export interface KernelSnapshot {
  enabled: boolean;
  /** Why routes are not programmed when `enabled` is false, or programClusterRoutes note. */
  note?: string;
  routes: number;
  /** The first failing routes (the programmer lists a bounded number; `failedCount` is all of them). */
  failed: KernelFailure[];
  /** Routes failing now, all of them (absent: `failed.length`). */
  failedCount?: number;
  /** Route programming errors since start (replace or delete refused by the kernel), retries included. */
  errors?: number;
  tunnelMissing?: string;
  /** --manage-tunnel could not set tunl0 up. */
  tunnelError?: string;
  lastScan?: number;
  /** When the reconcile loop last finished (epoch ms); `agent live` fails when it stops. */
  lastLoopAt?: number;
  scanIntervalMs?: number;
  /**
   * The IPv6 share (issue 19): desired IPv6 routes, those the kernel holds as
   * desired, those failing, and proto bird IPv6 routes seen at the last scan.
   * `routes` above counts both families.
   */
  ipv6?: { routes: number; programmed: number; failed: number; kernelRoutes: number };
}

export interface StatusSnapshot {
  version: string;
  pid: number;
  startedAt: number;
  /** Epoch ms at which this snapshot was taken. */
  now: number;
  node: {
    name: string;
    ipv4?: string;
    ipv6?: string;
    asNumber?: number;
    routerId?: string;
    clusterId?: string;
    /** Why this node has no identity yet (its Node resource missing or without an address): no speaker runs. */
    problem?: string;
  };
  /** The BGP listener: its port, or why it is not listening (only outgoing sessions then work). */
  listener?: { port?: number; error?: string };
  peers: PeerSnapshot[];
  datastore: DatastoreSnapshot;
  kernel: KernelSnapshot;
  /** `borrowed`: the borrowed addresses advertised as our own /32s and /128s (BIRD's kernel learn, src/calico/borrowed.ts). */
  rib: { prefixes: number; paths: number; borrowed?: string[] };
}
