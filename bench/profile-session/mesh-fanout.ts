/**
 * `agent run` in an N-node Calico mesh, configured through etcd, measured
 * from outside: bring-up, memory per session, and fan-out latency of an etcd
 * affinity write to every peer.
 *
 * Runs inside one network namespace (mesh-fanout.sh creates it): etcd on
 * 127.0.0.1, 10.78.0.0/16 made local on lo (`ip route add local`), the agent
 * as node `ps-agent` with IP 10.78.0.1, and N simulated Calico nodes in this
 * process, 10.78.1.1 .. (all greater than the agent's IP as strings, so the
 * agent is `passive on` to every one of them and they dial, as calico-node's
 * BIRD does). Each simulated node opens like calico-node's BIRD (multiprotocol,
 * route-refresh, graceful restart 120 s, AS4, ADD-PATH send/receive), sends its
 * /26 once Established, and answers KEEPALIVEs.
 *
 * Fan-out: C affinity keys `/calico/ipam/v2/host/ps-agent/ipv4/block/...`
 * written at R per second; every simulated node records when the block's
 * UPDATE arrives. Latency = arrival - (time just before the etcd put), same
 * process clock. Reported per change: first and last peer, and every (change,
 * peer) pair, p50 / p99.
 *
 * The agent's CPU is read from /proc/<pid>/stat, RSS and peak from
 * /proc/<pid>/status. Optionally (PS_ELD=1) a preload in the agent prints its
 * event-loop delay max each second (eld-preload.mjs).
 *
 * --mode rr: the mesh is off and the agent is a route reflector (cluster id
 * 224.0.0.1, label route-reflector=true), every node peers with it through
 * one BGPPeer {nodeSelector: all(), peerSelector: route-reflector == 'true'}
 * (the agent peers back by reverse peering, as a client: `rr client`). The
 * simulated nodes only dial; the agent's own dials to them are refused. Bring-up
 * ends when every client holds every other client's block (reflected) and
 * End-of-RIB.
 *
 * Usage: mesh-fanout.sh <dist> [--mode mesh|rr] [--nodes 1000] [--changes 200] [--rate 50] [--json out.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import { decodeMessage, encodeMessage, Framer, KEEPALIVE_BYTES, negotiate } from '../../src/bgp/codec/index.js';
import { DEFAULT_CONTEXT, type DecodeContext, type OpenMessage } from '../../src/bgp/codec/types.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const dist = resolve(process.argv[2]);
const N = Number(flag('nodes', '1000'));
const CHANGES = Number(flag('changes', '200'));
const RATE = Number(flag('rate', '50'));
const jsonOut = flag('json', '');
const RR = flag('mode', 'mesh') === 'rr';
const agentFlags = flag('node-flags', '').split(' ').filter(Boolean);
const ETCD_PORT = Number(flag('etcd-port', '23911'));
const AGENT_IP = '10.78.0.1';
const AS = 64512;

const mono = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodeIp = (i: number): string => `10.78.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
/** The simulated node's own block: 100.64.0.0 + 64 i, /26 (prefix key = address * 64 + length, see src/bgp/prefix.ts). */
const nodeBlock = (i: number): number => (0x64400000 + 64 * i) * 64 + 26;
/** Change c's block on the agent's host: 10.201.0.0 + 64 c. */
const changeCidr = (c: number): string => {
  const a = 0x0ac90000 + 64 * c;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
};
const changeIndexOfKey = (key: number): number => {
  const addr = Math.floor(key / 64);
  return (addr - 0x0ac90000) / 64;
};

const children: ChildProcess[] = [];
const tmp = mkdtempSync('/dev/shm/psmesh.');
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// ---------------------------------------------------------------- etcd

const etcd = spawn(
  'etcd',
  [
    '--data-dir', join(tmp, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${ETCD_PORT}`, '--advertise-client-urls', `http://127.0.0.1:${ETCD_PORT}`,
    '--listen-peer-urls', `http://127.0.0.1:${ETCD_PORT + 1}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${ETCD_PORT + 1}`,
    '--initial-cluster', `default=http://127.0.0.1:${ETCD_PORT + 1}`, '--log-level', 'error',
  ],
  { stdio: 'ignore' },
);
children.push(etcd);
const client = new Etcd3({ hosts: `http://127.0.0.1:${ETCD_PORT}` });
for (let i = 0; ; i++) {
  try {
    await client.get('health').string();
    break;
  } catch {
    if (i > 100) throw new Error('etcd did not start');
    await sleep(100);
  }
}
const R = '/calico/resources/v3/projectcalico.org';
const res = (kind: string, name: string, spec: unknown) => JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
const kvs: [string, string][] = [
  [`${R}/bgpconfigurations/default`, res('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: !RR, asNumber: AS })],
  [`${R}/ippools/default-ipv4-ippool`, res('IPPool', 'default-ipv4-ippool', { cidr: '10.201.0.0/16', ipipMode: 'Always', blockSize: 26 })],
  // The nodes' own blocks: a reflector passes on only routes inside a pool (Calico's export filter).
  [`${R}/ippools/nodes-ippool`, res('IPPool', 'nodes-ippool', { cidr: '100.64.0.0/16', ipipMode: 'Always', blockSize: 26 })],
  [
    `${R}/nodes/ps-agent`,
    RR
      ? JSON.stringify({
          apiVersion: 'projectcalico.org/v3',
          kind: 'Node',
          metadata: { name: 'ps-agent', labels: { 'route-reflector': 'true' } },
          spec: { bgp: { ipv4Address: `${AGENT_IP}/16`, routeReflectorClusterID: '224.0.0.1' } },
        })
      : res('Node', 'ps-agent', { bgp: { ipv4Address: `${AGENT_IP}/16` } }),
  ],
];
if (RR) kvs.push([`${R}/bgppeers/peer-with-rr`, res('BGPPeer', 'peer-with-rr', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })]);
for (let i = 0; i < N; i++) kvs.push([`${R}/nodes/ps-n${i}`, res('Node', `ps-n${i}`, { bgp: { ipv4Address: `${nodeIp(i)}/16` } })]);
for (let i = 0; i < kvs.length; i += 100) {
  const ops = kvs.slice(i, i + 100).map(([k, v]) => client.put(k).value(v));
  await client.if(kvs[i][0], 'Version', '>', -1).then(...ops).else(...ops).commit();
}

// ---------------------------------------------------------------- agent

const agent = spawn(
  process.execPath,
  [...agentFlags, join(dist, 'src/cli/main.js'), 'run', '--no-program-routes', '--control-socket', join(tmp, 'ctl'), '--log-level', 'warn'],
  {
    env: { ...process.env, NODENAME: 'ps-agent', IP: `${AGENT_IP}/16`, AS: String(AS), ETCD_ENDPOINTS: `http://127.0.0.1:${ETCD_PORT}` },
    stdio: ['ignore', 'inherit', 'pipe'],
  },
);
children.push(agent);
let eldMax = 0;
let agentMem = '';
agent.stderr!.setEncoding('utf8');
agent.stderr!.on('data', (s: string) => {
  for (const line of s.split('\n')) {
    const m = /^PSELD (\d+(?:\.\d+)?) (.*)$/.exec(line);
    if (m) {
      eldMax = Math.max(eldMax, Number(m[1]));
      agentMem = m[2];
    } else if (line.trim()) process.stderr.write(`agent: ${line}\n`);
  }
});
const pid = agent.pid!;
const clkTck = 100;
function cpu(): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck;
}
function mem(): { rss: number; hwm: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}
// The agent listens once it is up: wait for the BGP port.
for (let i = 0; ; i++) {
  const ok = await new Promise<boolean>((r) => {
    const s = net.connect({ host: AGENT_IP, port: 179, localAddress: '10.78.250.250' });
    s.on('connect', () => (s.destroy(), r(true)));
    s.on('error', () => r(false));
  });
  if (ok) break;
  if (i > 200) throw new Error('agent did not listen');
  await sleep(50);
}
await sleep(1500);
const idle = { ...mem(), cpu: cpu() };

// ---------------------------------------------------------------- simulated nodes

interface Node {
  sock: net.Socket;
  up: boolean;
  eor: boolean;
  gotChange: Float64Array;
  /** Other nodes' blocks held (RR mode). */
  held: Uint8Array | null;
  heldCount: number;
  fullAt: number;
}
let full = 0;
let established = 0;
let eors = 0;
let closed = 0;
const recv: Float64Array[] = [];
function openFor(i: number): OpenMessage {
  return {
    type: 'OPEN',
    version: 4,
    myAs: AS,
    holdTime: 240,
    bgpId: nodeIp(i),
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 2, name: 'route-refresh' },
      { code: 64, name: 'graceful-restart', restartState: false, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] },
      { code: 65, name: 'as4', asn: AS },
      { code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
    ],
  };
}
function session(i: number): Node {
  const gotChange = new Float64Array(CHANGES);
  recv.push(gotChange);
  const open = openFor(i);
  const framer = new Framer();
  let rx: DecodeContext = DEFAULT_CONTEXT;
  let tx: DecodeContext = DEFAULT_CONTEXT;
  let gotOpen = false;
  const node: Node = {
    sock: net.connect({ host: AGENT_IP, port: 179, localAddress: nodeIp(i) }),
    up: false,
    eor: false,
    gotChange,
    held: RR ? new Uint8Array(N) : null,
    heldCount: 0,
    fullAt: 0,
  };
  const sock = node.sock;
  sock.setNoDelay(true);
  sock.on('connect', () => sock.write(encodeMessage(open, DEFAULT_CONTEXT)));
  sock.on('data', (chunk: Buffer) => {
    const now = mono();
    for (const frame of framer.push(chunk)) {
      const msg = decodeMessage(frame, rx);
      if (msg.type === 'OPEN') {
        const n = negotiate(open, msg);
        rx = n.receiveContext;
        tx = n.sendContext;
        gotOpen = true;
        sock.write(KEEPALIVE_BYTES);
      } else if (msg.type === 'KEEPALIVE') {
        if (!gotOpen) continue;
        if (node.up) continue;
        node.up = true;
        established++;
        sock.write(
          encodeMessage(
            {
              type: 'UPDATE',
              withdrawn: { keys: [], pathIds: null },
              attributes: { origin: 0, asPath: [], nextHop: nodeIp(i), localPref: 100 },
              nlri: { keys: [nodeBlock(i)], pathIds: tx.addPath.size > 0 ? [1] : null },
            },
            tx,
          ),
        );
      } else if (msg.type === 'UPDATE') {
        if (msg.nlri.keys.length === 0 && msg.withdrawn.keys.length === 0 && Object.keys(msg.attributes).length === 0) {
          if (!node.eor) eors++;
          node.eor = true;
        }
        if (node.held !== null) {
          for (const k of msg.nlri.keys) {
            const j = (Math.floor(k / 64) - 0x64400000) / 64;
            if (Number.isInteger(j) && j >= 0 && j < N && j !== i && node.held[j] === 0) {
              node.held[j] = 1;
              if (++node.heldCount === N - 1) {
                node.fullAt = now;
                full++;
              }
            }
          }
          for (const k of msg.withdrawn.keys) {
            const j = (Math.floor(k / 64) - 0x64400000) / 64;
            if (Number.isInteger(j) && j >= 0 && j < N && node.held[j] === 1) {
              node.held[j] = 0;
              if (node.heldCount-- === N - 1) full--;
            }
          }
        }
        for (const k of msg.nlri.keys) {
          const c = changeIndexOfKey(k);
          if (Number.isInteger(c) && c >= 0 && c < CHANGES && gotChange[c] === 0) gotChange[c] = now;
        }
      } else if (msg.type === 'NOTIFICATION') {
        process.stderr.write(`node ${i}: NOTIFICATION ${msg.code}/${msg.subcode}\n`);
      }
    }
  });
  sock.on('error', () => undefined);
  sock.on('close', () => closed++);
  return node;
}

// Event-loop delay counted from here on (eld-preload.mjs resets on SIGWINCH); the agent ignores it otherwise.
agent.kill('SIGWINCH');
eldMax = 0;
const t0 = mono();
const cpu0 = cpu();
const nodes: Node[] = [];
for (let i = 0; i < N; i++) nodes.push(session(i));
let peakDuring = 0;
let allUpMs = -1;
for (;;) {
  await sleep(20);
  peakDuring = Math.max(peakDuring, mem().rss);
  if (established === N && eors === N && (!RR || full === N)) {
    allUpMs = mono() - t0;
    break;
  }
  if (mono() - t0 > (RR ? 150_000 : 120_000)) throw new Error(`bring-up timed out: ${established} established, ${eors} End-of-RIB, ${full} full, ${closed} closed; node 0 holds ${nodes[0].heldCount}`);
}
// Settled: every node's /26 should be in (no kernel programming: --no-program-routes).
let lastCpu = cpu();
let lastCpuAt = mono();
function cpuIdle(): boolean {
  const c = cpu();
  const t = mono();
  const idleNow = (c - lastCpu) / ((t - lastCpuAt) / 1000) < 0.05;
  lastCpu = c;
  lastCpuAt = t;
  return idleNow;
}
for (let i = 0; i < 100; i++) {
  await sleep(50);
  if (cpuIdle()) break;
}
const upCpu = cpu() - cpu0;
await sleep(2000);
const settled = mem();
if (flag('snapshot', '') === 'settled') {
  // With --node-flags "--heapsnapshot-signal=SIGUSR2": a heap snapshot of the settled agent (written in its cwd).
  agent.kill('SIGUSR2');
  await sleep(8000);
}

// ---------------------------------------------------------------- fan-out

const putAt = new Float64Array(CHANGES);
const ackAt = new Float64Array(CHANGES);
const gap = 1000 / RATE;
const fanStart = mono();
const cpuF0 = cpu();
const puts: Promise<unknown>[] = [];
for (let c = 0; c < CHANGES; c++) {
  const due = fanStart + c * gap;
  const wait = due - mono();
  if (wait > 0) await sleep(wait);
  const cidr = changeCidr(c);
  putAt[c] = mono();
  puts.push(
    client
      .put(`/calico/ipam/v2/host/ps-agent/ipv4/block/${cidr}-26`)
      .value(JSON.stringify({ state: 'confirmed', deleted: false }))
      .exec()
      .then(() => (ackAt[c] = mono())),
  );
  peakDuring = Math.max(peakDuring, mem().rss);
}
await Promise.all(puts);
for (let i = 0; i < 200; i++) {
  await sleep(50);
  if (recv.every((r) => r[CHANGES - 1] > 0)) break;
}
await sleep(300);
const fanCpu = cpu() - cpuF0;
const final = mem();
if (flag('snapshot', '') === 'end') {
  agent.kill('SIGUSR2');
  await sleep(8000);
}

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const firstPeer: number[] = [];
const lastPeer: number[] = [];
const all: number[] = [];
const spread: number[] = [];
const ack: number[] = [];
let missing = 0;
for (let c = 0; c < CHANGES; c++) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of recv) {
    if (r[c] === 0) {
      missing++;
      continue;
    }
    const d = r[c] - putAt[c];
    all.push(d);
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  firstPeer.push(lo);
  lastPeer.push(hi);
  spread.push(hi - lo);
  ack.push(ackAt[c] - putAt[c]);
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const result = {
  nodes: N,
  changes: CHANGES,
  rate: RATE,
  nodeFlags: agentFlags,
  idle: { rssKB: idle.rss, anonKB: idle.anon },
  mode: RR ? 'rr' : 'mesh',
  bringUp: {
    allEstablishedAndEorMs: Math.round(allUpMs),
    cpuS: r1(upCpu * 100) / 100,
    ...(RR ? { clientFullMs: { p50: r1(q(nodes.map((n) => n.fullAt - t0), 0.5)), max: r1(q(nodes.map((n) => n.fullAt - t0), 1)) } } : {}),
  },
  settled: { rssKB: settled.rss, anonKB: settled.anon, perSessionKB: r1((settled.rss - idle.rss) / N) },
  peakRssKB: Math.max(final.hwm, peakDuring),
  fanout: {
    cpuS: r1(fanCpu * 100) / 100,
    missing,
    firstPeerMs: { p50: r1(q(firstPeer, 0.5)), p99: r1(q(firstPeer, 0.99)) },
    lastPeerMs: { p50: r1(q(lastPeer, 0.5)), p99: r1(q(lastPeer, 0.99)), max: r1(q(lastPeer, 1)) },
    allPairsMs: { p50: r1(q(all, 0.5)), p99: r1(q(all, 0.99)) },
    /** Last peer minus first peer, per change: the fan-out itself. */
    spreadMs: { p50: r1(q(spread, 0.5)), p99: r1(q(spread, 0.99)) },
    /** etcd put acknowledged (client side), for scale. */
    etcdAckMs: { p50: r1(q(ack, 0.5)), p99: r1(q(ack, 0.99)) },
  },
  agentEventLoopDelayMaxMs: eldMax || undefined,
  agentMemory: agentMem || undefined,
  closedSessions: closed,
};
console.log(JSON.stringify(result, null, 1));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
// SIGTERM, so an agent under --cpu-prof writes its profile.
const exited = new Promise((r) => agent.once('exit', r));
agent.kill('SIGTERM');
await Promise.race([exited, sleep(5000)]);
for (const n of nodes) n.sock.destroy();
client.close();
process.exit(0);
