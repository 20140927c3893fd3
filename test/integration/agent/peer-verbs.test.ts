/**
 * The birdc / gobgp verbs of issue 23 against a real `agent run`, a real etcd
 * and a real BIRD 2 peer in network namespaces. BIRD (10.93.0.3) is a global
 * BGPPeer named `tor-b`, passive, so every connection is the agent's:
 * - `agent peers reset tor-b --soft`: BIRD logs the ROUTE-REFRESH it got and
 *   sends its routes again (the agent's UPDATE count grows), and counts our
 *   re-advertised route, while the session stays up on both sides;
 * - `agent peers reset <session>`: BIRD records "Received: Administrative
 *   reset" (Cease 4), goes down, and the session comes back;
 * - `agent peers disable <address>`: BIRD records "Administrative shutdown"
 *   (Cease 2); the session stays down past BIRD's and the agent's retry
 *   timers and a datastore change that re-creates the peer; status shows it
 *   disabled by the operator; `agent peers enable` brings it back.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { freePort } from '../../../src/testbed/etcd.js';
import { Testbed, canUseNetns, type Netns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { affinityYaml, meshWithPoolYaml, nodeYaml, startEtcdIn } from '../../helpers/calico.js';

const PREFIX = 'h1pv';
const SESSION = 'Global_10_93_0_3';

if (!canUseNetns()) throw new Error('peer-verbs integration test needs root (network namespaces)');

const birdConfig = `
router id 10.93.0.3;
log stderr all;
protocol device { scan time 2; }
protocol static blocks {
  ipv4 { export all; };
  route 10.244.3.0/26 blackhole;
}
protocol bgp tor_a {
  local 10.93.0.3 as 64512;
  neighbor 10.93.0.9 as 64512;
  passive on;
  debug { states, events, packets };
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import all; export all; next hop self; };
}
`;

const bgpPeer = (keepalive?: number) => `
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: tor-b }
spec: { peerIP: 10.93.0.3, asNumber: 64512${keepalive ? `, keepaliveTime: ${keepalive}s` : ''} }
`;

const resources = meshWithPoolYaml('10.244.0.0/16', { mesh: false }) + nodeYaml('node-a', '10.93.0.9/24') + affinityYaml('node-a', '10.244.9.0/26') + '---' + bgpPeer();

interface JsonPeer {
  name: string;
  address: string;
  state: string;
  bgpState: string;
  since: string;
  info: string;
  disabled: boolean;
  bgpPeer?: string;
  counters: { updatesIn: number };
  prefixes: { received: number };
}

describe('agent peers reset / disable / enable against BIRD', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'h1-verbs-'));
  let etcd: ChildProcess | undefined;
  let bird: Bird;
  let a: Netns;
  let agent: AgentProcess;
  let etcdUrl = '';

  const peer = (): JsonPeer => (JSON.parse(agent.cli(['peers', 'tor-b', '--json'])) as JsonPeer[])[0];
  /** BIRD's one-line view of the session: `tor_a BGP --- up 18:40:02.123 Established`. */
  const birdLine = (): string => bird.birdc('show protocols tor_a').split('\n').find((l) => l.startsWith('tor_a')) ?? '';
  const birdAll = (): string => bird.birdc('show protocols all tor_a');
  const birdImported = (): number => Number(/Import updates:\s+(\d+)/.exec(birdAll())?.[1] ?? NaN);

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const etcdNs = bed.addHost('etcd', { address: '10.93.0.100/24' });
    a = bed.addHost('a', { address: '10.93.0.9/24' });
    const b = bed.addHost('b', { address: '10.93.0.3/24' });
    etcdUrl = `http://10.93.0.100:${await freePort()}`;
    etcd = await startEtcdIn(etcdNs, tmp, etcdUrl, 'h1pv');
    datastoreApply(a, etcdUrl, resources);
    bird = new Bird(b, birdConfig, 'h1-bird-');
    await bird.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.93.0.9/24', etcdEndpoints: etcdUrl, socket: join(tmp, 'agent.ctl') });
    agent.start(['--no-program-routes']);
    await agent.until('session up with BIRD, its route received', () => {
      const p = peer();
      return p.bgpState === 'Established' && p.prefixes.received === 1;
    });
    await bird.waitFor('show route 10.244.9.0/26', (out) => out.includes('10.93.0.9'));
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await bird?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the session by BGPPeer name, address and session name', () => {
    expect(peer()).toMatchObject({ name: SESSION, bgpPeer: 'tor-b', state: 'up', disabled: false });
    expect(agent.cli(['peers', '10.93.0.3'])).toMatch(/^Global_10_93_0_3 +BGP +up /);
    expect(agent.cli(['peers', SESSION])).toMatch(/BGPPeer: +tor-b/);
  });

  it('soft reset: BIRD gets a ROUTE-REFRESH and re-sends its routes, ours go out again, no session flap', async () => {
    const before = peer();
    const birdBefore = birdLine();
    const importedBefore = birdImported();
    expect(birdBefore).toMatch(/ up .*Established/);
    expect(agent.cli(['peers', 'reset', 'tor-b', '--soft'])).toBe(`${SESSION}: ROUTE-REFRESH sent; 1 route(s) re-advertised; session kept\n`);
    await agent.until('BIRD logged the ROUTE-REFRESH', () => /tor_a: Got ROUTE-REFRESH/.test(bird.log), 15_000, { context: () => bird.log.slice(-2000) });
    await agent.until('BIRD re-sent its routes (the agent got UPDATEs again)', () => peer().counters.updatesIn > before.counters.updatesIn, 15_000);
    await bird.waitFor('show protocols all tor_a', () => birdImported() > importedBefore, 15_000);
    const after = peer();
    expect(after).toMatchObject({ bgpState: 'Established', since: before.since, prefixes: { received: 1 } });
    expect(birdLine()).toBe(birdBefore); // same state, same since: BIRD saw no flap
  }, 60_000);

  it('hard reset: Cease 4, BIRD sees the session go down (Administrative reset) and come back', async () => {
    const before = peer();
    expect(agent.cli(['peers', 'reset', SESSION])).toBe(`${SESSION}: reset (Cease 4, Administrative Reset); reconnecting\n`);
    await bird.waitFor('show protocols tor_a', (out) => /tor_a/.test(out) && !/Established/.test(out), 10_000);
    expect(birdAll()).toMatch(/Received: Administrative reset/);
    await bird.waitFor('show protocols tor_a', (out) => / up .*Established/.test(out), 40_000);
    await agent.until('Established again, route re-learned', () => {
      const p = peer();
      return p.bgpState === 'Established' && p.prefixes.received === 1 && p.since !== before.since;
    });
  }, 90_000);

  it('disable: Cease 2, down past every retry timer and a datastore change, shown as disabled; enable brings it back', async () => {
    expect(agent.cli(['peers', 'disable', '10.93.0.3'])).toBe(
      `${SESSION}: disabled (Cease 2, Administrative Shutdown); stays down until \`agent peers enable\`\n`,
    );
    await bird.waitFor('show protocols tor_a', (out) => /tor_a/.test(out) && !/Established/.test(out), 10_000);
    expect(birdAll()).toMatch(/Received: Administrative shutdown/);
    // The BGPPeer changes (a changed peer is a new session in the agent) while disabled.
    datastoreApply(a, etcdUrl, bgpPeer(30));
    // Past BIRD's error wait (5 s) and the agent's connect retry (5 s), twice over.
    await new Promise((r) => setTimeout(r, 12_000));
    expect(birdLine()).not.toMatch(/Established/);
    expect(peer()).toMatchObject({ state: 'down', bgpState: 'Idle', disabled: true, info: 'Idle Disabled by the operator' });
    const status = agent.cli(['status']);
    expect(status).toMatch(/\| 10\.93\.0\.3 +\| global +\| down +\| [\d:-]+ +\| Idle Disabled by the operator +\|/);
    expect(status).toMatch(/- peer 10\.93\.0\.3 \(Global_10_93_0_3\) disabled by the operator since/);
    expect(agent.cli(['ready'])).toMatch(/ok +bgp: 0 peer\(s\) Established; 1 disabled by the operator: 10\.93\.0\.3/);

    expect(agent.cli(['peers', 'enable', 'tor-b'])).toBe(`${SESSION}: enabled; connecting\n`);
    await bird.waitFor('show protocols tor_a', (out) => / up .*Established/.test(out), 40_000);
    await agent.until('Established after enable', () => {
      const p = peer();
      return p.bgpState === 'Established' && !p.disabled && p.prefixes.received === 1;
    });
  }, 120_000);
});
