/**
 * Our Speaker + Rib, wired as `agent run` wires them (src/agent/routing.ts), as a route reflector (cluster id 1.2.3.4) for two real
 * BIRD 2 clients in network namespaces: a route from one client reaches the
 * other with ORIGINATOR_ID and CLUSTER_LIST set (RFC 4456), our own block
 * reaches both, and nothing goes back to where it came from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerConfig } from '../../../src/contracts.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { Routing } from '../../../src/agent/routing.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import { Bird } from '../../../src/testbed/bird.js';
import { canUseNetns, ip, Testbed } from '../../../src/testbed/netns.js';

const PREFIX = 'ribrr';
const RR = '10.213.5.1';
const C1 = '10.213.5.2';
const C2 = '10.213.5.3';
const CLUSTER = '1.2.3.4';
const AS = 64512;

function clientConfig(self: string, port: number, block: string): string {
  return `
router id ${self};
protocol device {}
protocol direct { ipv4; interface "eth0"; }
protocol static { ipv4; route ${block} blackhole; }
protocol bgp reflector {
  local ${self} as ${AS};
  neighbor ${RR} port ${port} as ${AS};
  connect delay time 1;
  connect retry time 1;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;
}

const needRoot = !canUseNetns();
if (needRoot && process.env.CI === 'true') throw new Error('route-reflector integration test needs root (network namespaces)');

describe.skipIf(needRoot && process.env.CI !== 'true')('route reflector with BIRD 2 clients', () => {
  const bed = new Testbed(PREFIX);
  const birds: Bird[] = [];
  let speaker: Speaker | undefined;

  beforeAll(() => {
    Testbed.sweep(PREFIX);
  });

  afterAll(async () => {
    try {
      // BIRD first: the listener's close waits for open connections.
      for (const b of birds) await b.cleanup();
      const stopped = speaker?.stop({ graceful: false });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000))]);
    } finally {
      bed.destroy();
    }
  });

  it('reflects a client route to the other client with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const c1 = bed.addHost('c1', { address: `${C1}/24` });
    const c2 = bed.addHost('c2', { address: `${C2}/24` });
    // The reflector lives in the root namespace on the bridge.
    const br = bed.ensureBridge();
    ip(['addr', 'add', `${RR}/24`, 'dev', br]);

    const rib = new Rib({ localAs: AS, routerId: RR, clusterId: CLUSTER, localAddress: RR, requestFlush: (flush) => setImmediate(flush) });
    speaker = new Speaker({ asNumber: AS, routerId: RR, listenAddress: RR, listenPort: 0, fsm: { connectDelayTime: 0 } });
    const port = (await speaker.start())!;
    const wiring = new Routing({ rib, sessions: speaker });
    const peer = (name: string, address: string): PeerConfig => ({
      name,
      type: 'global',
      address,
      port: 179,
      asNumber: AS,
      passive: true,
      sourceAddress: RR,
      routeReflectorClient: { clusterId: CLUSTER },
      keepOriginalNextHop: false,
      restartTime: 120,
    });
    wiring.setPeers([peer('c1', C1), peer('c2', C2)]);
    rib.setLocalRoutes(new Map([[parsePrefix('192.168.100.0/26'), {}]]));

    const b1 = new Bird(c1, clientConfig(C1, port, '192.168.1.0/26'), 'ribrr-bird-');
    const b2 = new Bird(c2, clientConfig(C2, port, '192.168.2.0/26'), 'ribrr-bird-');
    birds.push(b1, b2);
    await b1.start();
    await b2.start();

    const at2 = await b2.waitFor('show route all 192.168.1.0/26', (o) => o.includes('BGP.cluster_list'), 30_000);
    expect(at2).toMatch(/BGP\.originator_id:\s+10\.213\.5\.2/);
    expect(at2).toMatch(/BGP\.cluster_list:\s+1\.2\.3\.4/);
    expect(at2).toMatch(/BGP\.next_hop:\s+10\.213\.5\.2/);
    const at1 = await b1.waitFor('show route all 192.168.2.0/26', (o) => o.includes('BGP.cluster_list'), 30_000);
    expect(at1).toMatch(/BGP\.originator_id:\s+10\.213\.5\.3/);
    expect(at1).toMatch(/BGP\.cluster_list:\s+1\.2\.3\.4/);

    // Our own block: next hop us, no reflection attributes.
    const own = await b1.waitFor('show route all 192.168.100.0/26', (o) => o.includes('BGP.next_hop'), 30_000);
    expect(own).toMatch(/BGP\.next_hop:\s+10\.213\.5\.1/);
    expect(own).not.toMatch(/originator_id/);

    // Split horizon: c1 does not get its own route back from us.
    const back = b1.birdc('show route protocol reflector');
    expect(back).not.toContain('192.168.1.0/26');

    // Counters as the status command shows them.
    expect(rib.counters('c1')).toEqual({ received: 1, accepted: 1, advertised: 2 });
    expect(rib.counters('c2')).toEqual({ received: 1, accepted: 1, advertised: 2 });

    // A client withdrawing its route: the other client loses it.
    b1.reconfigure(clientConfig(C1, port, '192.168.1.0/26').replace(/protocol static \{[^}]*\}/, 'protocol static { ipv4; }'));
    await b2.waitFor('show route 192.168.1.0/26', (o) => !o.includes('192.168.1.0/26'), 30_000);
    expect(rib.lookup(parsePrefix('192.168.1.0/26')).paths).toEqual([]);
  });
});
