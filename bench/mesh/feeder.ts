/**
 * The mesh's other nodes, all in one process: opens N iBGP sessions to the
 * speaker under test at once, each bound to its own source address (as N
 * Calico nodes would connect to a passive peer), and on each session:
 * OPEN on connect, KEEPALIVE on the peer's OPEN, and once the peer's
 * KEEPALIVE confirms the session (RFC 4271 §8.2.2, OpenConfirm ->
 * Established) one UPDATE announcing the node's /26 block. KEEPALIVEs are
 * answered so the sessions stay up for as long as the run lasts.
 *
 * A connection that fails before Established is retried after `retryMs`
 * (Calico gives BIRD `connect retry time 5`), as a real mesh node would.
 *
 * Prints JSON lines on stdout:
 *   {"event":"issued","t":<epoch ms>}           all N net.connect calls made (time zero)
 *   {"event":"progress","t",connected,established,failures,notifications,cpuSeconds,elDelayMaxMs}
 *   {"event":"all-established","t",...}         every session saw the peer's KEEPALIVE after OPEN
 * Runs until killed.
 * Usage: node feeder.js <target> <port> <nodes> [retryMs=5000]
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_CONTEXT, Framer, decodeMessage, encodeMessage, negotiate, type DecodeContext, type OpenMessage } from '../../src/bgp/codec/index.js';
import { MESH_AS, nodeAddress, nodeBlockKey } from './workload.js';

const [target, portText, nodesText, retryText] = process.argv.slice(2);
const port = Number(portText);
const nodes = Number(nodesText);
const retryMs = Number(retryText ?? 5000);
if (!target || !Number.isInteger(nodes) || nodes < 1) {
  console.error('usage: feeder.js <target> <port> <nodes> [retryMs]');
  process.exit(2);
}

const KEEPALIVE = encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);
const HOLD_TIME = 240; // BIRD's default, as Calico leaves it

interface SessionState {
  attempts: number;
  /** ms after time zero when the TCP handshake completed (last attempt). */
  connectedAt: number | null;
  establishedAt: number | null;
  errors: string[];
  /** ms after time zero of this session's first failure, and whether TCP had connected by then. */
  firstFailure: { ms: number; code: string; connectedAtMs: number | null } | null;
}

const sessions: SessionState[] = Array.from({ length: nodes }, () => ({ attempts: 0, connectedAt: null, establishedAt: null, errors: [], firstFailure: null }));
let connected = 0;
let established = 0;
let failures = 0;
let notifications = 0;
let t0 = 0;
const cpu0 = process.cpuUsage();
const elDelay = monitorEventLoopDelay({ resolution: 10 });
elDelay.enable();

function openFor(i: number): OpenMessage {
  return {
    type: 'OPEN',
    version: 4,
    myAs: MESH_AS,
    holdTime: HOLD_TIME,
    bgpId: nodeAddress(i),
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 2, name: 'route-refresh' },
      { code: 65, name: 'as4', asn: MESH_AS },
    ],
  };
}

function cpuSeconds(): number {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
}

function session(i: number): void {
  const st = sessions[i];
  st.attempts++;
  const address = nodeAddress(i);
  const localOpen = openFor(i);
  const framer = new Framer();
  let receiveContext: DecodeContext = DEFAULT_CONTEXT;
  let sendContext: DecodeContext = DEFAULT_CONTEXT;
  let gotOpen = false;
  let up = false;
  let isConnected = false;
  let lastError = '';
  const sock = net.connect({ host: target, port, localAddress: address });
  sock.setNoDelay(true);
  sock.on('connect', () => {
    isConnected = true;
    connected++;
    st.connectedAt = Date.now() - t0;
    sock.write(encodeMessage(localOpen, DEFAULT_CONTEXT));
  });
  sock.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = framer.push(chunk);
    } catch (err) {
      lastError = `framing: ${(err as Error).message}`;
      sock.destroy();
      return;
    }
    for (const frame of frames) {
      const msg = decodeMessage(frame, receiveContext);
      switch (msg.type) {
        case 'OPEN': {
          const n = negotiate(localOpen, msg);
          receiveContext = n.receiveContext;
          sendContext = n.sendContext;
          gotOpen = true;
          sock.write(KEEPALIVE);
          break;
        }
        case 'KEEPALIVE':
          if (!gotOpen) break;
          if (up) {
            sock.write(KEEPALIVE); // answer, so the session outlives any hold time
            break;
          }
          up = true;
          established++;
          st.establishedAt = Date.now() - t0;
          // This node's block, as a Calico node exports it to its mesh peers.
          sock.write(
            encodeMessage(
              {
                type: 'UPDATE',
                withdrawn: { keys: [], pathIds: null },
                attributes: { origin: 0, asPath: [], nextHop: address, localPref: 100 },
                nlri: { keys: [nodeBlockKey(i)], pathIds: null },
              },
              sendContext,
            ),
          );
          if (established === nodes) report('all-established');
          break;
        case 'NOTIFICATION':
          notifications++;
          lastError = `NOTIFICATION ${msg.code}/${msg.subcode}`;
          break;
        default:
          break; // the speaker's UPDATEs (End-of-RIB, nothing else with export none) are not ours to check
      }
    }
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    lastError = err.code ?? err.message;
  });
  sock.on('close', () => {
    if (isConnected) connected--;
    if (up) established--;
    failures++;
    const code = lastError || (isConnected ? 'closed by peer' : 'connect failed');
    if (st.errors.length < 5) st.errors.push(code);
    st.firstFailure ??= { ms: Date.now() - t0, code, connectedAtMs: isConnected ? st.connectedAt : null };
    setTimeout(() => session(i), retryMs);
  });
}

function report(event: string): void {
  const h = elDelay;
  console.log(
    JSON.stringify({
      event,
      t: Date.now(),
      connected,
      established,
      failures,
      notifications,
      cpuSeconds: cpuSeconds(),
      elDelayMaxMs: Math.round(h.max / 1e6),
    }),
  );
  if (event === 'all-established') {
    const times = sessions.map((s) => s.establishedAt ?? Infinity).sort((a, b) => a - b);
    const q = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    const retried = sessions.filter((s) => s.attempts > 1).length;
    const errorCounts: Record<string, number> = {};
    for (const s of sessions) for (const e of s.errors) errorCounts[e] = (errorCounts[e] ?? 0) + 1;
    console.log(
      JSON.stringify({
        event: 'sessions',
        establishedMs: { p10: q(0.1), p50: q(0.5), p90: q(0.9), max: q(1) },
        retriedSessions: retried,
        maxAttempts: Math.max(...sessions.map((s) => s.attempts)),
        errors: errorCounts,
        // When sessions first failed, and when (if ever) their TCP handshake had completed before that.
        failures: summariseFailures(),
      }),
    );
  }
}

function summariseFailures(): Record<string, { sessions: number; firstMs: number; lastMs: number; connectedBeforeFailure: number; connectedAtMedianMs: number | null }> {
  const out: Record<string, { sessions: number; firstMs: number; lastMs: number; connectedBeforeFailure: number; connectedAtMedianMs: number | null }> = {};
  const connectedAt: Record<string, number[]> = {};
  for (const s of sessions) {
    const f = s.firstFailure;
    if (!f) continue;
    const e = (out[f.code] ??= { sessions: 0, firstMs: Infinity, lastMs: 0, connectedBeforeFailure: 0, connectedAtMedianMs: null });
    e.sessions++;
    e.firstMs = Math.min(e.firstMs, f.ms);
    e.lastMs = Math.max(e.lastMs, f.ms);
    if (f.connectedAtMs !== null) {
      e.connectedBeforeFailure++;
      (connectedAt[f.code] ??= []).push(f.connectedAtMs);
    }
  }
  for (const [code, xs] of Object.entries(connectedAt)) {
    xs.sort((a, b) => a - b);
    out[code].connectedAtMedianMs = xs[Math.floor(xs.length / 2)];
  }
  return out;
}

t0 = Date.now();
for (let i = 0; i < nodes; i++) session(i);
t0 = Date.now(); // every connect issued: time zero (the syscalls run on the next tick)
console.log(JSON.stringify({ event: 'issued', t: t0, nodes }));
setInterval(() => report('progress'), 500);
