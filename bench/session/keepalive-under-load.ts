/**
 * Benchmark (issue 4): a session receiving 1M IPv4 /26 prefixes keeps its
 * KEEPALIVEs flowing.
 *
 * A Speaker listens on 127.0.0.1 with a 1 s keepalive (hold 3 s). A raw
 * feeder on 127.0.0.2 (same process, pre-encoded UPDATEs written with
 * backpressure) opens the session and sends 1M prefixes while recording when
 * each KEEPALIVE from the speaker arrives. Reported, not asserted: the largest
 * gap between KEEPALIVEs, the event loop's worst delay, and whether the session
 * survived. The feeder shares the event loop, so the gap is an upper bound on
 * what the peer would see.
 *
 * Run: npx vite-node bench/session/keepalive-under-load.ts [prefixes]
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_CONTEXT, encodeAttributes, encodeMessage, Framer, packUpdates } from '../../src/bgp/codec/index.js';
import { Speaker } from '../../src/bgp/session/index.js';

const PREFIXES = Number(process.argv[2] ?? 1_000_000);
const TIME_LIMIT_MS = 90_000;

async function main(): Promise<void> {
  const speaker = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0 });
  const port = (await speaker.start())!;
  let received = 0;
  let down: string | null = null;
  speaker.on('event', (e) => {
    if (e.type === 'update') received += e.update.nlri.keys.length;
    if (e.type === 'down') down = e.reason;
  });
  speaker.setPeers([
    {
      name: 'Feeder',
      type: 'global',
      address: '127.0.0.2',
      port: 179,
      asNumber: 64512,
      passive: true,
      keepOriginalNextHop: false,
      restartTime: 120,
      keepaliveTime: 1, // hold 3 s: a stall of 3 s would kill the session
    },
  ]);

  // Pre-encode the feed: 1M distinct /26 from 16.0.0.0/6, one attribute set.
  const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: '127.0.0.2', localPref: 100 }, DEFAULT_CONTEXT);
  const keys: number[] = new Array(PREFIXES);
  const base = 16 * 2 ** 24;
  for (let i = 0; i < PREFIXES; i++) keys[i] = (base + i * 64) * 64 + 26;
  const updates = packUpdates(attrs, keys, null, DEFAULT_CONTEXT);

  const keepaliveTimes: number[] = [];
  const framer = new Framer();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const sock = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  const keepalive = encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);
  let feedStart = 0;
  let established = false;

  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(
    encodeMessage(
      {
        type: 'OPEN',
        version: 4,
        myAs: 64512,
        holdTime: 3,
        bgpId: '127.0.0.2',
        capabilities: [
          { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
          { code: 65, name: 'as4', asn: 64512 },
        ],
      },
      DEFAULT_CONTEXT,
    ),
  );
  const feederKeepalives = setInterval(() => sock.write(keepalive), 1000);

  const feed = (): void => {
    let i = 0;
    const pump = (): void => {
      while (i < updates.length) {
        if (!sock.write(updates[i++])) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };

  sock.on('data', (chunk: Buffer) => {
    for (const m of framer.push(chunk)) {
      const type = m[18];
      if (type === 4) {
        keepaliveTimes.push(performance.now());
        if (!established) {
          established = true;
          sock.write(keepalive);
          loop.enable();
          feedStart = performance.now();
          feed();
        }
      }
    }
  });

  const deadline = Date.now() + TIME_LIMIT_MS;
  while (received < PREFIXES && !down && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const feedMs = performance.now() - feedStart;
  // Keep watching keepalives for 2 more seconds after the feed.
  await new Promise((r) => setTimeout(r, 2000));
  loop.disable();
  clearInterval(feederKeepalives);

  const during = keepaliveTimes.filter((t) => t >= feedStart);
  let maxGap = 0;
  for (let i = 1; i < during.length; i++) maxGap = Math.max(maxGap, during[i] - during[i - 1]);
  const result = {
    bench: 'session/keepalive-under-load',
    prefixes: PREFIXES,
    received,
    updates: updates.length,
    feedSeconds: +(feedMs / 1000).toFixed(3),
    prefixesPerSecond: Math.round(received / (feedMs / 1000)),
    keepaliveIntervalMs: 1000,
    keepalivesDuringFeed: during.length,
    maxKeepaliveGapMs: Math.round(maxGap),
    eventLoopDelayMaxMs: Math.round(loop.max / 1e6),
    eventLoopDelayP99Ms: Math.round(loop.percentile(99) / 1e6),
    sessionSurvived: down === null,
    down,
  };
  console.log(JSON.stringify(result, null, 2));
  sock.destroy();
  await speaker.stop({ graceful: false });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
