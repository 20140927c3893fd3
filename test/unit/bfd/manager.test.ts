/**
 * The BFD manager over a fake link (no sockets): sessions only for peers
 * with `bfd`, Up both ways, a stop detected and reported as a forwarding
 * failure, a peer's AdminDown not, a timer change without a flap, and
 * malformed or stray packets changing nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PeerConfig } from '../../../src/contracts.js';
import { BfdManager, type BfdChange } from '../../../src/bfd/manager.js';
import { controlPacket, encodeControl } from '../../../src/bfd/packet.js';
import type { BfdReceiver, BfdSender, BfdTransport } from '../../../src/bfd/socket.js';

/** Hosts by address; a datagram to an address reaches that host's listener when the link is up. */
class FakeLink {
  readonly listeners = new Map<string, (bytes: Uint8Array, from: string) => void>();
  readonly senders: string[] = [];
  down = new Set<string>(); // senders whose packets are dropped
  transport(): BfdTransport {
    return {
      listen: async (local, onPacket) => {
        this.listeners.set(local, onPacket);
        const r: BfdReceiver = { localAddress: local, close: () => this.listeners.delete(local) };
        return r;
      },
      openSender: async (local) => {
        this.senders.push(local);
        const s: BfdSender = {
          localAddress: local,
          port: 49152,
          send: (bytes, to) => {
            if (this.down.has(local)) return;
            const l = this.listeners.get(to);
            if (l) setTimeout(() => l(bytes, local), 1);
          },
          close: () => {},
        };
        return s;
      },
    };
  }
}

function peer(name: string, address: string, bfd?: PeerConfig['bfd']): PeerConfig {
  return { name, type: 'global', address, port: 179, asNumber: 64512, passive: false, keepOriginalNextHop: false, restartTime: 120, ...(bfd ? { bfd } : {}) };
}

const TIMERS = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

describe('BfdManager', () => {
  let link: FakeLink;
  let a: BfdManager;
  let b: BfdManager;
  let changesA: BfdChange[];
  let changesB: BfdChange[];

  beforeEach(() => {
    vi.useFakeTimers();
    link = new FakeLink();
    const opts = () => ({ transport: link.transport(), now: () => Date.now(), wallClock: () => Date.now() });
    a = new BfdManager(opts());
    b = new BfdManager(opts());
    changesA = [];
    changesB = [];
    a.on('change', (c) => changesA.push(c));
    b.on('change', (c) => changesB.push(c));
  });
  afterEach(async () => {
    vi.useRealTimers(); // stop() waits a real moment for the AdminDown packets to leave
    await a.stop();
    await b.stop();
  });

  async function up(): Promise<void> {
    a.setPeers([peer('Node_10_0_0_2', '10.0.0.2', TIMERS)], '10.0.0.1');
    b.setPeers([peer('Node_10_0_0_1', '10.0.0.1', TIMERS)], '10.0.0.2');
    await vi.advanceTimersByTimeAsync(3000);
    expect(a.status('Node_10_0_0_2')?.state).toBe('Up');
    expect(b.status('Node_10_0_0_1')?.state).toBe('Up');
  }

  it('opens nothing for peers without bfd', async () => {
    a.setPeers([peer('Mesh_10_0_0_2', '10.0.0.2')], '10.0.0.1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(link.senders).toEqual([]);
    expect(link.listeners.size).toBe(0);
    expect(a.status('Mesh_10_0_0_2')).toBeUndefined();
  });

  it('comes Up both ways at the configured 100 ms, then reports a stop as a forwarding failure within the detection time', async () => {
    await up();
    const s = a.status('Node_10_0_0_2')!;
    expect(s).toMatchObject({ txIntervalMs: 100, rxIntervalMs: 100, detectionTimeMs: 300, multiplier: 3, remoteMultiplier: 3 });
    expect(changesA.filter((c) => c.forwardingFailure)).toEqual([]);
    link.down.add('10.0.0.2'); // b's packets stop
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(400);
    const failure = changesA.find((c) => c.forwardingFailure);
    expect(failure).toMatchObject({ peer: 'Node_10_0_0_2', from: 'Up', to: 'Down', diag: 'control-detection-time-expired' });
    expect(a.status('Node_10_0_0_2')?.lastDown?.reason).toBe('no BFD packet from the peer within the detection time');
    expect(Date.now() - t0).toBeLessThanOrEqual(400);
    // b hears a's Down and goes Down too ("the peer said the session is down").
    expect(changesB.find((c) => c.to === 'Down')).toMatchObject({ diag: 'neighbor-signaled-session-down', forwardingFailure: true });
    link.down.clear();
    await vi.advanceTimersByTimeAsync(3000);
    expect(a.status('Node_10_0_0_2')?.state).toBe('Up');
  });

  it("a peer's removal sends AdminDown: the other side goes Down but not as a forwarding failure (RFC 5882 §3.2)", async () => {
    await up();
    b.setPeers([], '10.0.0.2');
    await vi.advanceTimersByTimeAsync(50);
    expect(changesA.at(-1)).toMatchObject({ to: 'Down', forwardingFailure: false });
  });

  it('applies a timer change through a Poll Sequence without a change of state', async () => {
    await up();
    const before = changesA.length;
    const beforeB = changesB.length;
    a.setPeers([peer('Node_10_0_0_2', '10.0.0.2', { minTxMs: 300, minRxMs: 200, multiplier: 5 })], '10.0.0.1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(changesA.length).toBe(before);
    expect(changesB.length).toBe(beforeB);
    expect(a.status('Node_10_0_0_2')).toMatchObject({ state: 'Up', txIntervalMs: 300, multiplier: 5 });
    expect(b.status('Node_10_0_0_1')).toMatchObject({ state: 'Up', detectionTimeMs: 1500, txIntervalMs: 200 });
  });

  it('discards malformed and stray packets without touching the session', async () => {
    await up();
    const deliver = link.listeners.get('10.0.0.1')!;
    const before = { ...a.status('Node_10_0_0_2')! };
    deliver(new Uint8Array([1, 2, 3]), '10.0.0.2');
    deliver(encodeControl(controlPacket({ state: 'Down', myDiscriminator: 7, version: 0 })), '10.0.0.2');
    deliver(encodeControl(controlPacket({ state: 'Down', myDiscriminator: 7 })), '10.0.0.9'); // nobody's
    deliver(encodeControl(controlPacket({ state: 'Down', myDiscriminator: 7, yourDiscriminator: 12345 })), '10.0.0.2');
    const theirs = a.status('Node_10_0_0_2')!.localDiscriminator;
    deliver(encodeControl(controlPacket({ state: 'Down', myDiscriminator: 7, yourDiscriminator: theirs })), '10.0.0.9'); // right discriminator, wrong source
    await vi.advanceTimersByTimeAsync(500);
    expect(a.discards()).toEqual({ 'too-short': 1, 'bad-version': 1, 'unknown-source': 2, 'unknown-discriminator': 1 });
    expect(a.status('Node_10_0_0_2')).toMatchObject({ state: 'Up', transitions: before.transitions });
  });

  it('names a receive socket that cannot open in the status, and retries it', async () => {
    const t = link.transport();
    let failures = 1;
    const flaky: BfdTransport = {
      openSender: t.openSender,
      listen: async (local, onPacket, onError) => {
        if (failures-- > 0) throw new Error('bind EADDRINUSE 10.0.0.1:3784');
        return t.listen(local, onPacket, onError);
      },
    };
    const m = new BfdManager({ transport: flaky, now: () => Date.now(), wallClock: () => Date.now() });
    m.setPeers([peer('Node_10_0_0_2', '10.0.0.2', TIMERS)], '10.0.0.1');
    b.setPeers([peer('Node_10_0_0_1', '10.0.0.1', TIMERS)], '10.0.0.2');
    await vi.advanceTimersByTimeAsync(100);
    expect(m.status('Node_10_0_0_2')?.error).toBe('cannot receive BFD on 10.0.0.1:3784: bind EADDRINUSE 10.0.0.1:3784');
    await vi.advanceTimersByTimeAsync(8000);
    expect(m.status('Node_10_0_0_2')).toMatchObject({ state: 'Up', error: undefined });
    const stopped = m.stop();
    await vi.advanceTimersByTimeAsync(50);
    await stopped;
  });
});
