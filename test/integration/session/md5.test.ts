/**
 * TCP MD5 (RFC 2385) and GTSM (RFC 5082) against real BIRD 2 in a network
 * namespace (`md5b1`, `md5b2`), BIRD configured as calico-node's confd
 * renders a peer with a password (`password "..."`) or ttlSecurity (`ttl
 * security on`). Our speaker runs in the root namespace on the bridge.
 *
 * Witnesses beside BGP state: a packet capture in BIRD's namespace
 * (test/helpers/tcp-capture.mjs: TCP option kind 19 = MD5, the IP TTL), and
 * the TcpExt TCPMD5* counters of each namespace's /proc/net/netstat.
 */
import { type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Speaker, type PeerStatus } from '../../../src/bgp/session/index.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { PeerConfig } from '../../../src/contracts.js';
import { md5Delta, md5Explanation, parseMd5Counters, readMd5Counters, type Md5Counters } from '../../../src/bgp/session/session-security.js';
import { Bird } from '../../../src/testbed/bird.js';
import { canUseNetns, ip, sh, Testbed, type Netns } from '../../../src/testbed/netns.js';
import { until } from '../../helpers/wait.js';

const PREFIX = 'md5';
const OURS = '172.31.220.1';
const B1 = '172.31.220.2';
const B2 = '172.31.220.3';
const CAPTURE = fileURLToPath(new URL('../../helpers/tcp-capture.mjs', import.meta.url));

function hasBird(): boolean {
  try {
    sh('bird', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const ready = canUseNetns() && hasBird();
if (!ready && process.env.CI === 'true') throw new Error('MD5/GTSM interop tests need root and the bird2 package in CI');

interface BirdOpts {
  self: string;
  passive: boolean;
  ourPort: number;
  password?: string;
  ttlSecurity?: boolean;
}

function birdConfig(o: BirdOpts): string {
  return `
router id ${o.self};
log stderr all;
protocol device { scan time 2; }
protocol static { ipv4; route 10.9.${o.self.split('.')[3]}.0/26 blackhole; }
protocol bgp peer_agent {
  local ${o.self} as 64512;
  neighbor ${OURS} port ${o.ourPort} as 64512;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; add paths on; gateway recursive; };
  graceful restart on;
  connect delay time 1;
  connect retry time 2;
  error wait time 1,2;
  ${o.password !== undefined ? `password "${o.password}";` : ''}
  ${o.ttlSecurity ? 'ttl security on;' : ''}
  passive ${o.passive ? 'on' : 'off'};
}
`;
}

function peer(address: string, over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    name: `Global_${address.replace(/\./g, '_')}`,
    type: 'global',
    address,
    port: 179,
    asNumber: 64512,
    passive: false,
    sourceAddress: OURS,
    keepOriginalNextHop: false,
    restartTime: 120,
    ...over,
  };
}

let bed: Testbed;
let ns1: Netns;
let ns2: Netns;
const birds: Bird[] = [];
const speakers: Speaker[] = [];
const captures: ChildProcess[] = [];

async function newSpeaker() {
  const speaker = new Speaker({
    asNumber: 64512,
    routerId: OURS,
    listenAddress: OURS,
    listenPort: 0,
    fsm: { connectDelayTime: 0, connectRetryTime: 1, errorWaitMin: 1, errorWaitMax: 2 },
  });
  speakers.push(speaker);
  const port = (await speaker.start())!;
  const events: SessionEvent[] = [];
  speaker.on('event', (e) => events.push(e));
  const status = (name: string): PeerStatus => speaker.status().find((s) => s.name === name)!;
  return { speaker, port, events, status };
}

async function newBird(ns: Netns, o: BirdOpts): Promise<Bird> {
  const bird = new Bird(ns, birdConfig(o), 'md5-bird-');
  birds.push(bird);
  await bird.start();
  return bird;
}

interface Segment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  ttl: number;
  flags: number;
  options: number[];
}

/** Start a capture on eth0 of `ns` (BGP segments: port 179 and our listener's); resolves once the socket is bound. */
async function capture(ns: Netns, seconds: number, ourPort: number): Promise<{ segments: Segment[]; done: Promise<void> }> {
  const proc = ns.spawn('node', [CAPTURE, 'eth0', String(seconds), `179,${ourPort}`]);
  captures.push(proc);
  const segments: Segment[] = [];
  let buffered = '';
  let isReady = false;
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      const v = JSON.parse(l) as Segment & { ready?: boolean };
      if (v.ready) isReady = true;
      else segments.push(v);
    }
  });
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  await until('capture ready', () => isReady, 20_000);
  return { segments, done };
}

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const fromUs = (segments: Segment[]) => segments.filter((s) => s.src === OURS);

function nsCounters(ns: Netns): Md5Counters {
  return parseMd5Counters(ns.exec('cat', ['/proc/net/netstat']))!;
}

const ATTRS = { id: 1, attrs: { origin: 0 as const, asPath: [], nextHop: OURS, localPref: 100 } };
const received = (events: SessionEvent[], name: string): string[] =>
  events.flatMap((e) => (e.type === 'update' && e.peer === name ? e.update.nlri.keys.map(formatPrefix) : [])).sort();
const established = (events: SessionEvent[], name: string) => events.filter((e) => e.type === 'established' && e.peer === name).length;
const downs = (events: SessionEvent[], name: string) => events.filter((e) => e.type === 'down' && e.peer === name).length;

describe.skipIf(!ready)('TCP MD5 and TTL security with BIRD 2', () => {
  beforeAll(() => {
    Testbed.sweep(PREFIX);
    bed = new Testbed(PREFIX);
    ns1 = bed.addHost('b1', { address: `${B1}/24` });
    ns2 = bed.addHost('b2', { address: `${B2}/24` });
    ip(['addr', 'add', `${OURS}/24`, 'dev', bed.ensureBridge()]);
  });

  afterEach(async () => {
    for (const c of captures.splice(0)) c.kill();
    for (const s of speakers.splice(0)) await s.stop({ graceful: false });
    for (const b of birds.splice(0)) await b.cleanup();
  });

  afterAll(async () => {
    for (const b of birds.splice(0)) await b.cleanup();
    bed?.destroy();
  });

  it('password, BIRD connects to us: Established, routes both ways, every segment of ours signed (option 19)', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const name = peer(B1).name;
    speaker.setPeers([peer(B1, { passive: true, password: 'tor-s3cret' })]);
    const cap = await capture(ns1, 30, port);
    const bird = await newBird(ns1, { self: B1, passive: false, ourPort: port, password: 'tor-s3cret' });
    await until('established', () => established(events, name) > 0, 30_000);
    speaker.enqueue(name, [{ key: parsePrefix('10.8.1.0/26'), pathId: 0, attrs: ATTRS }]);
    speaker.sendEndOfRib(name);
    await bird.waitFor('show route protocol peer_agent', (o) => o.includes('10.8.1.0/26'));
    await until('BIRD routes', () => received(events, name).includes('10.9.2.0/26'));
    expect(status(name).state).toBe('Established');
    // The session's connection: from our listener's port.
    const ours = fromUs(cap.segments).filter((s) => s.sport === port);
    expect(ours.length).toBeGreaterThan(2);
    expect(ours.some((s) => (s.flags & (SYN | ACK)) === (SYN | ACK))).toBe(true); // the listener's SYN-ACK
    expect(ours.filter((s) => !s.options.includes(19))).toEqual([]);
  });

  it('password, we connect (BIRD passive): our SYN carries the MD5 option; Established', async () => {
    const { speaker, port, events } = await newSpeaker();
    const name = peer(B1).name;
    await newBird(ns1, { self: B1, passive: true, ourPort: port, password: 'tor-s3cret' });
    const cap = await capture(ns1, 30, port);
    speaker.setPeers([peer(B1, { password: 'tor-s3cret' })]);
    await until('established', () => established(events, name) > 0, 30_000);
    const syn = fromUs(cap.segments).find((s) => (s.flags & (SYN | ACK)) === SYN);
    expect(syn?.options).toContain(19);
  });

  it('wrong password: never Established, the kernels count the failures, the words say password; retries leak no fd', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const name = peer(B1).name;
    const birdBefore = nsCounters(ns1);
    const oursBefore = readMd5Counters()!;
    // Both sides connect: BIRD's SYNs fail on our listener, ours on BIRD's socket.
    await newBird(ns1, { self: B1, passive: false, ourPort: port, password: 'right' });
    speaker.setPeers([peer(B1, { password: 'wrong' })]);
    await until('BIRD namespace counts TCPMD5Failure', () => md5Delta(nsCounters(ns1), birdBefore).TCPMD5Failure > 0, 15_000);
    await until('our namespace counts TCPMD5Failure', () => md5Delta(readMd5Counters()!, oursBefore).TCPMD5Failure > 0, 15_000);
    // Each connect retry makes a new FFI socket: none may be left behind.
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    await new Promise((r) => setTimeout(r, 4000));
    expect(fds()).toBeLessThanOrEqual(before + 1);
    expect(established(events, name)).toBe(0);
    expect(['Connect', 'Active']).toContain(status(name).state);
    const words = md5Explanation(md5Delta(readMd5Counters()!, oursBefore), status(name).state)!;
    expect(words).toMatch(/TCPMD5Failure\): the password differs from the peer's/);
  });

  it("a changed password resets only that session; the listener's key follows; a session without password is untouched", async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const n1 = peer(B1).name;
    const n2 = peer(B2).name;
    const p1 = peer(B1, { passive: true, password: 'one' });
    const p2 = peer(B2, { passive: true });
    speaker.setPeers([p1, p2]);
    const bird1 = await newBird(ns1, { self: B1, passive: false, ourPort: port, password: 'one' });
    await newBird(ns2, { self: B2, passive: false, ourPort: port });
    await until('both established', () => established(events, n1) > 0 && established(events, n2) > 0, 30_000);

    bird1.reconfigure(birdConfig({ self: B1, passive: false, ourPort: port, password: 'two' }));
    speaker.setPeers([{ ...p1, password: 'two' }, p2]);
    await until('session 1 back with the new password', () => established(events, n1) === 2 && status(n1).state === 'Established', 30_000);
    expect(downs(events, n1)).toBe(1);
    expect(downs(events, n2)).toBe(0);
    expect(established(events, n2)).toBe(1);
    expect(status(n2).state).toBe('Established');
  });

  it('ttlSecurity with `ttl security on`: Established both directions, our packets at TTL 255 (SYN and SYN-ACK included)', async () => {
    const { speaker, port, events } = await newSpeaker();
    const name = peer(B1).name;
    // BIRD connects to us: the SYN-ACK leaves the listener, the rest the accepted socket.
    speaker.setPeers([peer(B1, { passive: true, ttlSecurity: 1 })]);
    const cap = await capture(ns1, 40, port);
    const bird = await newBird(ns1, { self: B1, passive: false, ourPort: port, ttlSecurity: true });
    await until('established (passive)', () => established(events, name) === 1, 30_000);
    await bird.cleanup();
    birds.splice(birds.indexOf(bird), 1);
    await until('down', () => downs(events, name) === 1, 15_000);

    // We connect: the SYN is ours.
    speaker.setPeers([peer(B1, { ttlSecurity: 1 })]);
    await newBird(ns1, { self: B1, passive: true, ourPort: port, ttlSecurity: true });
    await until('established (active)', () => established(events, name) === 2, 30_000);
    // The sessions' own packets; a RST the kernel sends for a segment of a connection already gone
    // (BIRD killed above) leaves with the default TTL, from no socket of ours.
    const ours = fromUs(cap.segments).filter((s) => !(s.flags & RST));
    expect(ours.some((s) => (s.flags & (SYN | ACK)) === SYN)).toBe(true);
    expect(ours.some((s) => (s.flags & (SYN | ACK)) === (SYN | ACK))).toBe(true);
    expect(ours.filter((s) => s.ttl !== 255)).toEqual([]);
  });

  it('without ttlSecurity on our side, BIRD with `ttl security on` drops our packets (TTL 64): BIRD never Established', async () => {
    const { speaker, port } = await newSpeaker();
    const bird = await newBird(ns1, { self: B1, passive: true, ourPort: port, ttlSecurity: true });
    speaker.setPeers([peer(B1)]);
    // BIRD's side is the witness: it sets its minimum TTL on a socket once accepted, so an OPEN of
    // ours already queued may pass and our side may see BIRD's OPEN and KEEPALIVE; our KEEPALIVE never does.
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      expect(bird.birdc('show protocols peer_agent')).not.toMatch(/Established/);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
