/**
 * The JSON of `agent status --json` and `agent peers --json`: one shape for a
 * peer in both, and one time format, ISO 8601 strings in UTC (what
 * `kubectl ... -o json` prints), where the snapshot holds epoch ms. A peer's
 * `state` is BIRD's (up / start / down, calicoctl's STATE column) in both,
 * `bgpState` the RFC 4271 FSM state. Imports no BGP code: the status CLI
 * loads it.
 */
import type { PeerSnapshot, StatusSnapshot } from './snapshot.js';
import { notes, peerInfo, problems } from './status-format.js';

/** Epoch ms as ISO 8601 (UTC); absent stays absent. */
export function isoTime(ms: number): string;
export function isoTime(ms: number | undefined): string | undefined;
export function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export function peerJson(p: PeerSnapshot): Record<string, unknown> {
  return {
    name: p.name,
    address: p.address,
    port: p.port,
    type: p.type,
    asNumber: p.asNumber,
    state: p.birdState,
    since: isoTime(p.since),
    info: peerInfo(p),
    bgpState: p.bgpState,
    lastError: p.lastError ?? null,
    disabled: p.disabled === true,
    ...(p.bgpPeer ? { bgpPeer: p.bgpPeer } : {}),
    ...(p.localAs !== undefined ? { localAs: p.localAs } : {}),
    ...(p.filters ? { filters: p.filters } : {}),
    passive: p.passive,
    ...(p.note ? { note: p.note } : {}),
    ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    ...(p.remoteRouterId ? { remoteRouterId: p.remoteRouterId } : {}),
    ...(p.holdTime !== undefined ? { holdTime: p.holdTime, keepaliveTime: p.keepaliveTime } : {}),
    capabilities: p.capabilities ?? [],
    prefixes: { received: p.counters.received, accepted: p.counters.accepted, advertised: p.counters.advertised },
    counters: p.counters,
    ...(p.bfd
      ? {
          bfd: {
            ...p.bfd,
            since: isoTime(p.bfd.since),
            ...(p.bfd.lastDown ? { lastDown: { ...p.bfd.lastDown, at: isoTime(p.bfd.lastDown.at) } } : {}),
          },
        }
      : {}),
  };
}

export function statusJson(snap: StatusSnapshot): Record<string, unknown> {
  const k = snap.kernel;
  return {
    ...snap,
    startedAt: isoTime(snap.startedAt),
    now: isoTime(snap.now),
    peers: snap.peers.map(peerJson),
    datastore: { ...snap.datastore, since: isoTime(snap.datastore.since) },
    kernel: {
      ...k,
      failed: k.failed.map((f) => ({ ...f, since: isoTime(f.since) })),
      lastScan: isoTime(k.lastScan),
      lastLoopAt: isoTime(k.lastLoopAt),
    },
    problems: problems(snap),
    notes: notes(snap),
  };
}

/** What `--json` prints on stdout when no agent answers (the message also goes to stderr). */
export function errorJson(message: string): string {
  return JSON.stringify({ error: message }) + '\n';
}
