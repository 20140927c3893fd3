/**
 * A minimal wiring of sessions to the RIB: Speaker events in, Adj-RIB-Out
 * changes back to the Speaker, one flush per event-loop turn. The agent's
 * real wiring (kernel, status, datastore) is the integrator's; this is what
 * the RIB's integration test and benchmark use, and a reference for it.
 *
 * Only types are imported from the session layer: the RIB itself stays
 * free of sockets.
 */
import type { PeerConfig } from '../../datastore/desired.js';
import type { SessionEvent } from '../route.js';
import type { Speaker } from '../session/index.js';
import type { Rib, RibPeer } from './rib.js';

/** The RIB's view of a configured peer. */
export function ribPeerFromConfig(c: PeerConfig): RibPeer {
  return {
    name: c.name,
    address: c.address,
    asNumber: c.asNumber,
    rrClient: c.routeReflectorClient !== undefined,
    keepOriginalNextHop: c.keepOriginalNextHop,
    addPathSend: true, // Calico: `add paths on`
  };
}

export interface RibWiring {
  /** Reconcile the RIB's peers and the Speaker's sessions to `configs`. */
  setPeers(configs: PeerConfig[]): void;
  detach(): void;
}

export function wireRib(speaker: Speaker, rib: Rib, opts: { onEvent?: (e: SessionEvent) => void } = {}): RibWiring {
  let flushScheduled = false;
  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      rib.flush();
    });
  };
  const known = new Set<string>();

  const onEvent = (e: SessionEvent): void => {
    if (!known.has(e.peer)) return;
    switch (e.type) {
      case 'established': {
        // O(1) per session (a status() walk per session made a mesh bring-up O(N^2)).
        const info = speaker.peer(e.peer)?.negotiatedInfo();
        const full = rib.peerUp(e.peer, {
          remoteRouterId: info?.remoteRouterId ?? '0.0.0.0',
          addPathSend: info?.addPathSend ?? false,
          addPathReceive: info?.addPathReceive ?? false,
        });
        speaker.enqueue(e.peer, full);
        speaker.sendEndOfRib(e.peer); // RFC 4724 §2: after the initial table
        break;
      }
      case 'update':
        rib.applyUpdate(e.peer, e.update);
        scheduleFlush();
        break;
      case 'end-of-rib':
        if (e.afi === 1 && e.safi === 1) rib.endOfRib(e.peer);
        scheduleFlush();
        break;
      case 'route-refresh':
        if (e.afi === 1 && e.safi === 1) {
          speaker.enqueue(e.peer, rib.routeRefresh(e.peer));
          speaker.sendEndOfRib(e.peer);
        }
        break;
      case 'down':
        rib.peerDown(e.peer, { graceful: e.graceful, restartTime: e.restartTime });
        scheduleFlush();
        break;
      default: {
        const never: never = e;
        void never;
      }
    }
    opts.onEvent?.(e);
  };
  speaker.on('event', onEvent);
  rib.onAdjRibOut((peer, changes) => speaker.enqueue(peer, changes));

  return {
    setPeers(configs: PeerConfig[]): void {
      const wanted = new Map(configs.map((c) => [c.name, c]));
      for (const name of [...known]) {
        if (!wanted.has(name)) {
          rib.removePeer(name);
          known.delete(name);
        }
      }
      for (const c of configs) {
        if (known.has(c.name)) rib.updatePeer(ribPeerFromConfig(c));
        else {
          rib.addPeer(ribPeerFromConfig(c));
          known.add(c.name);
        }
      }
      speaker.setPeers(configs);
      scheduleFlush();
    },
    detach(): void {
      speaker.off('event', onEvent);
    },
  };
}
