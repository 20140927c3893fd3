/**
 * The agent with TCP MD5 passwords from a Secret mounted the kubelet's way
 * (issue 20), against BIRD 2 in namespaces `md5a1` / `md5a2`: the datastore
 * is a fake that hands over desired peers (a mesh session whose password is
 * BGPConfiguration nodeMeshPassword's secretKeyRef, and a global peer
 * without password), the secrets directory a temp dir written with the
 * kubelet's atomic `..data` swap.
 *
 * - the key missing: as calico-node's confd renders it, the session runs
 *   without a password (BIRD, which has one, drops it); the peer is listed
 *   with a reason naming the peer, the secret and the key, and a status
 *   problem says the same; the agent and the other session run on;
 * - the key written: the session comes up without an agent restart;
 * - the value changed (and BIRD's `password` with it): only that session
 *   resets and comes back; the session without password is untouched;
 * - a value BIRD does not share: not Established, and the status says why in
 *   words about the password (the kernel's TCPMD5* counters).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type DatastorePort } from '../../../src/agent/agent.js';
import type { AgentConfig } from '../../../src/agent/config.js';
import { silentLogger } from '../../../src/agent/logger.js';
import type { PeerSnapshot } from '../../../src/agent/snapshot.js';
import type { DesiredState, DesiredStateDiff, PeerConfig } from '../../../src/contracts.js';
import { diffDesired } from '../../../src/datastore/desired-state.js';
import { Bird } from '../../../src/testbed/bird.js';
import { canUseNetns, ip, sh, Testbed, type Netns } from '../../../src/testbed/netns.js';
import { until } from '../../helpers/wait.js';

const PREFIX = 'md5a';
const OURS = '172.31.221.1';
const B1 = '172.31.221.2';
const B2 = '172.31.221.3';

function hasBird(): boolean {
  try {
    sh('bird', ['--version']);
    return true;
  } catch {
    return false;
  }
}
const ready = canUseNetns() && hasBird();
if (!ready && process.env.CI === 'true') throw new Error('the agent MD5 test needs root and the bird2 package in CI');

class OneShotDatastore implements DatastorePort {
  private fn?: (diff: DesiredStateDiff, state: DesiredState) => void;
  private last?: DesiredState;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onDiff(fn: (diff: DesiredStateDiff, state: DesiredState) => void): void {
    this.fn = fn;
  }
  status() {
    return { connected: true, since: 0, synced: this.last !== undefined, revision: 1, skipped: [] };
  }
  emit(next: DesiredState): void {
    const diff = diffDesired(this.last, next);
    this.last = next;
    this.fn?.(diff, next);
  }
}

function birdConfig(self: string, ourPort: number, password?: string): string {
  return `
router id ${self};
log stderr all;
protocol device { scan time 2; }
protocol static { ipv4; route 10.9.${self.split('.')[3]}.0/26 blackhole; }
protocol bgp peer_agent {
  local ${self} as 64512;
  neighbor ${OURS} port ${ourPort} as 64512;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; add paths on; gateway recursive; };
  graceful restart on;
  connect delay time 1;
  connect retry time 2;
  error wait time 1,2;
  ${password !== undefined ? `password "${password}";` : ''}
}
`;
}

let generation = 0;
/** The kubelet's AtomicWriter: a new timestamped dir, `..data` renamed over, `<key> -> ..data/<key>`. */
function mountSecret(dir: string, name: string, data: Record<string, string>): void {
  const secret = join(dir, name);
  mkdirSync(secret, { recursive: true });
  const ts = `..2026_12_03_00_00_${String(generation++).padStart(2, '0')}.1`;
  mkdirSync(join(secret, ts));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(secret, ts, k), v);
  symlinkSync(ts, join(secret, '..data_tmp'));
  renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
  for (const k of Object.keys(data)) {
    try {
      symlinkSync(join('..data', k), join(secret, k));
    } catch {
      /* link from an earlier generation */
    }
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, OURS, () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const MESH = `Mesh_${B1.replace(/\./g, '_')}`;
const GLOBAL = `Global_${B2.replace(/\./g, '_')}`;

describe.skipIf(!ready)('agent: TCP MD5 passwords from mounted Secrets, with BIRD 2', () => {
  let bed: Testbed;
  let ns1: Netns;
  let ns2: Netns;
  let dir: string;
  let secrets: string;
  let agent: Agent;
  let port: number;
  const birds: Bird[] = [];

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    bed = new Testbed(PREFIX);
    ns1 = bed.addHost('1', { address: `${B1}/24` });
    ns2 = bed.addHost('2', { address: `${B2}/24` });
    ip(['addr', 'add', `${OURS}/24`, 'dev', bed.ensureBridge()]);
    dir = mkdtempSync(join(tmpdir(), 'md5-agent-'));
    secrets = join(dir, 'bgp-secrets');
    mkdirSync(secrets);
    mountSecret(secrets, 'bgp-passwords', { other: 'x' }); // the secret is there, the key not yet
    port = await freePort();
    const ds = new OneShotDatastore();
    const config: AgentConfig = {
      nodeName: 'node-a', etcd: { endpoints: ['http://127.0.0.1:1'] }, controlSocket: join(dir, 'agent.ctl'), logLevel: 'info',
      metricsHost: '127.0.0.1', programRoutes: false, listenPort: port, readyGracePeriod: 0, restartHoldTime: 0,
      registerNode: false, peerPasswords: {}, manageTunnel: false, tunnelMtu: 1440, secretsDir: secrets,
    };
    agent = new Agent(config, { logger: silentLogger, datastore: ds });
    await agent.start();
    const base = { port: 179, asNumber: 64512, passive: true, keepOriginalNextHop: false, restartTime: 120 };
    const peers: PeerConfig[] = [
      // nodeMeshPassword's secretKeyRef, as desired-state.ts puts it on every mesh session.
      { ...base, name: MESH, type: 'node-to-node mesh', address: B1, sourceAddress: OURS, passwordSecret: { name: 'bgp-passwords', key: 'mesh' } },
      { ...base, name: GLOBAL, type: 'global', address: B2, sourceAddress: OURS },
    ];
    ds.emit({
      node: { name: 'node-a', ipv4: OURS, ipv4PrefixLen: 24, asNumber: 64512, routerId: OURS },
      bgp: { nodeToNodeMeshEnabled: true, listenPort: port, prefixAdvertisements: [] },
      peers: new Map(peers.map((p) => [`${p.address}:179`, p])),
      blocks: new Map(),
      pools: new Map(),
    });
    for (const [ns, self, pw] of [[ns1, B1, 'mesh-one'], [ns2, B2, undefined]] as const) {
      const bird = new Bird(ns, birdConfig(self, port, pw), 'md5a-bird-');
      birds.push(bird);
      await bird.start();
    }
  }, 60_000);

  afterAll(async () => {
    await agent?.stop({ graceful: false });
    for (const b of birds) await b.cleanup();
    bed?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const peerSnap = (name: string): PeerSnapshot => agent.snapshot().peers.find((p) => p.name === name)!;

  it('key missing: as confd, the mesh session runs without a password, so BIRD drops it; listed with peer, secret and key named', async () => {
    await until('global peer Established', () => peerSnap(GLOBAL)?.bgpState === 'Established', 30_000);
    // BIRD's signed SYNs reach a listener without a key for it: the kernel counts them.
    await until('the TCPMD5Unexpected evidence', () => /TCPMD5Unexpected/.test(peerSnap(MESH).lastError ?? ''), 15_000);
    const mesh = peerSnap(MESH);
    expect(mesh.bgpState).not.toBe('Established');
    expect(mesh.lastError).toMatch(new RegExp(`^peer ${MESH} \\(${B1.replace(/\./g, '\\.')}\\).*secret "bgp-passwords" key "mesh".*has no key.*peering without a password`));
    const problems = agent.snapshot().datastore.problems ?? [];
    expect(problems).toEqual([expect.objectContaining({ key: 'secret bgp-passwords key mesh', peer: MESH })]);
  });

  it('key written: the session comes up without a restart', async () => {
    const globalSince = peerSnap(GLOBAL).since;
    mountSecret(secrets, 'bgp-passwords', { other: 'x', mesh: 'mesh-one' });
    await until('mesh Established', () => peerSnap(MESH).bgpState === 'Established', 30_000);
    expect(agent.snapshot().datastore.problems ?? []).toEqual([]);
    expect(peerSnap(GLOBAL)).toMatchObject({ bgpState: 'Established', since: globalSince });
    expect(JSON.stringify(agent.snapshot())).not.toContain('mesh-one');
  });

  it('value changed in the secret (and in BIRD): only that session resets and comes back', async () => {
    const meshSince = peerSnap(MESH).since;
    const globalSince = peerSnap(GLOBAL).since;
    birds[0].reconfigure(birdConfig(B1, port, 'mesh-two'));
    mountSecret(secrets, 'bgp-passwords', { other: 'x', mesh: 'mesh-two' });
    await until('mesh reset and back', () => peerSnap(MESH).since > meshSince && peerSnap(MESH).bgpState === 'Established', 30_000);
    expect(peerSnap(GLOBAL)).toMatchObject({ bgpState: 'Established', since: globalSince });
  });

  it('a value BIRD does not share: not Established, and the status says why in words about the password', async () => {
    const globalSince = peerSnap(GLOBAL).since;
    mountSecret(secrets, 'bgp-passwords', { other: 'x', mesh: 'not-what-bird-has' });
    await until('mesh down', () => peerSnap(MESH).bgpState !== 'Established', 15_000);
    await until('reason mentions the password check', () => /TCPMD5Failure/.test(peerSnap(MESH).lastError ?? ''), 20_000);
    expect(peerSnap(MESH).lastError).toMatch(/TCPMD5Failure\): the password differs/);
    await new Promise((r) => setTimeout(r, 3000));
    expect(peerSnap(MESH).bgpState).not.toBe('Established');
    expect(peerSnap(GLOBAL)).toMatchObject({ bgpState: 'Established', since: globalSince });
  });
});
