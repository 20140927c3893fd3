/**
 * IPv6 interop with real BIRD 2 (issue 19), as calico-node's bird6 peers:
 * an IPv6 session between IPv6 addresses carrying IPv6 unicast only
 * (RFC 4760), add-path and graceful restart for AFI 2. The agent side runs
 * as `agent run` wires it (Speaker, Rib, src/agent/routing.ts, the
 * rtnetlink kernel programmer) in namespace r6…a; BIRD in r6…b. BIRD's
 * session is direct (one link), so it sends the RFC 2545 global +
 * link-local next hop (32 octets); the agent installs via the global one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerConfig } from '../../../src/contracts.js';
import { Bird } from '../../../src/testbed/bird.js';
import { canUseNetns, sh, Testbed, type Netns } from '../../../src/testbed/netns.js';
import { bundle, NsChild } from '../kernel/harness.js';

function hasBird(): boolean {
  try {
    sh('bird', ['--version']);
    return true;
  } catch {
    return false;
  }
}
if (!canUseNetns() || !hasBird()) throw new Error('IPv6 BIRD interop needs root (network namespaces) and bird2; it never skips');

const AGENT4 = '10.213.66.1';
const BIRD4 = '10.213.66.2';
const AGENT6 = 'fd00:199::1';
const BIRD6 = 'fd00:199::2';
const AGENT_BLOCK = 'fd00:245::/122';
const NEW_BLOCK = 'fd00:245::80/122';
const BIRD_BLOCK = 'fd00:245::40/122';
const pool6 = { name: 'default-ipv6', cidr: 'fd00:245::/64', ipipMode: 'Never', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: false, blockSize: 122 };

// calico-node's bird6.cfg for a mesh peer, but `direct` (BIRD 2's iBGP default is multihop) so BIRD sends the link-local next hop too.
const birdConfig = `
router id ${BIRD4};
log stderr all;
protocol device { scan time 2; }
protocol direct { ipv6; interface "eth0"; }
protocol kernel { ipv6 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; learn off; scan time 2; }
protocol static { ipv6; route ${BIRD_BLOCK} blackhole; }
protocol bgp Mesh_fd00_199__1 {
  local ${BIRD6} as 64512;
  neighbor ${AGENT6} as 64512;
  direct;
  ipv6 { import all; export where source = RTS_STATIC; next hop self; add paths on; };
  graceful restart on;
  connect delay time 1;
  connect retry time 1;
  error wait time 1,2;
  passive on;
}
`;

const peer: PeerConfig = {
  name: 'Mesh_fd00_199__2',
  type: 'node-to-node mesh',
  address: BIRD6,
  port: 179,
  asNumber: 64512,
  passive: false,
  sourceAddress: AGENT6,
  keepOriginalNextHop: false,
  restartTime: 120,
};

async function until(what: string, fn: () => boolean | Promise<boolean>, limitMs = 20_000, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}: ${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// `ip route show proto bird` leaves out the field it filters on: filter here and compare whole lines.
const bird6Routes = (ns: Netns): string[] =>
  ns
    .ip(['-6', 'route', 'show', 'table', 'main'])
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => / proto bird( |$)/.test(l))
    .sort();

describe('IPv6 sessions with BIRD 2', () => {
  const bed = new Testbed('r6bgp');
  let agentNs: Netns;
  let birdNs: Netns;
  let bird: Bird;
  let child: NsChild;
  let cleanupBundle = () => {};

  beforeAll(async () => {
    Testbed.sweep(bed.prefix);
    agentNs = bed.addHost('a', { address: `${AGENT4}/24` });
    birdNs = bed.addHost('b', { address: `${BIRD4}/24` });
    // nodad: usable at once (BIRD binds, the kernel accepts the gateway).
    agentNs.ip(['-6', 'addr', 'add', `${AGENT6}/64`, 'dev', 'eth0', 'nodad']);
    birdNs.ip(['-6', 'addr', 'add', `${BIRD6}/64`, 'dev', 'eth0', 'nodad']);
    // A link-local address usable at once, so BIRD's first UPDATE already carries global + link-local (RFC 2545 §3).
    birdNs.ip(['-6', 'addr', 'add', 'fe80::b1/64', 'dev', 'eth0', 'nodad']);
    bird = new Bird(birdNs, birdConfig, 'r6-bird-');
    await bird.start();
    const built = await bundle('../session/bird6-child.ts');
    cleanupBundle = built.cleanup;
    child = NsChild.start(agentNs.name, built.file);
    await child.call('start', {
      node: { name: 'node-a', ipv4: AGENT4, ipv4PrefixLen: 24, ipv6: AGENT6, ipv6PrefixLen: 64, asNumber: 64512, routerId: AGENT4 },
      peers: [peer],
      blocks6: [{ cidr: AGENT_BLOCK, state: 'confirmed' }],
      pools6: [pool6],
    });
  }, 60_000);

  afterAll(async () => {
    try {
      await bird?.cleanup();
      // Bounded: a child that broke mid-test must not keep the namespaces from being removed.
      const stopped = child?.call('stop').catch(() => undefined);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000))]);
      await child?.stop();
    } finally {
      bed.destroy();
      cleanupBundle();
    }
  });

  it('Established with IPv6 unicast only, add-path and graceful restart for AFI 2', async () => {
    type P = { name: string; state: string; capabilities: string[]; lastError?: string };
    let peers: P[] = [];
    await until('Established', async () => {
      peers = await child.call<P[]>('peers');
      return peers[0]?.state === 'Established';
    }, 20_000, () => JSON.stringify(peers) + bird.log.slice(-1500));
    expect(peers[0].capabilities).toEqual(expect.arrayContaining(['add-path rx/tx', expect.stringMatching(/^graceful-restart /)]));
    const proto = bird.birdc('show protocols all Mesh_fd00_199__1');
    expect(proto).toMatch(/Established/);
    expect(proto).toMatch(/Channel ipv6\s+State:\s+UP/);
    expect(proto).not.toMatch(/Channel ipv4/);
    expect(await child.call<string[]>('refused')).toEqual([]);
    await until('an IPv6 UPDATE from BIRD', async () => (await child.call<string[][]>('nextHops')).length > 0);
    // BIRD sent the 32-octet form: global, then its link-local.
    expect((await child.call<string[][]>('nextHops'))[0]).toEqual([BIRD6, expect.stringMatching(/^fe80::/)]);
  });

  it("the agent's kernel holds BIRD's block via BIRD's global address, in BIRD 2's form, beside its own blackhole", async () => {
    const want = [`blackhole ${AGENT_BLOCK} dev lo proto bird metric 1024 pref medium`, `${BIRD_BLOCK} via ${BIRD6} dev eth0 proto bird metric 1024 pref medium`].sort();
    await until('BIRD block in the agent kernel', () => JSON.stringify(bird6Routes(agentNs)) === JSON.stringify(want), 20_000, () => bird6Routes(agentNs).join('\n'));
    expect(bird6Routes(agentNs)).toEqual(want);
  });

  it("BIRD holds the agent's block with the agent's IPv6 address as next hop; a new block arrives, a released one is withdrawn", async () => {
    const show = (p: string): string => {
      try {
        return bird.birdc(`show route ${p} all`);
      } catch (err) {
        return String(err);
      }
    };
    await until('agent block in BIRD', () => show(AGENT_BLOCK).includes(`via ${AGENT6}`), 20_000, () => show(AGENT_BLOCK));
    expect(show(AGENT_BLOCK)).toContain(`BGP.next_hop: ${AGENT6}`);
    // BIRD's kernel protocol installs it in BIRD's namespace as calico-node's would.
    await until('agent block in BIRD kernel', () => bird6Routes(birdNs).some((l) => l.startsWith(`${AGENT_BLOCK} via ${AGENT6} dev eth0 proto bird`)), 20_000, () => bird6Routes(birdNs).join('\n'));
    await child.call('setBlocks6', [{ cidr: AGENT_BLOCK, state: 'confirmed' }, { cidr: NEW_BLOCK, state: 'confirmed' }]);
    await until('new block in BIRD', () => show(NEW_BLOCK).includes(`via ${AGENT6}`), 20_000, () => show(NEW_BLOCK));
    await child.call('setBlocks6', [{ cidr: NEW_BLOCK, state: 'confirmed' }]);
    await until('released block withdrawn', () => !show(AGENT_BLOCK).includes(`via ${AGENT6}`), 20_000, () => show(AGENT_BLOCK));
    expect(show(NEW_BLOCK)).toContain(`via ${AGENT6}`);
  });
});
