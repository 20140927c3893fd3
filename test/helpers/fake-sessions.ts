/**
 * The sessions side of the routing wiring (src/agent/routing.ts's
 * SessionsPort) for unit tests: records what the wiring configures, sends
 * and asks for, and fires session events as the speaker would.
 */
import { EventEmitter } from 'node:events';
import type { SessionsPort } from '../../src/agent/routing.js';
import type { OutChange, SessionEvent } from '../../src/bgp/route.js';
import type { PeerConfig } from '../../src/contracts.js';

export class FakeSessions extends EventEmitter implements SessionsPort {
  configured: string[] = [];
  sent: { peer: string; changes: readonly OutChange[] }[] = [];
  endOfRib: string[] = [];
  restartCompleted = 0;
  refreshRequested: string[] = [];
  /** Which peers "advertised" Route Refresh: requestRefresh succeeds for them only. */
  refreshCapable = new Set<string>();

  /** `addPath`: what every peer's session negotiated (RFC 7911 send and receive). */
  constructor(private readonly addPath = false) {
    super();
  }
  setPeers(configs: readonly PeerConfig[]): void {
    this.configured = configs.map((c) => c.name);
  }
  enqueue(peer: string, changes: readonly OutChange[]): void {
    this.sent.push({ peer, changes });
  }
  requestRefresh(peer: string): boolean {
    if (!this.refreshCapable.has(peer)) return false;
    this.refreshRequested.push(peer);
    return true;
  }
  sendEndOfRib(peer: string): void {
    this.endOfRib.push(peer);
  }
  peer(): { negotiatedInfo(): { remoteRouterId: string; addPathSend: boolean; addPathReceive: boolean } } {
    return { negotiatedInfo: () => ({ remoteRouterId: '10.0.0.9', addPathSend: this.addPath, addPathReceive: this.addPath }) };
  }
  restartComplete(): void {
    this.restartCompleted++;
  }
  fire(e: SessionEvent): void {
    this.emit('event', e);
  }
}
