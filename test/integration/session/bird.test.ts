/**
 * Interop with real BIRD 2 in a network namespace, configured as calico-node
 * configures it (direct iBGP, `graceful restart on`, `add paths on`, connect
 * delay 2 s, connect retry 5 s). Our speaker runs in the root namespace on the
 * test bridge's address; BIRD in `ssb1`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Speaker, type PeerStatus } from '../../../src/bgp/session/index.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { Bird } from '../../../src/testbed/bird.js';
import { canUseNetns, ip, sh, Testbed, type Netns } from '../../../src/testbed/netns.js';
import { until } from '../../helpers/wait.js';

const PREFIX = 'ss';
const OURS = '172.31.213.1';
const BIRD_IP = '172.31.213.2';
const PEER_NAME = 'Mesh_172_31_213_2';

function hasBird(): boolean {
  try {
    sh('bird', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const ready = canUseNetns() && hasBird();
if (!ready && process.env.CI === 'true') throw new Error('BIRD interop tests need root and the bird2 package in CI');

interface BirdOpts {
  passive: boolean;
  ourPort: number;
  localAs?: number;
  neighborAs?: number;
  holdTime?: number;
  grTime?: number;
}

function birdConfig(o: BirdOpts): string {
  return `
router id ${BIRD_IP};
log stderr all;
protocol device { scan time 2; }
protocol direct { ipv4; interface "eth0"; }
protocol static {
  ipv4;
  route 10.9.1.0/26 blackhole;
  route 10.9.1.64/26 blackhole;
}
protocol bgp Mesh_172_31_213_1 {
  local ${BIRD_IP} as ${o.localAs ?? 64512};
  neighbor ${OURS} port ${o.ourPort} as ${o.neighborAs ?? 64512};
  ipv4 { import all; export where source = RTS_STATIC; next hop self; add paths on; gateway recursive; };
  graceful restart on;
  ${o.grTime ? `graceful restart time ${o.grTime};` : ''}
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
  ${o.holdTime ? `hold time ${o.holdTime}; keepalive time 1;` : ''}
  passive ${o.passive ? 'on' : 'off'};
}
`;
}

function ourPeer(passive: boolean): PeerConfig {
  return {
    name: PEER_NAME,
    type: 'node-to-node mesh',
    address: BIRD_IP,
    port: 179,
    asNumber: 64512,
    passive,
    sourceAddress: OURS,
    keepOriginalNextHop: false,
    restartTime: 120,
  };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let bed: Testbed;
let host: Netns;
const birds: Bird[] = [];
const speakers: Speaker[] = [];

async function newSpeaker(opts: { restarting?: boolean; forwardingPreserved?: boolean } = {}) {
  const speaker = new Speaker({
    asNumber: 64512,
    routerId: OURS,
    listenAddress: OURS,
    listenPort: 0,
    restarting: opts.restarting,
    forwardingPreserved: opts.forwardingPreserved,
    // Short retry and error wait so a test does not sit out BIRD's 5..30 s.
    fsm: { connectDelayTime: 0, connectRetryTime: 1, errorWaitMin: 1, errorWaitMax: 2 },
  });
  speakers.push(speaker);
  const port = (await speaker.start())!;
  const events: SessionEvent[] = [];
  speaker.on('event', (e) => events.push(e));
  const status = (): PeerStatus => speaker.status()[0];
  return { speaker, port, events, status };
}

async function newBird(o: BirdOpts): Promise<Bird> {
  const bird = new Bird(host, birdConfig(o), 'ss-bird-');
  birds.push(bird);
  await bird.start();
  return bird;
}

const ATTRS = { id: 1, attrs: { origin: 0 as const, asPath: [], nextHop: OURS, localPref: 100 } };
const OUR_ROUTES = [parsePrefix('10.8.1.0/26'), parsePrefix('10.8.1.64/26')];

function received(events: SessionEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'update' ? e.update.nlri.keys.map(formatPrefix) : [])).sort();
}

describe.skipIf(!ready)('BGP sessions with BIRD 2', () => {
  beforeAll(() => {
    Testbed.sweep(PREFIX);
    bed = new Testbed(PREFIX);
    host = bed.addHost('b1', { address: `${BIRD_IP}/24` });
    ip(['addr', 'add', `${OURS}/24`, 'dev', bed.ensureBridge()]);
  });

  afterEach(async () => {
    for (const s of speakers.splice(0)) await s.stop({ graceful: false });
    for (const b of birds.splice(0)) await b.cleanup();
  });

  afterAll(async () => {
    for (const b of birds.splice(0)) await b.cleanup();
    bed?.destroy();
  });

  it('Established with BIRD active (we are passive); routes both ways', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    speaker.setPeers([ourPeer(true)]);
    const bird = await newBird({ passive: false, ourPort: port });
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    expect(status().state).toBe('Established');
    expect(status().capabilities).toEqual(expect.arrayContaining(['as4', 'graceful-restart 120s', 'add-path rx/tx']));

    speaker.enqueue(PEER_NAME, OUR_ROUTES.map((key) => ({ key, pathId: 0, attrs: ATTRS })));
    speaker.sendEndOfRib(PEER_NAME);
    const out = await bird.waitFor('show route protocol Mesh_172_31_213_1', (o) => o.includes('10.8.1.0/26') && o.includes('10.8.1.64/26'));
    expect(out).toContain(`via ${OURS}`);
    await until('BIRD routes and End-of-RIB', () => events.some((e) => e.type === 'end-of-rib'));
    expect(received(events)).toEqual(['10.9.1.0/26', '10.9.1.64/26']);
    const update = events.find((e) => e.type === 'update');
    expect(update?.type === 'update' && update.update.attributes.nextHop).toBe(BIRD_IP);
    expect(status().counters.prefixesReceived).toBe(2);
    expect(status().counters.prefixesAdvertised).toBe(2);
  });

  it('Established with BIRD passive (we connect from our source address)', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const bird = await newBird({ passive: true, ourPort: port });
    speaker.setPeers([ourPeer(false)]);
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    expect(status().localAddress).toBe(OURS);
    await bird.waitFor('show protocols Mesh_172_31_213_1', (o) => o.includes('Established'));
  });

  it('BIRD with the wrong AS: the NOTIFICATION 2/2 is named in lastError, both directions', async () => {
    // BIRD claims AS 64513 while we expect 64512: we send 2/2.
    const one = await newSpeaker();
    await newBird({ passive: true, ourPort: one.port, localAs: 64513 });
    one.speaker.setPeers([ourPeer(false)]);
    await until('our 2/2', () => one.status().lastError?.startsWith('Sent NOTIFICATION 2/2'));
    expect(one.status().lastError).toBe(
      'Sent NOTIFICATION 2/2 (OPEN Message Error / Bad Peer AS): peer says AS 64513, configured 64512',
    );
    expect(one.status().birdState).toBe('start');
    for (const s of speakers.splice(0)) await s.stop({ graceful: false });
    for (const b of birds.splice(0)) await b.cleanup();

    // BIRD expects AS 64999 for us: it sends 2/2.
    const two = await newSpeaker();
    await newBird({ passive: true, ourPort: two.port, neighborAs: 64999 });
    two.speaker.setPeers([ourPeer(false)]);
    await until('their 2/2', () => two.status().lastError?.startsWith('Received NOTIFICATION 2/2'));
    expect(two.status().lastError).toMatch(/^Received NOTIFICATION 2\/2 \(OPEN Message Error \/ Bad Peer AS\): the peer does not expect our AS 64512/);
  });

  it('BIRD frozen with SIGSTOP and hold time 3 s: "Hold timer expired"', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const bird = await newBird({ passive: true, ourPort: port, holdTime: 3 });
    speaker.setPeers([ourPeer(false)]);
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    expect(status().holdTime).toBe(3);
    expect(status().keepaliveTime).toBe(1);
    await bird.freeze();
    try {
      await until('hold timer expiry', () => status().lastError === 'Hold timer expired', 8_000);
      const down = events.find((e) => e.type === 'down');
      expect(down?.type === 'down' && down.reason).toBe('Hold timer expired');
      expect(status().state).not.toBe('Established');
    } finally {
      await bird.thaw();
    }
  });

  it('graceful restart: BIRD keeps our routes while we restart with the R bit', async () => {
    const first = await newSpeaker();
    const bird = await newBird({ passive: true, ourPort: first.port });
    first.speaker.setPeers([ourPeer(false)]);
    await until('established', () => first.events.some((e) => e.type === 'established'), 30_000);
    first.speaker.enqueue(PEER_NAME, OUR_ROUTES.map((key) => ({ key, pathId: 0, attrs: ATTRS })));
    first.speaker.sendEndOfRib(PEER_NAME);
    await bird.waitFor('show route protocol Mesh_172_31_213_1', (o) => o.includes('10.8.1.0/26'));

    await first.speaker.stop({ graceful: true });
    speakers.splice(speakers.indexOf(first.speaker), 1);
    await bird.waitFor('show protocols Mesh_172_31_213_1', (o) => !o.includes('Established'));
    await sleep(1000);
    // No NOTIFICATION and GR negotiated: BIRD keeps them (stale) for our restart time.
    expect(bird.birdc('show route protocol Mesh_172_31_213_1')).toContain('10.8.1.0/26');

    // R bit (we restarted) and F bit (the kernel kept our routes): without F, RFC 4724 §4.2 has BIRD drop them at once.
    const second = await newSpeaker({ restarting: true, forwardingPreserved: true });
    second.speaker.setPeers([ourPeer(false)]);
    await until('re-established', () => second.events.some((e) => e.type === 'established'), 30_000);
    expect(bird.birdc('show route protocol Mesh_172_31_213_1')).toContain('10.8.1.0/26');
    second.speaker.enqueue(PEER_NAME, [{ key: OUR_ROUTES[0], pathId: 0, attrs: ATTRS }]);
    second.speaker.sendEndOfRib(PEER_NAME);
    // After our End-of-RIB, BIRD flushes what we did not re-announce.
    await bird.waitFor('show route protocol Mesh_172_31_213_1', (o) => o.includes('10.8.1.0/26') && !o.includes('10.8.1.64/26'));
  });

  it('graceful restart: when BIRD restarts our down event is graceful with its restart time', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    const bird = await newBird({ passive: true, ourPort: port, grTime: 90 });
    // As the RIB does: the table, then End-of-RIB, on every establishment (BIRD -R waits for it).
    speaker.on('event', (e) => e.type === 'established' && speaker.sendEndOfRib(PEER_NAME));
    speaker.setPeers([ourPeer(false)]);
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    expect(status().peerRestartTime).toBe(90);
    await bird.kill();
    const down = await until('down', () => events.find((e) => e.type === 'down'));
    expect(down).toMatchObject({ type: 'down', graceful: true, restartTime: 90 });

    await bird.start({ recovery: true });
    // Reconnecting waits out our connect-retry (5 s) and BIRD's connect delay; a loaded CI machine adds more.
    await until('re-established', () => events.filter((e) => e.type === 'established').length === 2, 45_000);
    await until('End-of-RIB after restart', () => events.filter((e) => e.type === 'end-of-rib').length === 2, 20_000);
    expect(received(events).filter((p) => p === '10.9.1.0/26')).toHaveLength(2);
  }, 90_000);

  /**
   * BIRD's host loses the session without a trace (no FIN, no RST reaches us,
   * as when a node reboots): its link is down while BIRD is killed and its
   * socket destroyed, so our old connection stays half-open. Then BIRD starts
   * again and dials us while our session still looks Established.
   */
  async function halfOpenRestart(bird: Bird, events: SessionEvent[], recovery: boolean): Promise<void> {
    // Quiet first: BIRD's initial table and End-of-RIB delivered, nothing in flight either way.
    await until('BIRD End-of-RIB', () => events.some((e) => e.type === 'end-of-rib'), 15_000);
    await sleep(300);
    host.ip(['link', 'set', 'eth0', 'down']);
    await bird.kill();
    host.exec('ss', ['-K', 'dst', OURS]);
    expect(host.exec('ss', ['-tnH', 'dst', OURS]).trim()).toBe('');
    host.ip(['link', 'set', 'eth0', 'up']);
    await bird.start({ recovery });
  }

  it('BIRD restarted with -R while our session is half-open: the R bit in its OPEN replaces the session (RFC 4724)', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    speaker.setPeers([ourPeer(true)]);
    const bird = await newBird({ passive: false, ourPort: port });
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    await halfOpenRestart(bird, events, true);
    await until('re-established', () => events.filter((e) => e.type === 'established').length === 2, 30_000);
    const down = events.find((e): e is Extract<SessionEvent, { type: 'down' }> => e.type === 'down')!;
    expect(down).toMatchObject({ graceful: true, restartTime: 120 });
    expect(down.reason).toMatch(/Restart State bit/);
    expect(status().state).toBe('Established');
  }, 60_000);

  it('BIRD restarted without -R while our session is half-open: a collision (Cease 7) whose probe finds the old connection dead; the session comes back', async () => {
    const { speaker, port, events, status } = await newSpeaker();
    speaker.setPeers([ourPeer(true)]);
    const bird = await newBird({ passive: false, ourPort: port });
    await until('established', () => events.some((e) => e.type === 'established'), 30_000);
    await halfOpenRestart(bird, events, false);
    // Without the probe the old session would wait out the 240 s hold time.
    await until('re-established', () => events.filter((e) => e.type === 'established').length === 2, 45_000);
    const down = events.find((e): e is Extract<SessionEvent, { type: 'down' }> => e.type === 'down')!;
    expect(down.reason).toMatch(/reset by peer/i);
    expect(down.graceful).toBe(true);
    expect(status().state).toBe('Established');
  }, 90_000);
});
