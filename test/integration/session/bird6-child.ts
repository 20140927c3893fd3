/**
 * Child for the IPv6 BIRD interop test (issue 19), run with `ip netns exec`
 * so its sockets and netlink live in the agent's namespace: the agent's
 * parts wired as `agent run` wires them (Speaker, Rib, src/agent/routing.ts,
 * KernelProgrammer with the rtnetlink backend), driven over IPC.
 */
import type { LocalBlock, NodeIdentity, PeerConfig, Pool } from '../../../src/contracts.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { Routing } from '../../../src/agent/routing.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import { NetlinkBackend } from '../../../src/kernel/netlink-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';

let speaker: Speaker | undefined;
let routing: Routing | undefined;
let kernel: KernelProgrammer | undefined;
let backend: NetlinkBackend | undefined;
let node: NodeIdentity | undefined;
let pools6: Pool[] = [];
/** The MP_REACH next hops of every IPv6 UPDATE received (global, or global + link-local). */
const nextHops: string[][] = [];

const commands: Record<string, (...args: any[]) => Promise<unknown>> = {
  async start(opts: { node: NodeIdentity; peers: PeerConfig[]; blocks6: LocalBlock[]; pools6: Pool[] }) {
    node = opts.node;
    pools6 = opts.pools6;
    backend = await NetlinkBackend.open();
    kernel = new KernelProgrammer({ backend, scanIntervalMs: 2000 });
    kernel.setNode(node);
    kernel.setPools6(pools6);
    kernel.setLocalBlocks6(opts.blocks6);
    await kernel.start();
    const rib = new Rib({ localAs: node.asNumber, routerId: node.routerId, localAddress: node.ipv4, requestFlush: (f) => setImmediate(f) });
    speaker = new Speaker({
      asNumber: node.asNumber,
      routerId: node.routerId,
      listenPort: 179,
      fsm: { connectDelayTime: 0, connectRetryTime: 1, errorWaitMin: 1, errorWaitMax: 2 },
    });
    await speaker.start();
    speaker.on('event', (e) => {
      const mp = e.type === 'update' ? e.update.attributes.mpReach : undefined;
      if (mp && 'nextHops' in mp && mp.afi === 2) nextHops.push(mp.nextHops);
    });
    routing = new Routing({ rib, sessions: speaker, kernel });
    routing.setIpv6({ localAddress: node.ipv6, blocks: opts.blocks6, pools: pools6 });
    routing.setPeers(opts.peers);
    return true;
  },
  async setBlocks6(blocks6: LocalBlock[]) {
    routing!.setIpv6({ localAddress: node!.ipv6, blocks: blocks6, pools: pools6 });
    kernel!.setLocalBlocks6(blocks6);
    await kernel!.idle();
    return true;
  },
  async peers() {
    return speaker!.status().map((s) => ({ name: s.name, state: s.state, capabilities: s.capabilities, lastError: s.lastError }));
  },
  async nextHops() {
    return nextHops;
  },
  async refused() {
    return routing!.refusedPeers().map((r) => r.reason);
  },
  async idle() {
    await kernel!.idle();
    return true;
  },
  async stop() {
    await speaker?.stop({ graceful: false });
    await kernel?.stop();
    return true;
  },
};

process.on('message', async (m: { id: number; cmd: string; args: unknown[] }) => {
  try {
    const fn = commands[m.cmd];
    if (!fn) throw new Error(`unknown command ${m.cmd}`);
    const value = await fn(...m.args);
    process.send!({ id: m.id, ok: true, value });
  } catch (err) {
    process.send!({ id: m.id, ok: false, error: (err as Error).stack ?? String(err) });
  }
});
process.on('SIGTERM', () => {
  void speaker?.stop({ graceful: false });
  backend?.close();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
