/**
 * N simulated Calico nodes in one process (mesh and route-reflector
 * scenarios). Node i sits on 10.77.x.y (workload.ts), announces its /26 block
 * once its session is Established, answers KEEPALIVEs, and records what the
 * speaker under test announces and withdraws.
 *
 * Who dials: a node whose address is greater than the SUT's, compared as
 * strings (confd's rule: the greater IP connects), dials; the others listen on
 * :179 and wait for the SUT (`--listen`). With `--dial-all` every node dials
 * (a connect storm; with `--listen` too: route-reflector clients, which dial
 * and listen as calico-node does, keeping whichever connection comes up first). A session that fails before Established is retried
 * after --retry ms (Calico's connect retry, 5 s); one that fails after is a
 * flap, counted, and retried the same way.
 *
 * Options (one JSON argument): {target, n, listen, dialAll, retryMs, expectEach,
 * sample: [indices]}. Events (JSON lines, CLOCK_MONOTONIC ms):
 *   ready                              listeners up, waiting for "go" on stdin
 *   issued {t}                         every dial issued
 *   first-connect {t}                  first TCP connection either way
 *   all-established {t, p50, max}
 *   full {t, p50, max}                 every session holds expectEach node blocks
 *   seen {key, kind: a|w, first, last} every sampled session (but the key's own node) saw it
 *   stats {...}                        on "stats"
 * stdin lines: "go", "stats", {"cmd":"announce"|"withdraw","node":i,"key":k} (prints sent {key, kind, t}).
 */
import net from 'node:net';
import { AS_NUMBER, feederAddress, nodeBlock } from './workload.js';
import { Frames, KEEPALIVE, announce, cpuSeconds, mono, open, walkUpdate, withdraw } from './wire.js';

interface Options {
  target: string;
  n: number;
  listen: boolean;
  dialAll: boolean;
  retryMs: number;
  expectEach: number;
  sample: number[];
}
const o = JSON.parse(process.argv[2]) as Options;
const cpu0 = process.cpuUsage();
const say = (x: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(x) + '\n');

const addrIndex = new Map<string, number>();
for (let i = 0; i < o.n; i++) addrIndex.set(feederAddress(i), i);
const blockIndex = new Map<number, number>();
for (let i = 0; i < o.n; i++) blockIndex.set(nodeBlock(i), i);
const sampled = new Set(o.sample);

interface Node {
  sock: net.Socket | null;
  /** Our own connect attempt while it is not yet connected. */
  dialing: net.Socket | null;
  up: boolean;
  establishedAt: number;
  held: Uint8Array; // node blocks this session holds
  heldCount: number;
  full: boolean;
}
const nodes: Node[] = Array.from({ length: o.n }, () => ({ sock: null, dialing: null, up: false, establishedAt: 0, held: new Uint8Array(o.n), heldCount: 0, full: false }));
let established = 0;
let everAll = false;
let fullCount = 0;
let flaps = 0;
let failures = 0;
let firstConnect = false;
const dials = (i: number): boolean => o.dialAll || feederAddress(i) > o.target;

/** Change keys (not node blocks) seen by sampled sessions: key|kind -> times. */
const seen = new Map<string, { first: number; count: number; origin: number }>();
const origins = new Map<number, number>();

function onUpdate(i: number, m: Buffer): void {
  const nd = nodes[i];
  const now = mono();
  const track = (k: number, kind: 'a' | 'w'): void => {
    const b = blockIndex.get(k);
    if (b !== undefined) {
      if (kind === 'a' && !nd.held[b]) {
        nd.held[b] = 1;
        nd.heldCount++;
      } else if (kind === 'w' && nd.held[b]) {
        nd.held[b] = 0;
        nd.heldCount--;
      }
      return;
    }
    if (!sampled.has(i)) return;
    const id = `${k}|${kind}`;
    const origin = origins.get(k) ?? -1;
    let e = seen.get(id);
    if (!e) seen.set(id, (e = { first: now, count: 0, origin }));
    e.count++;
    const expected = o.sample.filter((s) => s !== origin).length;
    if (e.count === expected) say({ event: 'seen', key: k, kind, first: e.first, last: now });
  };
  walkUpdate(m, (k) => track(k, 'w'), (k) => track(k, 'a'));
  if (!nd.full && o.expectEach > 0 && nd.heldCount >= o.expectEach) {
    nd.full = true;
    if (++fullCount === o.n) {
      const ts = nodes.map((x) => x.establishedAt);
      void ts;
      say({ event: 'full', t: now });
    }
  }
}

function run(i: number, sock: net.Socket, connectedAt: number): void {
  const nd = nodes[i];
  nd.sock = sock;
  const frames = new Frames();
  let gotOpen = false;
  let up = false;
  if (!firstConnect) {
    firstConnect = true;
    say({ event: 'first-connect', t: connectedAt });
  }
  sock.setNoDelay(true);
  sock.write(open(AS_NUMBER, feederAddress(i)));
  sock.on('data', (d: Buffer) => {
    try {
      frames.push(d, (m) => {
        const type = m[18];
        if (type === 2 && up) onUpdate(i, m);
        else if (type === 1) {
          gotOpen = true;
          sock.write(KEEPALIVE);
        } else if (type === 4) {
          if (!gotOpen) return;
          if (up) return;
          up = true;
          nd.up = true;
          nd.establishedAt = mono();
          established++;
          for (const u of announce(feederAddress(i), [nodeBlock(i)])) sock.write(u);
          if (established === o.n && !everAll) {
            everAll = true;
            const ts = nodes.map((x) => x.establishedAt).sort((a, b) => a - b);
            say({ event: 'all-established', t: nd.establishedAt, p50: ts[Math.floor(ts.length / 2)], max: ts[ts.length - 1] });
          }
        } else if (type === 3) {
          say({ event: 'notification', node: i, code: m[19], subcode: m[20] });
        }
      });
    } catch {
      sock.destroy();
    }
  });
  const ka = setInterval(() => up && sock.write(KEEPALIVE), 30_000);
  sock.on('error', () => {});
  sock.on('close', () => {
    clearInterval(ka);
    if (nd.sock === sock) nd.sock = null;
    if (up) {
      flaps++;
      established--;
      nd.up = false;
      nd.held.fill(0);
      nd.heldCount = 0;
      if (nd.full) {
        nd.full = false;
        fullCount--;
      }
      say({ event: 'flap', node: i, t: mono() });
    } else failures++;
    if (dials(i)) setTimeout(() => dial(i), jittered(o.retryMs));
  });
}

/**
 * BIRD's timers are jittered as RFC 4271 §10 suggests (value minus up to a
 * quarter, `bgp_start_timer`), so 1000 nodes do not retry in lock-step.
 */
const jittered = (ms: number): number => ms - Math.floor(Math.random() * (ms / 4 + 1));

/**
 * One connect attempt, as a BIRD peer in Connect state makes it (RFC 4271
 * §8.2.2): when the ConnectRetryTimer expires before the TCP connection is up,
 * the attempt is dropped and a new one made. Without this a SYN the speaker's
 * listen queue dropped would wait for the kernel's SYN back-off (1, 3, 7, 15,
 * 31, 63 s) instead of the peer's 5 s retry.
 */
function dial(i: number): void {
  const nd = nodes[i];
  if (nd.sock !== null || nd.dialing !== null) return; // a session (or an attempt) is already there
  const sock = net.connect({ host: o.target, port: 179, localAddress: feederAddress(i) });
  nd.dialing = sock;
  const giveUp = setTimeout(() => {
    if (!sock.connecting || nd.dialing !== sock) return;
    failures++;
    nd.dialing = null;
    sock.destroy();
    dial(i);
  }, jittered(o.retryMs));
  sock.once('close', () => clearTimeout(giveUp));
  sock.once('connect', () => {
    clearTimeout(giveUp);
    if (nd.dialing === sock) nd.dialing = null;
    // The speaker's own connection came first and runs the session: this one is the collision's loser.
    if (nd.sock !== null) return void sock.destroy();
    run(i, sock, mono());
  });
  sock.once('error', () => {
    clearTimeout(giveUp);
    if (nd.dialing === sock) nd.dialing = null;
    if (!sock.connecting && nd.sock === sock) return;
    failures++;
    setTimeout(() => dial(i), jittered(o.retryMs));
  });
}

function start(): void {
  for (let i = 0; i < o.n; i++) if (dials(i)) dial(i);
  say({ event: 'issued', t: mono() });
}

if (o.listen) {
  const server = net.createServer((sock) => {
    const i = addrIndex.get(sock.localAddress?.replace(/^::ffff:/, '') ?? '');
    if (i === undefined || nodes[i].sock) return void sock.destroy(); // unknown address, or a second connection (collision: keep ours)
    // The speaker reached us while our own SYN was still unanswered (its listen
    // queue full): the session runs on its connection, our attempt is dropped.
    const pending = nodes[i].dialing;
    if (pending !== null) {
      nodes[i].dialing = null;
      pending.destroy();
    }
    run(i, sock, mono());
  });
  server.listen({ port: 179, host: '0.0.0.0', backlog: 4096 }, () => say({ event: 'ready' }));
} else say({ event: 'ready' });

let buf = '';
process.stdin.on('data', (d: Buffer) => {
  buf += d.toString();
  const lines = buf.split('\n');
  buf = lines.pop() ?? '';
  for (const line of lines) {
    if (line === 'go') start();
    else if (line === 'stats') {
      say({ event: 'stats', cpuSeconds: cpuSeconds(cpu0), established, flaps, failures, full: fullCount });
    } else if (line.startsWith('{')) {
      const c = JSON.parse(line) as { cmd: string; node: number; key: number };
      const s = nodes[c.node].sock;
      origins.set(c.key, c.node);
      const t = mono();
      if (s) {
        if (c.cmd === 'announce') for (const u of announce(feederAddress(c.node), [c.key])) s.write(u);
        else s.write(withdraw([c.key]));
      }
      say({ event: 'sent', key: c.key, kind: c.cmd === 'announce' ? 'a' : 'w', t, ok: !!s });
    }
  }
});
