/**
 * Child process for the kernel integration tests: runs a KernelProgrammer with
 * the backend named in KERNEL_BACKEND inside the namespace it was started in.
 */
import { IpBatchBackend } from '../../../src/kernel/ip-batch-backend.js';
import { NetlinkBackend } from '../../../src/kernel/netlink-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import type { KernelBackend } from '../../../src/kernel/backend.js';
import { parsePrefix, formatIpv4 } from '../../../src/bgp/prefix.js';
import { flushBirdRoutes } from '../../../src/cli/commands/routes-flush.js';

let backend: KernelBackend | undefined;
let programmer: KernelProgrammer | undefined;

async function getBackend(): Promise<KernelBackend> {
  if (!backend) backend = process.env.KERNEL_BACKEND === 'ip' ? new IpBatchBackend() : await NetlinkBackend.open();
  return backend;
}

const commands: Record<string, (...args: any[]) => Promise<unknown>> = {
  async create(opts: { scanIntervalMs?: number; initialHoldMs?: number; programClusterRoutes?: string }) {
    programmer = new KernelProgrammer({ backend: await getBackend(), ...opts });
    return true;
  },
  async setNode(node) {
    programmer!.setNode(node);
    return true;
  },
  async setPools(pools) {
    programmer!.setPools(pools);
    return true;
  },
  async setLocalBlocks(blocks) {
    programmer!.setLocalBlocks(blocks);
    return true;
  },
  /** [[cidr, nextHop|null], ...] */
  async bestPaths(list: [string, string | null][]) {
    programmer!.applyBestPaths(list.map(([cidr, nextHop]) => ({ key: parsePrefix(cidr), nextHop })));
    return true;
  },
  /** n /26 prefixes from base, all via one next hop. */
  async manyPaths(base: string, n: number, nextHop: string) {
    const start = Math.floor(parsePrefix(base) / 64);
    const changes = [];
    for (let i = 0; i < n; i++) changes.push({ key: ((start + i * 64) >>> 0) * 64 + 26, nextHop });
    programmer!.applyBestPaths(changes);
    return formatIpv4(start);
  },
  async start() {
    await programmer!.start();
    return true;
  },
  async idle() {
    await programmer!.idle();
    return true;
  },
  async scanNow() {
    await programmer!.scanNow();
    return true;
  },
  async releaseStale() {
    programmer!.releaseStale();
    await programmer!.idle();
    return true;
  },
  async status() {
    return programmer!.status();
  },
  async stop() {
    await programmer!.stop();
    return true;
  },
  /**
   * Receive-buffer overflow on purpose: a tiny SO_RCVBUF, a wide window and
   * `bad` routes the kernel refuses mixed with `good` ones.
   */
  async overflow(good: number, bad: number) {
    const b = await NetlinkBackend.open({ recvBufferSize: 1, window: 64, messagesPerSend: 512 });
    try {
      const ops = [];
      for (let i = 0; i < good + bad; i++) {
        const prefix = ((0x0a800000 + i * 64) >>> 0) * 64 + 26;
        const route = i < good
          ? { prefix, type: 'unicast' as const, gateway: 0x14140204, dev: 'tunl0', onlink: true, metric: 0 }
          : { prefix, type: 'unicast' as const, gateway: 0x0a630001, onlink: false, metric: 0 }; // 10.99.0.1: unreachable
        ops.push({ op: 'replace' as const, route });
      }
      const errors = await b.apply(ops);
      const codes: Record<string, number> = {};
      for (const e of errors) codes[e.code ?? '?'] = (codes[e.code ?? '?'] ?? 0) + 1;
      const minPrefix = ((0x0a800000 + good * 64) >>> 0) * 64 + 26;
      return { errors: errors.length, codes, allBad: errors.every((e) => e.route.prefix >= minPrefix), counters: b.counters, batching: b.batching, installed: (await b.dump()).length };
    } finally {
      b.close();
    }
  },
  async flush() {
    return flushBirdRoutes(await getBackend());
  },
  async dump() {
    return (await getBackend()).dump();
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
  void programmer?.stop();
  backend?.close();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
