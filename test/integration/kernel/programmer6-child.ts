/**
 * Child process for the IPv6 kernel integration tests (issue 19): a
 * KernelProgrammer with the backend named in KERNEL_BACKEND, driven over IPC
 * with the IPv6 inputs (setPools6, setLocalBlocks6, applyBestPaths6).
 */
import { IpBatchBackend } from '../../../src/kernel/ip-batch-backend.js';
import { NetlinkBackend } from '../../../src/kernel/netlink-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { formatRoute } from '../../../src/kernel/route.js';
import type { KernelBackend } from '../../../src/kernel/backend.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { parseAddress6, prefix6Key } from '../../../src/bgp/prefix6.js';

let backend: KernelBackend | undefined;
let programmer: KernelProgrammer | undefined;

async function getBackend(): Promise<KernelBackend> {
  if (!backend) backend = process.env.KERNEL_BACKEND === 'ip' ? new IpBatchBackend() : await NetlinkBackend.open();
  return backend;
}

const commands: Record<string, (...args: any[]) => Promise<unknown>> = {
  async create(opts: { scanIntervalMs?: number; initialHoldMs?: number }) {
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
  async setPools6(pools) {
    programmer!.setPools6(pools);
    return true;
  },
  async setLocalBlocks(blocks) {
    programmer!.setLocalBlocks(blocks);
    return true;
  },
  async setLocalBlocks6(blocks) {
    programmer!.setLocalBlocks6(blocks);
    return true;
  },
  /** [[cidr, nextHop|null], ...] as text. */
  async bestPaths(list: [string, string | null][]) {
    programmer!.applyBestPaths(list.map(([cidr, nextHop]) => ({ key: parsePrefix(cidr), nextHop })));
    return true;
  },
  async bestPaths6(list: [string, string | null][]) {
    programmer!.applyBestPaths6(list.map(([prefix, nextHop]) => ({ prefix, nextHop })));
    return true;
  },
  /** n /122 prefixes fd00:300:<i>::/122 as interned ids (the RIB's way in), all via one next hop. */
  async manyPaths6(n: number, nextHop: string) {
    const nh = parseAddress6(nextHop);
    const changes = [];
    for (let i = 0; i < n; i++) changes.push({ prefix: prefix6Key(0xfd000300, i, 0, 0, 122), nextHop: nh });
    programmer!.applyBestPaths6(changes);
    return true;
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
  async dump() {
    return (await (await getBackend()).dump()).map(formatRoute);
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
