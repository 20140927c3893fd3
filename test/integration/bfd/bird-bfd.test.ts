/**
 * BFD with real BIRD 2 (issue 22): `agent run` in namespace bfda with etcd,
 * BIRD in bfdb with `protocol bfd` and `bfd on`, a second BIRD in bfdc whose
 * BGPPeer has no failureDetectionMode. Checked:
 * - BFD Up both ways (our status, `birdc show bfd sessions`), 100 ms both ways;
 * - BIRD frozen (SIGSTOP): its routes leave our kernel within 1 s (measured);
 *   resumed: BFD Up, session and routes back;
 * - the agent frozen: BIRD declares BFD down within 1 s and withdraws our block;
 * - the peer without failureDetectionMode gets no BFD packet;
 * - malformed packets, and a well-formed Down with our discriminator at TTL 254,
 *   change nothing;
 * - a timer change in BGPConfiguration spec.bfd reaches the live session
 *   through a Poll Sequence: no BFD or BGP flap, BIRD sees the new interval.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns, sh } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { startEtcdIn } from '../../helpers/calico.js';

const PREFIX = 'bfd';
const ETCD_PORT = 23791;

// CI runs as root with bird2 installed: a missing prerequisite is a failure, not a skip.
if (!canUseNetns()) throw new Error('BFD integration tests need root (network namespaces)');
sh('bird', ['--version']);

function birdConfig(routerId: string, blocks: string[], bfd: boolean): string {
  return `
router id ${routerId};
log stderr all;
debug protocols { states, events };
protocol device { scan time 2; }
${bfd ? 'protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }' : ''}
protocol static blocks {
  ipv4 { export all; };
${blocks.map((b) => `  route ${b} blackhole;`).join('\n')}
}
protocol bgp Global_10_97_0_9 {
  local ${routerId} as 64512;
  neighbor 10.97.0.9 as 64512;
  ${bfd ? 'direct; bfd on; # single hop: an iBGP session is multihop in BIRD unless direct, and so would be its BFD (UDP 4784)' : ''}
  graceful restart on;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 { import all; export all; add paths on; next hop self; };
}
`;
}

function resources(bfdTimers: string): string {
  return `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: false, asNumber: 64512${bfdTimers} }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, ipipMode: Always, blockSize: 26 }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: 10.97.0.9/24, ipv4IPIPTunnelAddr: 10.244.9.1 } }
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: peer-b }
spec: { peerIP: 10.97.0.3, asNumber: 64512, failureDetectionMode: BFDIfDirectlyConnected }
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: peer-c }
spec: { peerIP: 10.97.0.4, asNumber: 64512 }
---
kind: IPAMBlock
spec: { cidr: 10.244.9.0/26, affinity: "host:node-a" }
---
kind: BlockAffinity
spec: { node: node-a, cidr: 10.244.9.0/26, state: confirmed }
`;
}

interface JsonBfd {
  state: string;
  remoteState: string;
  txIntervalMs: number;
  rxIntervalMs: number;
  detectionTimeMs: number;
  multiplier: number;
  localDiscriminator: number;
  remoteDiscriminator: number;
  transitions: number;
  packetsIn: number;
  lastDown?: { reason: string };
}
interface JsonPeer {
  address: string;
  name: string;
  bgpState: string;
  lastError: string | null;
  bfd?: JsonBfd;
}

const B_ROUTES = ['10.244.3.0/26', '10.244.3.64/26'];

describe('BFD with BIRD 2 (protocol bfd, bfd on)', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'bfd-it-'));
  const socket = join(tmp, 'agent.ctl');
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let counter: ChildProcess | undefined;
  let counted = '';
  let a: Netns;
  let b: Netns;
  let c: Netns;
  let birdB: Bird;
  let birdC: Bird;
  const etcdUrl = `http://10.97.0.100:${ETCD_PORT}`;

  const cli = (args: string[]): string => agent.cli(args);
  const peers = (): JsonPeer[] => agent.status<{ peers: JsonPeer[] }>().peers;
  const peerB = (): JsonPeer => peers().find((p) => p.address === '10.97.0.3')!;
  /** BIRD b's routes in our kernel. */
  const bRoutesInKernel = (): string[] => a.routes('bird').filter((l) => B_ROUTES.some((r) => l.startsWith(r)));
  const apply = (yaml: string): void => void datastoreApply(a, etcdUrl, yaml);
  /** BIRD's line for our address in `show bfd sessions`: [ip, iface, state, since..., interval, timeout]. */
  const birdBfd = (): string[] => {
    const out = sh('birdc', ['-s', birdB.ctlPath, 'show', 'bfd', 'sessions'], { allowFail: true });
    const line = out.split('\n').find((l) => l.startsWith('10.97.0.9')) ?? '';
    return line.trim().split(/\s+/);
  };

  const until = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000, everyMs = 100): Promise<T> =>
    agent.until(what, fn, timeoutMs, { everyMs, context: () => `BIRD b:\n${birdB?.log.slice(-1500)}` });

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.97.0.100/24' });
    a = bed.addHost('a', { address: '10.97.0.9/24' });
    b = bed.addHost('b', { address: '10.97.0.3/24' });
    c = bed.addHost('c', { address: '10.97.0.4/24' });
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.97.0.9/24', etcdEndpoints: etcdUrl, socket, logLevel: 'debug' });
    etcd = await startEtcdIn(e, tmp, etcdUrl, 'bfd');
    apply(resources(''));

    birdB = new Bird(b, birdConfig('10.97.0.3', B_ROUTES, true), 'bfd-bird-b-');
    birdC = new Bird(c, birdConfig('10.97.0.4', ['10.244.4.0/26'], false), 'bfd-bird-c-');
    await birdB.start();
    await birdC.start();
    // A listener on c's BFD port: counts every datagram that reaches it.
    counter = c.spawn(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      let n = 0;
      s.on('message', () => { n++; process.stdout.write('packet ' + n + '\\n'); });
      s.bind(3784, '10.97.0.4', () => process.stdout.write('listening\\n'));
    `]);
    counter.stdout?.on('data', (d: Buffer) => (counted += d.toString()));
    await until('counter listening', () => counted.includes('listening'));

    spawnAgent();
  }, 120_000);

  /** (Re)start the agent; its log is kept across restarts, as the checks after a restart read the stop's lines too. */
  let earlierLog = '';
  const agentLog = (): string => earlierLog + agent.log;
  function spawnAgent(): void {
    earlierLog += agent.log;
    agent.start();
  }

  afterAll(async () => {
    if (agent?.proc?.pid) process.kill(agent.proc.pid, 'SIGCONT');
    agent?.proc?.kill('SIGKILL');
    counter?.kill('SIGKILL');
    await birdB?.cleanup();
    await birdC?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('BFD comes Up both ways at 100 ms, BGP Established, BIRD routes in the kernel', async () => {
    await until('BFD Up and BGP Established', () => {
      const p = peerB();
      return p?.bfd?.state === 'Up' && p.bgpState === 'Established' && p.bfd.txIntervalMs === 100;
    });
    const p = peerB();
    expect(p.bfd).toMatchObject({ state: 'Up', remoteState: 'Up', txIntervalMs: 100, rxIntervalMs: 100, detectionTimeMs: 300, multiplier: 3 });
    expect(p.bfd!.remoteDiscriminator).toBeGreaterThan(0);
    // BIRD's view: Up, interval 0.100 s, timeout 0.300 s.
    await until('BIRD BFD Up', () => birdBfd()[2] === 'Up');
    const row = birdBfd();
    expect(row.slice(-2)).toEqual(['0.100', '0.300']);
    await until('BIRD routes in our kernel', () => bRoutesInKernel().length === 2);
    await birdB.waitFor('show route 10.244.9.0/26', (o) => o.includes('10.244.9.0/26'));
    // agent peers shows BFD too.
    expect(cli(['peers', p.name])).toMatch(/BFD state: +Up since .*\n +Intervals: +tx 100 ms, rx 100 ms, multiplier 3 \(remote 3\), detection 300 ms/);
  });

  it('sends no BFD packet to the peer without failureDetectionMode', async () => {
    await until('peer c Established', () => peers().find((x) => x.address === '10.97.0.4')?.bgpState === 'Established');
    await new Promise((r) => setTimeout(r, 1500));
    expect(counted).not.toContain('packet');
    expect(peers().find((x) => x.address === '10.97.0.4')?.bfd).toBeUndefined();
  });

  it('malformed packets and a TTL 254 Down with our discriminator change nothing', async () => {
    const before = peerB().bfd!;
    const mine = before.localDiscriminator;
    // From b's address, a port of its own: BIRD keeps 3784.
    b.exec(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      const pkt = (b0, b1, mult, len, my, your) => { const x = Buffer.alloc(24); x[0] = b0; x[1] = b1; x[2] = mult; x[3] = len; x.writeUInt32BE(my, 4); x.writeUInt32BE(your, 8); x.writeUInt32BE(100000, 12); x.writeUInt32BE(100000, 16); return x; };
      const down = pkt(0x20, 0x40, 3, 24, 77, ${mine});
      const list = [
        [Buffer.from([1, 2, 3]), 255],                 // too short
        [pkt(0x40, 0x40, 3, 24, 77, ${mine}), 255],    // version 2
        [pkt(0x20, 0x40, 0, 24, 77, ${mine}), 255],    // detect mult 0
        [pkt(0x20, 0x40, 3, 60, 77, ${mine}), 255],    // length beyond the datagram
        [pkt(0x20, 0x41, 3, 24, 77, ${mine}), 255],    // multipoint
        [pkt(0x20, 0xc0, 3, 24, 77, 0), 255],          // Up with your discriminator 0
        [pkt(0x20, 0x44, 3, 24, 77, ${mine}), 255],    // authentication, none configured
        [pkt(0x20, 0x40, 3, 24, 77, 12345), 255],      // not our discriminator
        [down, 254],                                   // RFC 5881 §5: TTL 254 must be dropped
        [down, 1],
      ];
      s.bind(49999, '10.97.0.3', async () => {
        for (const [p, ttl] of list) {
          s.setTTL(ttl);
          await new Promise((r) => s.send(p, 3784, '10.97.0.9', r));
        }
        s.close();
      });
    `]);
    await new Promise((r) => setTimeout(r, 1000));
    const after = peerB();
    expect(after.bfd).toMatchObject({ state: 'Up', transitions: before.transitions });
    expect(after.bgpState).toBe('Established');
    expect(bRoutesInKernel()).toHaveLength(2);
  });

  it('BIRD frozen: its routes leave our kernel within 1 s; resumed: BFD, session and routes back', async () => {
    const frozenAt = Date.now();
    await birdB.freeze();
    let goneAt = 0;
    try {
      await until('BIRD routes gone from our kernel', () => bRoutesInKernel().length === 0, 5_000, 10);
      goneAt = Date.now();
    } finally {
      await birdB.thaw();
    }
    const failover = goneAt - frozenAt;
    process.stdout.write(`BFD failover (BIRD frozen -> last route out of the kernel): ${failover} ms\n`);
    expect(failover).toBeLessThan(1000);
    const p = peerB();
    expect(p.bfd?.lastDown?.reason).toBe('no BFD packet from the peer within the detection time');
    await until('the reset logged', () => agentLog().includes('BFD down: BGP session reset (Cease 10) and its routes withdrawn'), 5_000);
    // Resumed: BFD Up again, BGP back, routes back.
    await until('BFD, BGP and routes back', () => {
      const q = peerB();
      return q.bfd?.state === 'Up' && q.bgpState === 'Established' && bRoutesInKernel().length === 2;
    }, 60_000);
  });

  it('the agent frozen: BIRD declares BFD down within 1 s and withdraws our block', async () => {
    await birdB.waitFor('show route 10.244.9.0/26', (o) => o.includes('10.244.9.0/26'), 30_000);
    const frozenAt = Date.now();
    process.kill(agent.proc!.pid!, 'SIGSTOP');
    let downAt = 0;
    let withdrawnAt = 0;
    try {
      await until('BIRD BFD down', () => birdBfd()[2] !== 'Up', 5_000, 20);
      downAt = Date.now();
      await until('BIRD withdrew our block', () => !sh('birdc', ['-s', birdB.ctlPath, 'show', 'route', '10.244.9.0/26'], { allowFail: true }).includes('10.244.9.0/26'), 5_000, 20);
      withdrawnAt = Date.now();
    } finally {
      process.kill(agent.proc!.pid!, 'SIGCONT');
    }
    process.stdout.write(`agent frozen -> BIRD BFD down ${downAt - frozenAt} ms, our block withdrawn ${withdrawnAt - frozenAt} ms\n`);
    expect(downAt - frozenAt).toBeLessThan(1000);
    expect(withdrawnAt - frozenAt).toBeLessThan(1000);
    expect(sh('birdc', ['-s', birdB.ctlPath, 'show', 'protocols', 'all', 'Global_10_97_0_9'])).toMatch(/BFD session down/);
    await until('all back after the agent resumes', () => {
      const q = peerB();
      return q.bfd?.state === 'Up' && q.bgpState === 'Established' && bRoutesInKernel().length === 2;
    }, 60_000);
  });

  it('a timer change applies through the Poll Sequence: no BFD or BGP flap, BIRD sees the new interval', async () => {
    const before = peerB();
    apply(resources(', bfd: { minTxMs: 200, minRxMs: 250, multiplier: 4 }'));
    await until('new timers in force', () => {
      const q = peerB().bfd!;
      return q.txIntervalMs === 200 && q.rxIntervalMs === 250 && q.multiplier === 4;
    });
    // BIRD: it now sends every max(its 100, our RequiredMinRx 250) = 250 ms and
    // times us out after our multiplier 4 x max(its RequiredMinRx 100, our TX 200) = 800 ms.
    await until('BIRD sees the new intervals', () => {
      const row = birdBfd();
      return row[2] === 'Up' && row.at(-2) === '0.250' && row.at(-1) === '0.800';
    });
    const after = peerB();
    expect(after.bfd!.transitions).toBe(before.bfd!.transitions);
    expect(after.bgpState).toBe('Established');
    expect(cli(['status'])).not.toMatch(/BFD is/);
    // A bad value is a Problem naming the resource and field (that field takes its default).
    apply(resources(', bfd: { minTxMs: "fast", multiplier: 4 }'));
    await until('problem named', () => /spec\.bfd\.minTxMs: "fast" is not an integer in 1\.\.60000/.test(cli(['status'])));
  });

  /** SIGTERM the agent (graceful restart stop) and return BIRD's view a second later. */
  async function stopAgentGracefully(): Promise<{ protocols: string; route: string }> {
    await until('all up', () => peerB().bfd?.state === 'Up' && peerB().bgpState === 'Established', 60_000);
    await birdB.waitFor('show route 10.244.9.0/26', (o) => o.includes('10.244.9.0/26'), 30_000);
    await agent.stop('SIGTERM');
    await until('BIRD BFD not Up', () => birdBfd()[2] !== 'Up', 5_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
    return {
      protocols: sh('birdc', ['-s', birdB.ctlPath, 'show', 'protocols', 'all', 'Global_10_97_0_9']),
      route: sh('birdc', ['-s', birdB.ctlPath, 'show', 'route', '10.244.9.0/26', 'all'], { allowFail: true }),
    };
  }

  it('graceful stop (SIGTERM) sends AdminDown: BIRD 2.0.12 with `bfd on` still resets hard; with `bfd graceful` it keeps our block as stale', async () => {
    // Interop fact: RFC 5882 §3.2 says a peer's AdminDown is no forwarding failure,
    // but BIRD 2.0.12 takes it (its log: "changed state from Up to Down", then
    // "BFD session down") as one and withdraws our routes at once.
    const hard = await stopAgentGracefully();
    expect(hard.protocols).toMatch(/Last error: +Error: BFD session down/);
    expect(hard.route).not.toContain('10.244.9.0/26');
    expect(agentLog()).toMatch(/"peer":"Global_10_97_0_3","from":"Up","to":"AdminDown"/);

    // `bfd graceful` (BIRD's option): a BFD down is handled as a graceful restart of the peer.
    birdB.reconfigure(birdConfig('10.97.0.3', B_ROUTES, true).replace('bfd on;', 'bfd graceful;'));
    spawnAgent();
    const soft = await stopAgentGracefully();
    expect(soft.route).toContain('10.244.9.0/26');
    expect(soft.protocols).toMatch(/Global_10_97_0_9 +BGP .* start /);
    spawnAgent();
  });
});
