/**
 * BGPFilter end to end (issue 21): real etcd, `agent run` on node-a and a
 * real BIRD 2 as an eBGP top-of-rack router (AS 65100) reached through a
 * global BGPPeer whose `spec.filters` names BGPFilter/tor-policy, in network
 * namespaces (prefix `h3f`).
 *
 * - an exportV4 Reject keeps node-a's block 10.245.1.0/26 from the ToR while
 *   its other block passes (`birdc show route`), with the community and
 *   AS an Accept rule's operations add;
 * - an importV4 Reject keeps the ToR's 192.0.2.0/25 out of node-a's kernel
 *   while its 198.51.100.0/24 is programmed (`ip route`), and
 *   `agent routes --received` names the rule;
 * - editing the filter in etcd applies live: the block appears at the ToR
 *   and the prefix in the kernel, with no session reset (BIRD's protocol
 *   stays Established with the same "since", and so does the agent's).
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

const PREFIX = 'h3f';

if (!canUseNetns()) throw new Error('the BGPFilter end-to-end test needs root (network namespaces)');

/** The ToR: two prefixes of its own, an eBGP session to node-a. */
const TOR_CONFIG = `
router id 10.98.3.254;
log stderr all;
protocol device { scan time 2; }
protocol static tor_nets {
  ipv4 { export all; };
  route 192.0.2.0/25 blackhole;
  route 198.51.100.0/24 blackhole;
}
protocol bgp node_a {
  local 10.98.3.254 as 65100;
  neighbor 10.98.3.9 as 64512;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import all; export all; };
}
`;

const peerYaml = `---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: tor }
spec: { peerIP: 10.98.3.254, asNumber: 65100, filters: [tor-policy] }
`;

function filterYaml(exportRules: string, importRules: string): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: { name: tor-policy }
spec:
  exportV4: ${exportRules}
  importV4: ${importRules}
`;
}

const STRICT = filterYaml(
  `[{ action: Reject, matchOperator: Equal, cidr: 10.245.1.0/26 },
    { action: Accept, matchOperator: Equal, cidr: 10.245.2.0/26, operations: [{ addCommunity: { value: "65000:100" } }, { prependASPath: { prefix: [65000] } }] }]`,
  '[{ action: Reject, matchOperator: In, cidr: 192.0.2.0/24 }]',
);
// The edit: the block's rule names another block, the import rule another range.
const RELAXED = filterYaml(
  '[{ action: Reject, matchOperator: Equal, cidr: 10.245.7.0/26 }]',
  '[{ action: Reject, matchOperator: In, cidr: 203.0.113.0/24 }]',
);

describe('agent run: BGPFilter on a global BGPPeer to an eBGP ToR (BIRD 2)', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'h3f-'));
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let bird: Bird | undefined;
  let a: Netns;
  let url = '';

  const torSession = (): { state: string; since: string } => bird!.protocolState('node_a');
  const kernel = (): string => a.routes('bird').join('\n');

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.98.3.100/24' });
    a = bed.addHost('a', { address: '10.98.3.9/24' });
    const tor = bed.addHost('tor', { address: '10.98.3.254/24' });
    url = `http://10.98.3.100:${await freePort()}`;
    etcd = await startEtcdIn(e, tmp, url, 'h3f');
    datastoreApply(
      a,
      url,
      meshWithPoolYaml('10.245.0.0/16') + nodeYaml('node-a', '10.98.3.9/24') + affinityYaml('node-a', '10.245.1.0/26') + affinityYaml('node-a', '10.245.2.0/26') + STRICT + peerYaml,
    );
    bird = new Bird(tor, TOR_CONFIG, 'h3f-bird-');
    await bird.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.98.3.9/24', etcdEndpoints: url, socket: join(tmp, 'agent.ctl') });
    agent.start();
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await bird?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('export Reject keeps one block from the ToR, import Reject keeps a ToR prefix out of the kernel', async () => {
    await bird!.waitFor('show route protocol node_a', (out) => out.includes('10.245.2.0/26'), 60_000);
    await agent.until('198.51.100.0/24 in the kernel', () => /198\.51\.100\.0\/24 via 10\.98\.3\.254 dev eth0/.test(kernel()));
    const atTor = bird!.birdc('show route protocol node_a');
    expect(atTor).toContain('10.245.2.0/26');
    expect(atTor).not.toContain('10.245.1.0/26');
    expect(kernel()).not.toContain('192.0.2.0');
    // The agent kept the rejected path (Adj-RIB-In) and says which rule rejected it.
    const received = agent.cli(['routes', '--received', '10.98.3.254']);
    expect(received).toMatch(/192\.0\.2\.0\/25 .*\(filtered by BGPFilter\/tor-policy importV4\[0\] Reject\)/);
    expect(received).toMatch(/198\.51\.100\.0\/24 /);
    expect(received).not.toMatch(/198\.51\.100\.0\/24 .*filtered/);
    expect(agent.cli(['routes', '10.245.1.0/26'])).toMatch(/export to Global_10_98_3_254: BGPFilter\/tor-policy exportV4\[0\] Reject/);
    // The Accept rule's operations: community added, 65000 after our AS (BIRD prepends ours after the filter).
    const all = bird!.birdc('show route 10.245.2.0/26 all');
    expect(all).toMatch(/BGP\.as_path: 64512 65000\s*\n/);
    expect(all).toMatch(/BGP\.community: \(65000,100\)/);
    expect(torSession().state).toMatch(/Established/);
    expect(agent.cli(['peers', '10.98.3.254'])).toMatch(/BGPFilters: +tor-policy /);
  }, 90_000);

  it('a filter edit in etcd applies live, without resetting the session', async () => {
    const before = torSession();
    const agentSince = agent.status().peers.find((p) => p.address === '10.98.3.254')?.since;
    expect(before.state).toMatch(/Established/);
    // BIRD's "since" has one-second resolution: let a second pass so a reset would show.
    await new Promise((r) => setTimeout(r, 1100));
    datastoreApply(a, url, RELAXED);
    await bird!.waitFor('show route protocol node_a', (out) => out.includes('10.245.1.0/26') && out.includes('10.245.2.0/26'), 30_000);
    await agent.until('192.0.2.0/25 in the kernel', () => /192\.0\.2\.0\/25 via 10\.98\.3\.254 dev eth0/.test(kernel()), 30_000);
    const after = torSession();
    expect(after).toEqual(before);
    expect(agent.status().peers.find((p) => p.address === '10.98.3.254')?.since).toBe(agentSince);
    expect(agent.cli(['routes', '--received', '10.98.3.254'])).not.toContain('filtered');
    // The relaxed filter has no operations: the block goes out with Calico's default attributes again.
    await bird!.waitFor('show route 10.245.2.0/26 all', (out) => /BGP\.as_path: 64512\s*\n/.test(out) && !out.includes('BGP.community'), 30_000);
    // And back: the block is withdrawn from the ToR, the prefix leaves the kernel, the session stays.
    datastoreApply(a, url, STRICT);
    await bird!.waitFor('show route protocol node_a', (out) => !out.includes('10.245.1.0/26') && out.includes('10.245.2.0/26'), 30_000);
    await agent.until('192.0.2.0/25 gone from the kernel', () => !kernel().includes('192.0.2.0'), 30_000);
    expect(torSession()).toEqual(before);
  }, 90_000);

  it('a bad edit is a status problem naming BGPFilter/tor-policy and the field; the last good version stays in force', async () => {
    datastoreApply(a, url, '---\napiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: { name: tor-policy }\nspec: { exportV4: [] }\n');
    // Written behind calicoctl's back (etcdctl), as a newer or broken client could: an operator the API lacks.
    const key = '/calico/resources/v3/projectcalico.org/bgpfilters/tor-policy';
    const bad = JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name: 'tor-policy' }, spec: { exportV4: [{ action: 'Reject', matchOperator: 'Within', cidr: '10.245.2.0/26' }] } });
    await bird!.waitFor('show route protocol node_a', (out) => out.includes('10.245.1.0/26'), 30_000);
    a.exec('etcdctl', ['--endpoints', url, 'put', key, bad]);
    const line = await agent.until('the skipped filter in agent status', () => agent.cli(['status']).split('\n').find((l) => l.includes('bad resource skipped: BGPFilter/tor-policy')));
    expect(line).toMatch(/spec\.exportV4\[0\]\.matchOperator: "Within" is not one of Equal, NotEqual, In, NotIn/);
    // The empty version (no export rules) is still the one in force: both blocks stay at the ToR.
    await new Promise((r) => setTimeout(r, 1000));
    const atTor = bird!.birdc('show route protocol node_a');
    expect(atTor).toContain('10.245.1.0/26');
    expect(atTor).toContain('10.245.2.0/26');
  }, 60_000);
});
