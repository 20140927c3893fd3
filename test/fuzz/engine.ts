/**
 * The fuzzer behind `npm run fuzz` and the CI fuzz test: seeded, so a failure
 * is reproduced by its seed and case number. Three targets:
 *
 * - decoder: random bytes, mutated fixtures, generated UPDATEs (IPv4 and IPv6
 *   MP_REACH / MP_UNREACH, ADD-PATH, 2- and 4-octet AS) and messages over 4096
 *   octets with extended messages (RFC 8654), each mutated or not. Only
 *   BgpError may escape. Every message that decodes (other than RFC 7606
 *   treat-as-withdraw, whose attributes are not a message to re-send) must
 *   re-encode to bytes that decode to the same message, and re-encode to the
 *   same bytes again (decode -> encode -> decode, then encode is stable).
 * - framer: streams of well-framed messages, split at random offsets, must
 *   come out as exactly those messages (same bytes, same order, nothing left
 *   buffered); a stream with one damaged header must yield exactly the
 *   messages before it and then the header error the damage calls for.
 * - session: a Peer over a fake socket in Established is fed fuzzed bytes; a
 *   frame the codec refuses must be answered with a NOTIFICATION carrying the
 *   codec's own code/subcode and the session must go down; anything else must
 *   not be answered with a NOTIFICATION (except an OPEN, which is an FSM error).
 *
 * "No hang": every case is timed; one taking over `slowCaseMs` fails the run.
 */
import { isDeepStrictEqual } from 'node:util';
import { FakeClock } from '../../src/clock.js';
import {
  BgpError,
  decodeMessage,
  encodeMessage,
  Framer,
  negotiate,
  type BgpMessage,
  type DecodeContext,
  type OpenMessage,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/bgp/codec/index.js';
import { formatIpv6 } from '../../src/bgp/codec/ipv6.js';
import { Peer } from '../../src/bgp/session/peer.js';
import type { PeerConfig } from '../../src/datastore/desired.js';
import { loadFixtures } from '../unit/codec/fixtures.js';
import { FakeSocket, remoteOpen } from '../unit/session/fake-socket.js';

/** xorshift32: reproducible across runs and machines. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}
type Rand = (n: number) => number;

const seeds = [...loadFixtures('wellFormed'), ...loadFixtures('malformed')].map((f) => f.bytes);

const CONTEXTS: DecodeContext[] = [
  { as4: true, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false, keepAs4: true },
  { as4: true, addPath: new Set([257, 513]), extendedMessage: true },
  { as4: true, addPath: new Set([257]), extendedMessage: false, keepAs4: true },
  { as4: true, addPath: new Set([513]), extendedMessage: true },
];

export class FuzzFailure extends Error {}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

// ------------------------------------------------------------------ inputs

function randomMessage(r: Rand): Buffer {
  const length = 19 + r(r(8) === 0 ? 400 : 60);
  const b = Buffer.alloc(length);
  for (let i = 19; i < length; i++) b[i] = r(4) === 0 ? r(4) : r(256);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = 1 + r(5);
  if (b[18] === 2 && length >= 23 && r(2) === 0) {
    const wl = r(Math.min(8, length - 23) + 1);
    b.writeUInt16BE(wl, 19);
    b.writeUInt16BE(r(length - 23 - wl + 1), 21 + wl);
  }
  return b;
}

function mutate(src: Buffer, r: Rand): Buffer {
  let b = Buffer.from(src);
  const edits = 1 + r(4);
  for (let e = 0; e < edits; e++) {
    switch (r(6)) {
      case 0:
        if (b.length > 16) b[16 + r(b.length - 16)] ^= 1 << r(8);
        break;
      case 1:
        if (b.length > 19) b[19 + r(b.length - 19)] = r(256);
        break;
      case 2:
        b = b.subarray(0, 19 + r(Math.max(1, b.length - 18)));
        if (r(2) === 0 && b.length >= 18) b.writeUInt16BE(b.length, 16);
        break;
      case 3: {
        const at = 19 + r(Math.max(1, b.length - 18));
        const ins = Buffer.alloc(1 + r(6)).map(() => r(256));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        if (b.length <= 65535) b.writeUInt16BE(b.length, 16);
        break;
      }
      case 4:
        if (b.length > 19) b[19 + r(b.length - 19)] = [0, 1, 0x7f, 0x80, 0xff, 32, 33, 128, 129][r(9)];
        break;
      default:
        if (r(8) === 0) b[r(16)] = r(256);
    }
  }
  return b;
}

const u32 = (r: Rand) => (r(0x10000) * 0x10000 + r(0x10000)) >>> 0;

function ipv4Prefixes(r: Rand, n: number, addPath: boolean): { keys: number[]; pathIds: number[] | null } {
  const keys: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = r(4) === 0 ? r(33) : 16 + r(17);
    const addr = len === 0 ? 0 : (u32(r) & (0xffffffff << (32 - len))) >>> 0;
    keys.push(addr * 64 + len);
  }
  return { keys, pathIds: addPath ? keys.map(() => 1 + r(1000)) : null };
}

function ipv6Prefixes(r: Rand, n: number, addPath: boolean): { prefixes: string[]; pathIds: number[] | null } {
  const prefixes: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = r(4) === 0 ? r(129) : 32 + r(97);
    const bytes = new Uint8Array(16);
    bytes[0] = 0x20;
    bytes[1] = 0x01;
    for (let j = 2; j < 16; j++) bytes[j] = r(256);
    for (let bit = len; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
    prefixes.push(`${formatIpv6(bytes)}/${len}`);
  }
  return { prefixes, pathIds: addPath ? prefixes.map(() => 1 + r(1000)) : null };
}

function ipv4(r: Rand): string {
  return `${1 + r(223)}.${r(256)}.${r(256)}.${1 + r(254)}`;
}

/** A well-formed UPDATE for `ctx`; `big` makes it exceed 4096 octets (needs extended messages). */
function generateUpdate(r: Rand, ctx: DecodeContext, big: boolean): UpdateMessage {
  const ap4 = ctx.addPath.has(257);
  const ap6 = ctx.addPath.has(513);
  const maxAsn = ctx.as4 ? 0xffffffff : 0xffff;
  const attributes: PathAttributes = {};
  const withdrawn = ipv4Prefixes(r, r(3) === 0 ? r(5) : 0, ap4);
  const nlri = ipv4Prefixes(r, big ? 1100 + r(400) : r(3) === 0 ? 0 : 1 + r(8), ap4);
  const v6 = r(2) === 0;
  const reach = v6 && r(3) !== 0;
  const unreach = v6 && !reach ? true : v6 && r(3) === 0;
  if (nlri.keys.length || reach) {
    attributes.origin = r(3) as 0 | 1 | 2;
    attributes.asPath = r(4) === 0 ? [] : [{ type: 2, asns: Array.from({ length: 1 + r(5) }, () => (r(2) ? r(maxAsn) : 64512 + r(1000)) % (maxAsn + 1)) }];
    if (r(3) === 0) attributes.asPath.push({ type: 1, asns: Array.from({ length: 1 + r(3) }, () => r(65535)) });
    if (nlri.keys.length) attributes.nextHop = ipv4(r);
    if (r(2)) attributes.localPref = u32(r);
    if (r(2)) attributes.med = u32(r);
    if (r(3) === 0) attributes.communities = Array.from({ length: 1 + r(4) }, () => u32(r));
    if (r(4) === 0) attributes.largeCommunities = [[u32(r), u32(r), u32(r)]];
    if (r(5) === 0) attributes.originatorId = ipv4(r);
    if (r(5) === 0) attributes.clusterList = [ipv4(r), ipv4(r)];
  }
  if (reach) {
    const global = ipv6Prefixes(r, 1, false).prefixes[0].split('/')[0];
    const nextHops = r(2) ? [global] : [global, 'fe80::1'];
    attributes.mpReach = { afi: 2, safi: 1, nextHops, nlri: ipv6Prefixes(r, big ? 400 : 1 + r(6), ap6) };
  }
  if (unreach) attributes.mpUnreach = { afi: 2, safi: 1, withdrawn: ipv6Prefixes(r, r(6), ap6) };
  return { type: 'UPDATE', withdrawn, attributes, nlri };
}

interface DecoderInput {
  bytes: Buffer;
  ctx: DecodeContext;
  source: 'random' | 'fixture' | 'update' | 'extended';
}

function decoderInput(r: Rand): DecoderInput {
  const pick = r(8);
  if (pick === 0) return { bytes: randomMessage(r), ctx: CONTEXTS[r(CONTEXTS.length)], source: 'random' };
  if (pick <= 3) return { bytes: mutate(seeds[r(seeds.length)], r), ctx: CONTEXTS[r(CONTEXTS.length)], source: 'fixture' };
  const big = pick === 7;
  const ctx = big ? (r(2) ? CONTEXTS[3] : CONTEXTS[5]) : CONTEXTS[r(CONTEXTS.length)];
  let bytes = encodeMessage(generateUpdate(r, ctx, big), ctx) as Buffer;
  bytes = Buffer.from(bytes);
  if (big && bytes.length <= 4096) throw new FuzzFailure(`generator: an extended UPDATE of only ${bytes.length} octets`);
  if (r(3) !== 0) bytes = mutate(bytes, r);
  return { bytes, ctx, source: big ? 'extended' : 'update' };
}

// ------------------------------------------------------------------ checks

/** The message without what only describes how it arrived (raw attribute bytes, RFC 7606 notes). */
function comparable(m: BgpMessage): unknown {
  if (m.type !== 'UPDATE') return m;
  const { attrBytes: _a, discarded: _d, treatAsWithdraw: _t, ...rest } = m;
  // RFC 4271 §5: an unrecognised optional transitive attribute is passed on
  // with the Partial bit set, so one decode -> encode sets it; not a change.
  // The encoder writes attributes in ascending code order (§5), the decoder
  // keeps the order received: order is not part of the message either.
  const unknown = rest.attributes.unknown
    // Extended Length (0x10) is how long the length field was, not what the attribute says.
    ?.map((u) => ({ ...u, flags: (u.flags & 0x40 ? u.flags | 0x20 : u.flags) & ~0x10 }))
    .sort((x, y) => x.code - y.code);
  return unknown ? { ...rest, attributes: { ...rest.attributes, unknown } } : rest;
}

export interface DecoderStats {
  cases: number;
  decoded: number;
  roundTrips: number;
  treatAsWithdraw: number;
  errors: number;
  extended: number;
  /** Extended (> 4096 octets) messages that decoded and round-tripped. */
  extendedRoundTrips: number;
  ipv6: number;
}

export function decoderCase(input: DecoderInput, stats: DecoderStats): void {
  stats.cases++;
  if (input.source === 'extended') stats.extended++;
  let msg: BgpMessage;
  try {
    msg = decodeMessage(input.bytes, input.ctx);
  } catch (e) {
    if (!(e instanceof BgpError)) throw new FuzzFailure(`decode threw ${String(e)} (not a BgpError) for ${hex(input.bytes)}`);
    if (!(e.code >= 1 && e.code <= 7)) throw new FuzzFailure(`BgpError with code ${e.code}: ${e.message}`);
    stats.errors++;
    return;
  }
  stats.decoded++;
  if (msg.type === 'UPDATE' && msg.treatAsWithdraw) {
    stats.treatAsWithdraw++;
    return;
  }
  if (msg.type === 'UPDATE' && (msg.attributes.mpReach?.afi === 2 || msg.attributes.mpUnreach?.afi === 2)) stats.ipv6++;
  const where = () => `input ${hex(input.bytes)} ctx ${JSON.stringify({ ...input.ctx, addPath: [...input.ctx.addPath] })}`;
  let again: Uint8Array;
  try {
    again = encodeMessage(msg, input.ctx);
  } catch (e) {
    throw new FuzzFailure(`a decoded ${msg.type} does not re-encode (${String(e)}): ${where()}`);
  }
  let back: BgpMessage;
  try {
    back = decodeMessage(again, input.ctx);
  } catch (e) {
    throw new FuzzFailure(`re-encoded ${msg.type} does not decode (${String(e)}): re-encoded ${hex(again)} from ${where()}`);
  }
  if (!isDeepStrictEqual(comparable(back), comparable(msg))) {
    throw new FuzzFailure(`decode -> encode -> decode changed the ${msg.type}: ${where()}\nre-encoded ${hex(again)}`);
  }
  if (!Buffer.from(encodeMessage(back, input.ctx)).equals(Buffer.from(again))) {
    throw new FuzzFailure(`encoding is not stable for ${where()}`);
  }
  stats.roundTrips++;
  if (input.source === 'extended') stats.extendedRoundTrips++;
}

/** A well-framed message of any type and length the header check accepts (contents not decodable, which the framer must not care about). */
function framedMessage(r: Rand, max: number): Buffer {
  if (r(3) === 0) return Buffer.from(seeds[r(seeds.length)]); // malformed headers among them are filtered out by the caller
  const type = 1 + r(5);
  const min = [0, 29, 23, 19, 21, 23][type];
  const cap = type === 1 || type === 3 ? (type === 3 ? 19 : 4096) : max;
  const length = type === 3 ? 19 : min + r(r(10) === 0 ? cap - min + 1 : Math.min(200, cap - min + 1));
  const b = Buffer.alloc(length);
  for (let i = 19; i < length; i++) b[i] = r(256);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
}

function headerOk(b: Buffer, max: number): boolean {
  try {
    new Framer(max).push(b.subarray(0, 19));
    return true;
  } catch {
    return false;
  }
}

export interface FramerStats {
  streams: number;
  messages: number;
  damaged: number;
}

export function framerCase(r: Rand, stats: FramerStats): void {
  stats.streams++;
  const max = r(2) ? 4096 : 65535;
  const messages: Buffer[] = [];
  for (let i = 0, n = 1 + r(6); i < n; i++) {
    const m = framedMessage(r, max);
    if (m.length >= 19 && m.length === m.readUInt16BE(16) && headerOk(m, max)) messages.push(m);
  }
  // One header damaged in a way that calls for a definite error (RFC 4271 §6.1).
  let damagedAt = -1;
  let want: [number, number] | undefined;
  if (messages.length && r(3) === 0) {
    damagedAt = r(messages.length);
    const m = Buffer.from(messages[damagedAt]);
    switch (r(3)) {
      case 0:
        m[r(16)] ^= 1 + r(255); // marker: 1/1
        want = [1, 1];
        break;
      case 1:
        // Length out of range: 1/2. Under 19, or over 4096 when that is the limit.
        m.writeUInt16BE(max < 65535 && r(2) ? max + 1 + r(65535 - max) : r(19), 16);
        want = [1, 2];
        break;
      default:
        m[18] = r(2) ? 0 : 6 + r(250); // type: 1/3
        want = [1, 3];
    }
    messages[damagedAt] = m;
    stats.damaged++;
  }
  const stream = Buffer.concat(messages);
  const framer = new Framer(max);
  const out: Buffer[] = [];
  let thrown: unknown;
  try {
    for (let p = 0; p < stream.length; ) {
      const n = r(4) === 0 ? 1 : r(4) === 0 ? stream.length : 1 + r(300);
      for (const m of framer.push(stream.subarray(p, p + n))) out.push(Buffer.from(m));
      p += n;
    }
  } catch (e) {
    thrown = e;
  }
  const expected = damagedAt < 0 ? messages : messages.slice(0, damagedAt);
  const sizes = () => `sizes ${messages.map((m) => m.length).join(',')}, damaged #${damagedAt}`;
  // A push that holds whole messages and then the bad header throws without
  // returning those messages (the session is reset on the error anyway), so
  // with damage the messages yielded are a prefix of those before it.
  if (want ? out.length > expected.length : out.length !== expected.length) {
    throw new FuzzFailure(`framer yielded ${out.length} messages, expected ${want ? 'at most ' : ''}${expected.length} (${sizes()})`);
  }
  for (let i = 0; i < out.length; i++) {
    if (!out[i].equals(expected[i])) throw new FuzzFailure(`framer message #${i} differs from what was sent (${sizes()})`);
  }
  stats.messages += out.length;
  if (want) {
    if (!(thrown instanceof BgpError) || thrown.code !== want[0] || thrown.subcode !== want[1]) {
      throw new FuzzFailure(`damaged header #${damagedAt}: expected BgpError ${want.join('/')}, got ${String(thrown)} (${sizes()})`);
    }
  } else {
    if (thrown !== undefined) throw new FuzzFailure(`framer threw on a well-framed stream: ${String(thrown)} (${sizes()})`);
    if (framer.buffered !== 0) throw new FuzzFailure(`framer kept ${framer.buffered} octets after whole messages (${sizes()})`);
  }
}

// ------------------------------------------------------------------ session

const PEER_CONFIG: PeerConfig = {
  name: 'Mesh_10_0_0_2', type: 'node-to-node mesh', address: '10.0.0.2', port: 179, asNumber: 64512,
  passive: false, keepOriginalNextHop: false, restartTime: 120,
};

/** The peer's OPEN: AS4, IPv4 and IPv6 unicast, ADD-PATH both ways for IPv4, extended messages. */
const REMOTE_OPEN: OpenMessage = (() => {
  const o = remoteOpen();
  o.capabilities.push(
    { code: 1, name: 'multiprotocol', afi: 2, safi: 1 },
    { code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
    { code: 6, name: 'extended-message' },
  );
  return o;
})();

interface LiveSession {
  peer: Peer;
  sock: FakeSocket;
  ctx: DecodeContext;
  max: number;
  clock: FakeClock;
}

function establish(): LiveSession {
  const clock = new FakeClock();
  const outgoing: FakeSocket[] = [];
  const peer = new Peer(
    PEER_CONFIG,
    { asNumber: 64512, routerId: '10.0.0.1', restarting: false, forwardingPreserved: false, grNotification: false },
    {
      clock,
      emit: () => {},
      connect: () => {
        const s = new FakeSocket();
        outgoing.push(s);
        return s.asSocket();
      },
      fsm: { connectDelayTime: 0 },
      tx: { defer: (fn) => fn() },
    },
  );
  peer.start();
  const sock = outgoing[0];
  sock.emit('connect');
  const localOpen = decodeMessage(sock.written[0], { as4: true, addPath: new Set(), extendedMessage: false }) as OpenMessage;
  sock.receive(REMOTE_OPEN);
  sock.receive({ type: 'KEEPALIVE' });
  if (peer.state !== 'Established') throw new FuzzFailure(`session harness: state ${peer.state}, not Established`);
  const negotiated = negotiate(localOpen, REMOTE_OPEN);
  return { peer, sock, ctx: negotiated.receiveContext, max: negotiated.extendedMessage ? 65535 : 4096, clock };
}

export interface SessionStats {
  messages: number;
  notifications: number;
  sessions: number;
}

/** What the session must do with one frame: the codec's verdict on the same bytes under the negotiated context. */
function verdict(bytes: Buffer, live: LiveSession): { notice?: [number, number]; down: boolean } {
  let frames: Buffer[];
  try {
    frames = new Framer(live.max).push(bytes);
  } catch (e) {
    // The error's own code/subcode, not notificationFor's: the session uses that function, so it cannot be the oracle.
    if (!(e instanceof BgpError)) throw new FuzzFailure(`framer threw ${String(e)} (not a BgpError)`);
    return { notice: [e.code, e.subcode], down: true };
  }
  if (frames.length !== 1) throw new FuzzFailure('session input is not exactly one frame');
  let msg: BgpMessage;
  try {
    msg = decodeMessage(frames[0], live.ctx);
  } catch (e) {
    if (!(e instanceof BgpError)) throw new FuzzFailure(`decode threw ${String(e)} (not a BgpError)`);
    return { notice: [e.code, e.subcode], down: true };
  }
  if (msg.type === 'NOTIFICATION') return { down: true };
  if (msg.type === 'OPEN') return { notice: [5, -1], down: true }; // RFC 4271 §8.2.2: OPEN in Established is an FSM error (subcode per RFC 6608)
  return { down: false };
}

function sessionInput(r: Rand, live: LiveSession): Buffer {
  const pick = r(4);
  if (pick === 0) return mutate(seeds[r(seeds.length)], r);
  let b: Buffer = Buffer.from(encodeMessage(generateUpdate(r, live.ctx, live.max > 4096 && r(10) === 0), live.ctx));
  if (pick !== 1) b = mutate(b, r);
  return b;
}

export function sessionCase(r: Rand, state: { live?: LiveSession }, stats: SessionStats): void {
  if (!state.live) {
    state.live = establish();
    stats.sessions++;
  }
  const live = state.live;
  let bytes = sessionInput(r, live);
  // The frame must be one message to the framer, whatever its inside: keep the header's own length.
  if (bytes.length >= 18) {
    const declared = bytes.readUInt16BE(16);
    if (declared >= 19 && declared < bytes.length) bytes = bytes.subarray(0, declared);
    else if (declared > bytes.length) bytes = Buffer.concat([bytes, Buffer.alloc(Math.min(declared - bytes.length, 70000))]);
  }
  if (bytes.length < 19) return;
  const expect = verdict(bytes, live);
  const before = live.sock.written.length;
  // Split across up to three chunks, as TCP may deliver it.
  const cut1 = r(bytes.length + 1);
  const cut2 = cut1 + r(bytes.length - cut1 + 1);
  for (const part of [bytes.subarray(0, cut1), bytes.subarray(cut1, cut2), bytes.subarray(cut2)]) {
    if (part.length) live.sock.emit('data', Buffer.from(part));
  }
  stats.messages++;
  const sent = live.sock.written.slice(before).map((w) => {
    try {
      return decodeMessage(w, { as4: true, addPath: new Set([257]), extendedMessage: true });
    } catch (e) {
      throw new FuzzFailure(`the session wrote bytes it cannot decode itself: ${hex(w)} (${String(e)})`);
    }
  });
  const notices = sent.filter((m) => m.type === 'NOTIFICATION');
  const what = () => `input ${hex(bytes.subarray(0, 200))}${bytes.length > 200 ? '...' : ''} (${bytes.length} octets)`;
  if (expect.notice) {
    if (notices.length !== 1) throw new FuzzFailure(`expected one NOTIFICATION ${expect.notice.join('/')}, sent ${notices.length}: ${what()}`);
    const n = notices[0] as { code: number; subcode: number };
    if (n.code !== expect.notice[0] || (expect.notice[1] >= 0 && n.subcode !== expect.notice[1])) {
      throw new FuzzFailure(`expected NOTIFICATION ${expect.notice.join('/')}, sent ${n.code}/${n.subcode}: ${what()}`);
    }
    stats.notifications++;
  } else if (notices.length) {
    const n = notices[0] as { code: number; subcode: number };
    throw new FuzzFailure(`a frame the codec accepts was answered with NOTIFICATION ${n.code}/${n.subcode}: ${what()}`);
  }
  const up = live.peer.state === 'Established';
  if (expect.down === up) throw new FuzzFailure(`session ${up ? 'stayed up' : 'went down'} (state ${live.peer.state}): ${what()}`);
  if (!up) {
    live.peer.stop();
    state.live = undefined;
  }
}

// ------------------------------------------------------------------ runner

export interface FuzzReport {
  seed: number;
  cases: number;
  ms: number;
  slowestMs: number;
  decoder: DecoderStats;
  framer: FramerStats;
  session: SessionStats;
}

export interface FuzzOptions {
  cases: number;
  seed?: number;
  /** One case taking longer than this is a hang (default 2 s: a GC pause on a loaded machine is not one). */
  slowCaseMs?: number;
  progress?: (done: number, report: FuzzReport) => void;
}

/** Cases are split 6 decoder : 3 framer : 1 session (a session case costs the most). */
export function runFuzz(opts: FuzzOptions): FuzzReport {
  const seed = opts.seed ?? 0x5eed;
  const r = rng(seed);
  const report: FuzzReport = {
    seed, cases: 0, ms: 0, slowestMs: 0,
    decoder: { cases: 0, decoded: 0, roundTrips: 0, treatAsWithdraw: 0, errors: 0, extended: 0, extendedRoundTrips: 0, ipv6: 0 },
    framer: { streams: 0, messages: 0, damaged: 0 },
    session: { messages: 0, notifications: 0, sessions: 0 },
  };
  const session: { live?: LiveSession } = {};
  const slow = opts.slowCaseMs ?? 2000;
  const t0 = performance.now();
  for (let i = 0; i < opts.cases; i++) {
    const c0 = performance.now();
    const which = i % 10;
    try {
      if (which < 6) decoderCase(decoderInput(r), report.decoder);
      else if (which < 9) framerCase(r, report.framer);
      else sessionCase(r, session, report.session);
    } catch (e) {
      const err = e instanceof FuzzFailure ? e : new FuzzFailure(`uncaught ${(e as Error)?.stack ?? String(e)}`);
      err.message = `fuzz case ${i} (seed ${seed}): ${err.message}`;
      throw err;
    }
    const took = performance.now() - c0;
    if (took > report.slowestMs) report.slowestMs = took;
    if (took > slow) throw new FuzzFailure(`fuzz case ${i} (seed ${seed}) took ${took.toFixed(0)} ms: a hang`);
    report.cases++;
    if (opts.progress && (i + 1) % 100_000 === 0) {
      report.ms = performance.now() - t0;
      opts.progress(i + 1, report);
    }
  }
  session.live?.peer.stop();
  report.ms = performance.now() - t0;
  return report;
}
