/**
 * The benchmark's lab: two network namespaces joined by one veth pair, a real
 * etcd inside the speaker's namespace, and the two speakers under test started
 * the way they run in production:
 *
 *   bnsut    bns0 <SUT address>/16, tunl0 (a veth standing in for the IPIP
 *            device, with an address so onlink routes are accepted), lo with
 *            etcd on 127.0.0.1:<random port>; BIRD 2 or `agent run` here.
 *   bnpeers  bnp0 with one address per simulated node / feeder (10.77.x.y/16).
 *
 * The SUT's neighbour entries for every peer address are `nud permanent` (ARP
 * costs both sides the same and is not what is measured; permanent entries also
 * stay out of the host-wide gc_thresh3 of 1024).
 *
 * Every name starts with `bn`, so `sweep()` removes what a crashed run left.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, ip, sh } from './sh.js';
import { jsonLines, type JsonEvent } from '../json-lines.js';
import { cleanupSync, sleep, spawnTracked, stopChild, trackDir, trackNamespace, untrackNamespace } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench/lib -> repository root. */
export const REPO = join(here, '..', '..', '..');
/** The agent under test: the repository's build, or BENCH_AGENT_CLI (e.g. a build of a given commit). */
export const AGENT_CLI = process.env.BENCH_AGENT_CLI ?? join(REPO, 'dist', 'src', 'cli', 'main.js');
export const BENCH_DIST = join(here, '..');

export const SUT_NS = 'bnsut';
export const PEERS_NS = 'bnpeers';
export const AS = 64512;
export const SUBNET_LENGTH = 16;
export const NOFILE = 16384;

/** Simulated node / feeder i (0-based): 10.77.(1 + i/250).(1 + i%250). */
export function nodeAddress(i: number): string {
  return `10.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}
export const nodeName = (i: number): string => `bn-node-${i}`;
export const SUT_NAME = 'bn-sut';

export function delNamespace(name: string): void {
  // Processes still inside (a crashed run's) go first, or the namespace lingers.
  const pids = sh('ip', ['netns', 'pids', name], { allowFail: true }).split('\n').filter(Boolean);
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  ip(['netns', 'del', name], { allowFail: true });
}

/** Remove the namespaces and temp dirs an earlier, killed run left behind. */
export function sweep(): void {
  const list = sh('ip', ['netns', 'list'], { allowFail: true });
  for (const line of list.split('\n')) {
    const name = line.split(/\s+/)[0];
    if (name && /^bn(sut|peers)$/.test(name)) delNamespace(name);
  }
  for (const base of ['/dev/shm', '/tmp']) {
    try {
      for (const d of readdirSync(base)) if (d.startsWith('bn-bench-')) rmSync(join(base, d), { recursive: true, force: true });
    } catch {
      /* none */
    }
  }
}

let hooked = false;
export function installCleanupHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => cleanupSync(delNamespace));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`bench: ${sig}, cleaning up`);
      cleanupSync(delNamespace);
      process.exit(130);
    });
  }
}

export interface LabOptions {
  /** Peer addresses to create in bnpeers (node 0 .. n-1). */
  peers: number;
  sutAddress: string;
  /** Dual stack: the SUT also gets sutAddress6/64 and every peer nodeAddress6(i)/64 (no DAD, permanent neighbours). */
  sutAddress6?: string;
}

/** Simulated node / feeder i's IPv6 address in dual-stack scenarios (the same as feeders/workload.ts's feederAddress6). */
export function nodeAddress6(i: number): string {
  return `fd77::${(1 + Math.floor(i / 250)).toString(16)}:${(1 + (i % 250)).toString(16)}`;
}
export const SUBNET6_LENGTH = 64;

export class Lab {
  readonly sut = new Netns(SUT_NS);
  readonly peers = new Netns(PEERS_NS);
  readonly dir: string;
  etcdPort = 0;
  private etcd?: ChildProcess;

  private constructor(readonly opts: LabOptions) {
    this.dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'bn-bench-'));
    trackDir(this.dir);
  }

  get sutAddress(): string {
    return this.opts.sutAddress;
  }
  get etcdUrl(): string {
    return `http://127.0.0.1:${this.etcdPort}`;
  }

  static async create(opts: LabOptions): Promise<Lab> {
    const lab = new Lab(opts);
    lab.build();
    await lab.startEtcd();
    return lab;
  }

  private build(): void {
    for (const n of [SUT_NS, PEERS_NS]) {
      delNamespace(n);
      ip(['netns', 'add', n]);
      trackNamespace(n);
    }
    const { sut, peers } = this;
    sut.ip(['link', 'set', 'lo', 'up']);
    peers.ip(['link', 'set', 'lo', 'up']);
    sut.ip(['link', 'add', 'bns0', 'type', 'veth', 'peer', 'name', 'bnp0', 'netns', PEERS_NS]);
    sut.ip(['addr', 'add', `${this.sutAddress}/${SUBNET_LENGTH}`, 'dev', 'bns0']);
    // tunl0 stand-in: a veth whose other end stays in the same namespace.
    sut.ip(['link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'bntunp']);
    sut.ip(['addr', 'add', '10.78.0.1/32', 'dev', 'tunl0']);
    sut.ip(['link', 'set', 'bntunp', 'up']);
    sut.ip(['link', 'set', 'tunl0', 'up']);
    const n = this.opts.peers;
    const addrs = Array.from({ length: n }, (_, i) => `addr add ${nodeAddress(i)}/${SUBNET_LENGTH} dev bnp0`);
    if (n > 0) peers.ip(['-batch', '-'], { input: addrs.join('\n') + '\n' });
    const v6 = this.opts.sutAddress6;
    if (v6) {
      // nodad: usable at once (a tentative address cannot be bound, which would shift time zero).
      sut.ip(['addr', 'add', `${v6}/${SUBNET6_LENGTH}`, 'dev', 'bns0', 'nodad']);
      const addrs6 = Array.from({ length: n }, (_, i) => `addr add ${nodeAddress6(i)}/${SUBNET6_LENGTH} dev bnp0 nodad`);
      if (n > 0) peers.ip(['-batch', '-'], { input: addrs6.join('\n') + '\n' });
    }
    peers.ip(['link', 'set', 'bnp0', 'up']);
    sut.ip(['link', 'set', 'bns0', 'up']);
    const mac = /link\/ether ([0-9a-f:]+)/.exec(peers.ip(['link', 'show', 'bnp0']))?.[1];
    if (!mac) throw new Error('no MAC on bnp0');
    const neigh = Array.from({ length: n }, (_, i) => `neigh replace ${nodeAddress(i)} lladdr ${mac} dev bns0 nud permanent`);
    if (v6) neigh.push(...Array.from({ length: n }, (_, i) => `neigh replace ${nodeAddress6(i)} lladdr ${mac} dev bns0 nud permanent`));
    if (n > 0) sut.ip(['-batch', '-'], { input: neigh.join('\n') + '\n' });
  }

  private async startEtcd(): Promise<void> {
    const data = join(this.dir, 'etcd');
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = 20000 + Math.floor(Math.random() * 30000);
      const peerUrl = `http://127.0.0.1:${port + 1}`;
      const url = `http://127.0.0.1:${port}`;
      const log = createWriteStream(join(this.dir, 'etcd.log'));
      const proc = spawnTracked('ip', [
        'netns', 'exec', SUT_NS, 'etcd',
        '--name', 'bn', '--data-dir', data,
        '--listen-client-urls', url, '--advertise-client-urls', url,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `bn=${peerUrl}`, '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-level', 'warn',
      ]);
      proc.stdout?.pipe(log);
      proc.stderr?.pipe(log);
      this.etcd = proc;
      this.etcdPort = port;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && proc.exitCode === null) {
        try {
          this.sut.exec('etcdctl', [`--endpoints=${url}`, 'endpoint', 'health', '--command-timeout=1s']);
          return;
        } catch {
          await sleep(100);
        }
      }
      await stopChild(proc);
      rmSync(data, { recursive: true, force: true });
    }
    throw new Error(`etcd did not start (see ${join(this.dir, 'etcd.log')})`);
  }

  /** Start a long-running process in a namespace, killed by the cleanup whatever happens. */
  spawnIn(ns: 'sut' | 'peers', cmd: string, args: string[]): ChildProcess {
    return spawnTracked('ip', ['netns', 'exec', ns === 'sut' ? SUT_NS : PEERS_NS, cmd, ...args]);
  }

  /** Put key/values into etcd (transactions of 100), from inside the namespace. */
  async put(kvs: [string, string][]): Promise<void> {
    const file = join(this.dir, 'kvs.json');
    writeFileSync(file, JSON.stringify(kvs));
    const proc = this.spawnIn('sut', process.execPath, [join(BENCH_DIST, 'lib', 'etcd-writer.js'), this.etcdUrl, 'load', file]);
    const out = jsonLines(proc, '[etcd-writer] ');
    const code = await new Promise<number>((r) => proc.once('exit', (c) => r(c ?? 1)));
    if (code !== 0 || !out.some((e) => e.event === 'loaded')) throw new Error(`etcd-writer load failed (${code})`);
  }

  /** Remove every route of protocol bird in the SUT (between runs: both speakers leave theirs on exit). */
  flushRoutes(): void {
    this.sut.ip(['route', 'flush', 'proto', 'bird'], { allowFail: true });
    this.sut.ip(['route', 'flush', 'proto', 'bird'], { allowFail: true });
  }

  async destroy(): Promise<void> {
    await stopChild(this.etcd);
    for (const n of [SUT_NS, PEERS_NS]) {
      delNamespace(n);
      untrackNamespace(n);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- Calico resources

const V3 = 'projectcalico.org/v3';
const resKey = (plural: string, name: string): string => `/calico/resources/v3/projectcalico.org/${plural}/${name}`;
const resource = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): string =>
  JSON.stringify({ apiVersion: V3, kind, metadata: labels ? { name, labels } : { name }, spec });

export interface PoolSpec {
  name: string;
  cidr: string;
  ipipMode: 'Always' | 'CrossSubnet' | 'Never';
  /** Default 26 (IPv4); an IPv6 pool gives 122, Calico's IPv6 default. */
  blockSize?: number;
}

export interface ClusterSpec {
  mesh: boolean;
  sutAddress: string;
  /** The SUT is a route reflector (routeReflectorClusterID + label) and every node peers with it. */
  sutClusterId?: string;
  /** Simulated nodes 0..n-1 as Calico Nodes at nodeAddress(i). */
  nodes: number;
  pools: PoolSpec[];
  /** Blocks affine to the SUT (confirmed). */
  sutBlocks: string[];
  /** Blocks affine to simulated node i (etcd load only: the SUT reads only its own affinities). */
  nodeBlock?: (i: number) => string;
  /** Dual stack: the SUT's IPv6 address; every Node then also has spec.bgp.ipv6Address (nodeAddress6(i)), and bird6.cfg's part is rendered. */
  sutAddress6?: string;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

export function blockKv(node: string, cidr: string): [string, string][] {
  const id = cidr.replace('/', '-');
  const v = isV6(cidr) ? 'ipv6' : 'ipv4'; // libcalico-go's keys per family
  return [
    [`/calico/ipam/v2/assignment/${v}/block/${id}`, JSON.stringify({ cidr, affinity: `host:${node}`, strictAffinity: false, allocations: [], unallocated: [], attributes: [], deleted: false })],
    [`/calico/ipam/v2/host/${node}/${v}/block/${id}`, JSON.stringify({ state: 'confirmed', deleted: false })],
  ];
}

export function clusterKvs(c: ClusterSpec): [string, string][] {
  const kvs: [string, string][] = [];
  kvs.push([resKey('bgpconfigurations', 'default'), resource('BGPConfiguration', 'default', { logSeverityScreen: 'Info', nodeToNodeMeshEnabled: c.mesh, asNumber: AS })]);
  const sutBgp: Record<string, unknown> = { ipv4Address: `${c.sutAddress}/${SUBNET_LENGTH}`, ipv4IPIPTunnelAddr: '10.78.0.1' };
  if (c.sutClusterId) sutBgp.routeReflectorClusterID = c.sutClusterId;
  if (c.sutAddress6) sutBgp.ipv6Address = `${c.sutAddress6}/${SUBNET6_LENGTH}`;
  kvs.push([resKey('nodes', SUT_NAME), resource('Node', SUT_NAME, { bgp: sutBgp }, c.sutClusterId ? { 'route-reflector': 'true' } : undefined)]);
  for (let i = 0; i < c.nodes; i++) {
    const bgp: Record<string, unknown> = { ipv4Address: `${nodeAddress(i)}/${SUBNET_LENGTH}` };
    if (c.sutAddress6) bgp.ipv6Address = `${nodeAddress6(i)}/${SUBNET6_LENGTH}`;
    kvs.push([resKey('nodes', nodeName(i)), resource('Node', nodeName(i), { bgp })]);
    if (c.nodeBlock) kvs.push(...blockKv(nodeName(i), c.nodeBlock(i)));
  }
  for (const p of c.pools) {
    kvs.push([resKey('ippools', p.name), resource('IPPool', p.name, { cidr: p.cidr, ipipMode: p.ipipMode, vxlanMode: 'Never', natOutgoing: true, blockSize: p.blockSize ?? 26, nodeSelector: 'all()' })]);
  }
  if (c.sutClusterId) {
    kvs.push([resKey('bgppeers', 'peer-with-route-reflectors'), resource('BGPPeer', 'peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: 'has(route-reflector)' })]);
  }
  for (const b of c.sutBlocks) kvs.push(...blockKv(SUT_NAME, b));
  return kvs;
}

// ---------------------------------------------------------------- BIRD's configuration, as confd renders it

export interface BirdPeer {
  name: string;
  address: string;
  passive: boolean;
  rrClient: boolean;
}

/** The peers confd renders for the SUT from a ClusterSpec (mesh: passive to greater IPs as strings; rr: every node an rr client, both dial). */
export function birdPeers(c: ClusterSpec): BirdPeer[] {
  const out: BirdPeer[] = [];
  for (let i = 0; i < c.nodes; i++) {
    const a = nodeAddress(i);
    const id = a.replace(/\./g, '_');
    if (c.sutClusterId) out.push({ name: `Node_${id}`, address: a, passive: false, rrClient: true });
    else if (c.mesh) out.push({ name: `Mesh_${id}`, address: a, passive: a > c.sutAddress, rrClient: false });
  }
  return out;
}

/** One family's blocks and export filter, as confd renders them (`6`: bird6.cfg's names and an ipv6 channel). */
function blocksAndExport(f: '' | '6', staticName: string, blocks: string[], pools: PoolSpec[]): string[] {
  const L: string[] = [];
  if (blocks.length) {
    L.push(`protocol static${staticName} {`, f ? '  ipv6;' : '  ipv4;');
    for (const b of blocks) L.push(`  route ${b} blackhole;`);
    L.push('}');
  }
  L.push(`function calico_aggr${f}() {`);
  for (const b of blocks) L.push(`  if ( net = ${b} ) then { accept; }`, `  if ( net ~ ${b} ) then { reject; }`);
  L.push('}');
  L.push(`filter calico_export_to_bgp_peers${f} {`, `  calico_aggr${f}();`);
  for (const p of pools) L.push(`  if ( net ~ ${p.cidr} ) then { accept; }`);
  L.push('  reject;', '}');
  return L;
}

/** The kernel protocol of one family (`export none` unless `kernel`, the counterpart of --no-program-routes). */
function kernelProtocol(f: '' | '6', kernelName: string, kernel: boolean): string[] {
  const channel = f ? 'ipv6' : 'ipv4';
  return [
    `protocol kernel${kernelName} {`, '  learn;', '  persist;', '  scan time 2;', '  graceful restart;', '  merge paths on;', '  metric 0;', `  ${channel} {`, '    import all;',
    kernel ? `    export filter calico_kernel_programming${f};` : '    export none; # benchmark: the counterpart of agent run --no-program-routes',
    '  };', '}',
  ];
}

/** confd's bgp template of one family: multihop, gateway recursive, add paths, graceful restart and its timers. */
function bgpTemplate(f: '' | '6'): string[] {
  return [`template bgp bgp_template${f} {`, '  description "Connection to BGP peer";', `  local as ${AS};`, '  multihop;', `  ${f ? 'ipv6' : 'ipv4'} {`, '    gateway recursive;', '    import all;', `    export filter calico_export_to_bgp_peers${f};`, '    add paths on;', '  };', '  graceful restart;', '  connect delay time 2;', '  connect retry time 5;', '  error wait time 5,30;', '}'];
}

/**
 * calico-node's bird.cfg for the SUT (confd's templates in BIRD 2 syntax, as
 * src/lab/bird-config.ts renders them): static blackholes for its blocks,
 * calico_aggr, the kernel protocol (learn, persist, scan time 2, graceful
 * restart, merge paths, tunnel routes through tunl0 onlink), device, direct,
 * the bgp template (multihop, gateway recursive, add paths, graceful restart,
 * connect delay 2, retry 5, error wait 5,30). `kernel: false` makes the
 * kernel protocol `export none`, the counterpart of `agent run
 * --no-program-routes`. Logging: warnings and errors to a file (the agent
 * runs with --log-level warn).
 */
export function birdConfig(c: ClusterSpec, opts: { kernel: boolean; logFile: string }): string {
  const L: string[] = [];
  const sutBlocks = c.sutBlocks.filter((b) => !isV6(b));
  const pools = c.pools.filter((p) => !isV6(p.cidr));
  L.push(`log "${opts.logFile}" { warning, error, fatal };`);
  L.push(`router id ${c.sutAddress};`);
  L.push(...blocksAndExport('', '', sutBlocks, pools));
  L.push('filter calico_kernel_programming', 'ip nh;', '{');
  for (const p of pools) {
    L.push(`  if ( net ~ ${p.cidr} ) then {`, '    if ( dest = RTD_BLACKHOLE ) then accept;');
    if (p.ipipMode !== 'Never') L.push('    nh = gw; onlink = true; ifname = "tunl0"; gw = nh;');
    L.push('    accept;', '  }');
  }
  L.push('  accept;', '}');
  L.push(...kernelProtocol('', '', opts.kernel));
  L.push('protocol device { scan time 2; }');
  L.push('protocol direct {', '  ipv4;', '  interface -"cali*", -"kube-ipvs*", "*";', '}');
  L.push(...bgpTemplate(''));
  for (const p of birdPeers(c)) {
    L.push(`protocol bgp ${p.name} from bgp_template {`, `  neighbor ${p.address} as ${AS};`, `  source address ${c.sutAddress};`);
    if (p.passive) L.push('  passive on;');
    L.push('  graceful restart time 120;');
    if (p.rrClient) L.push('  rr client;', `  rr cluster id ${c.sutClusterId};`);
    L.push('}');
  }
  if (c.sutAddress6) L.push(...bird6Config(c, opts));
  return L.join('\n') + '\n';
}

/**
 * confd's bird6.cfg for the SUT in BIRD 2 syntax (one daemon, ipv6 channels
 * beside the ipv4 ones, as src/lab/dual-stack.ts renders it): static
 * blackholes for its IPv6 blocks, calico_aggr6, the IPv6 kernel protocol
 * (`export none` unless `kernel`), and a mesh session per node between IPv6
 * addresses (passive to greater addresses compared as strings).
 */
function bird6Config(c: ClusterSpec, opts: { kernel: boolean }): string[] {
  const self = c.sutAddress6!;
  const blocks = c.sutBlocks.filter(isV6);
  const pools = c.pools.filter((p) => isV6(p.cidr));
  const L: string[] = ['# ---- IPv6 (bird6.cfg) ----', ...blocksAndExport('6', ' static6', blocks, pools)];
  L.push('filter calico_kernel_programming6 {');
  for (const p of pools) L.push(`  if ( net ~ ${p.cidr} ) then { accept; }`);
  L.push('  reject;', '}');
  L.push(...kernelProtocol('6', ' kernel6', opts.kernel));
  L.push('protocol direct direct6 {', '  ipv6;', '  interface -"cali*", -"kube-ipvs*", "*";', '}');
  L.push(...bgpTemplate('6'));
  for (let i = 0; c.mesh && i < c.nodes; i++) {
    const a = nodeAddress6(i);
    L.push(`protocol bgp Mesh_${a.replace(/:/g, '_')} from bgp_template6 {`, `  neighbor ${a} as ${AS};`, `  source address ${self};`);
    if (a > self) L.push('  passive on;');
    L.push('  graceful restart time 120;', '}');
  }
  return L;
}

// ---------------------------------------------------------------- the speakers under test

export type Side = 'bird' | 'agent';

export interface SpeakerProc {
  side: Side;
  pid: number;
  proc: ChildProcess;
  dir: string;
  /** Rebuild and load BIRD's config (the confd step), or nothing for the agent. */
  stop(): Promise<void>;
}

function listening(ns: Netns): boolean {
  return ns.exec('ss', ['-ltnH', 'sport = :179'], { allowFail: true }).trim().length > 0;
}

async function until(what: string, ms: number, probe: () => boolean, proc?: ChildProcess, logPath?: string): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      const log = logPath && existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(-3000) : '';
      throw new Error(`${what}: the process exited\n${log}`);
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function agentStatus(dir: string): JsonEvent {
  const out = sh('ip', ['netns', 'exec', SUT_NS, process.execPath, AGENT_CLI, 'status', '--json', '--control-socket', join(dir, 'agent.ctl')]);
  return JSON.parse(out) as JsonEvent;
}

export interface AgentStartOptions {
  programRoutes: boolean;
  /** Wait until `agent status` lists this many peers (before any timed window). */
  peers: number;
  /** Dual stack: `--ip6 <address>/64` (calico-node's IP6), and the `peers` counted are IPv6 peers the agent has started. */
  ip6?: string;
  extraArgs?: string[];
}

export async function startAgent(lab: Lab, run: string, o: AgentStartOptions): Promise<SpeakerProc> {
  const dir = join(lab.dir, `agent-${run}`);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, 'agent.log');
  const log = createWriteStream(logPath);
  const args = [
    'netns', 'exec', SUT_NS, 'prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--',
    process.execPath, AGENT_CLI, 'run',
    '--node-name', SUT_NAME,
    '--ip', `${lab.sutAddress}/${SUBNET_LENGTH}`,
    '--etcd-endpoints', lab.etcdUrl,
    '--control-socket', join(dir, 'agent.ctl'),
    '--pid-file', join(dir, 'agent.pid'),
    '--log-level', 'warn',
    o.programRoutes ? '--program-routes' : '--no-program-routes',
    ...(o.ip6 ? ['--ip6', `${o.ip6}/${SUBNET6_LENGTH}`] : []),
    ...(o.extraArgs ?? []),
  ];
  const proc = spawnTracked('ip', args);
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  const s: SpeakerProc = { side: 'agent', pid: proc.pid!, proc, dir, stop: () => stopChild(proc, 'SIGKILL') };
  await until('agent listening on :179', 60_000, () => listening(lab.sut), proc, logPath);
  await until(`agent configured with ${o.peers} ${o.ip6 ? 'IPv6 ' : ''}peers`, 60_000, () => {
    try {
      const peers = (agentStatus(dir).peers as { address: string; lastError?: string }[]) ?? [];
      // An IPv6 peer is listed (refused) before the node's IPv6 address reaches the IPv6 RIB: count it once started.
      const counted = o.ip6 ? peers.filter((p) => p.address.includes(':') && !/^IPv6 peer not started/.test(p.lastError ?? '')) : peers;
      return counted.length >= o.peers;
    } catch {
      return false;
    }
  }, proc, logPath);
  return s;
}

export function birdc(dir: string, cmd: string): string {
  return sh('ip', ['netns', 'exec', SUT_NS, 'birdc', '-s', join(dir, 'bird.ctl'), ...cmd.split(' ')], { allowFail: true });
}

export async function startBird(lab: Lab, run: string, config: (logFile: string) => string): Promise<SpeakerProc> {
  const dir = join(lab.dir, `bird-${run}`);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, 'bird.log');
  writeFileSync(join(dir, 'bird.conf'), config(logPath));
  const out = createWriteStream(join(dir, 'bird.out'));
  const proc = spawnTracked('ip', ['netns', 'exec', SUT_NS, 'prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--', 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')]);
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const s: SpeakerProc = { side: 'bird', pid: proc.pid!, proc, dir, stop: () => stopChild(proc, 'SIGKILL') };
  await until('BIRD control socket', 60_000, () => existsSync(join(dir, 'bird.ctl')) && birdc(dir, 'show status').includes('Daemon is up'), proc, join(dir, 'bird.out'));
  await until('BIRD listening on :179', 60_000, () => listening(lab.sut), proc, join(dir, 'bird.out'));
  return s;
}

/** Paths and prefixes the speaker holds (read once, after the end). */
export function countPaths(s: SpeakerProc): { paths: number; prefixes: number } {
  if (s.side === 'bird') {
    // One line per table (master4, master6), then BIRD 2's "Total:" over all of them: dual stack needs the total.
    const out = birdc(s.dir, 'show route count');
    const m = /Total: (\d+) of (\d+) routes for (\d+) networks/.exec(out) ?? /(\d+) of (\d+) routes for (\d+) networks/.exec(out);
    return m ? { paths: Number(m[2]), prefixes: Number(m[3]) } : { paths: -1, prefixes: -1 };
  }
  const st = agentStatus(s.dir);
  const peers = (st.peers as { counters: { received: number } }[]) ?? [];
  const rib = st.rib as { prefixes?: number } | undefined;
  return { paths: peers.reduce((a, p) => a + (p.counters?.received ?? 0), 0), prefixes: rib?.prefixes ?? -1 };
}

export function versions(): Record<string, string> {
  const q = (cmd: string): string => {
    try {
      return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    bird: q('bird --version 2>&1'),
    agent: q(`${process.execPath} ${AGENT_CLI} --version`),
    node: process.version,
    etcd: q('etcd --version | head -1'),
    kernel: q('uname -r'),
  };
}
