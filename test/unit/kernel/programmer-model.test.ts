/**
 * The programmer on its compact state (src/kernel/route-table.ts) against the
 * Map-based model of what the kernel must hold: after any sequence of best
 * paths (IPv4 and IPv6, announced, moved, withdrawn), local blocks, pool mode
 * changes and routes changed behind its back, the kernel's proto bird routes
 * are exactly computeDesiredRoutes(learned map, blocks), and nothing of
 * another protocol is touched. Run with tiny slices and a tiny dirty queue, so
 * that sliced applies and the table walk after a queue overflow are the paths
 * taken, and with the defaults.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix, type PrefixKey } from '../../../src/bgp/prefix.js';
import { parseAddress6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import type { LocalBlock, NodeIdentity, Pool } from '../../../src/contracts.js';
import { computeDesiredRoutes, RouteContext } from '../../../src/kernel/desired-routes.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { formatRoute, gatewayRoute, routeSatisfies } from '../../../src/kernel/route.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };
const pool = (ipipMode: Pool['ipipMode']): Pool[] => [
  { name: 'ipip', cidr: '192.168.0.0/16', ipipMode, vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
  { name: 'cross', cidr: '10.8.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
];
const v4 = [...Array.from({ length: 12 }, (_, i) => `192.168.${i}.0/26`), ...Array.from({ length: 8 }, (_, i) => `10.8.${i}.64/26`), '172.16.0.0/26', '172.16.0.64/26', '0.0.0.0/0'];
const v6 = Array.from({ length: 6 }, (_, i) => `fd00:${i + 1}::/122`);
const nh4 = ['10.10.20.4', '10.10.20.9', '20.20.2.4'];
const nh6 = ['fd00:ff::4', 'fd00:ff::9'];
/** Held by another protocol's route: desired or not, never replaced (the memory backend throws if asked). */
const FOREIGN = parsePrefix('172.16.0.64/26');

type Op =
  | { kind: 'best'; prefix: number; nh: number | null }
  | { kind: 'best6'; prefix: number; nh: number | null }
  | { kind: 'blocks'; mask: number; pending: number }
  | { kind: 'pools'; mode: Pool['ipipMode'] }
  | { kind: 'tamper'; prefix: number; how: 'delete' | 'change' }
  | { kind: 'settle' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('best' as const), prefix: fc.nat(v4.length - 1), nh: fc.option(fc.nat(nh4.length - 1), { freq: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('best6' as const), prefix: fc.nat(v6.length - 1), nh: fc.option(fc.nat(nh6.length - 1), { freq: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('blocks' as const), mask: fc.nat(63), pending: fc.nat(63) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pools' as const), mode: fc.constantFrom('Always', 'CrossSubnet', 'Never') as fc.Arbitrary<Pool['ipipMode']> }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tamper' as const), prefix: fc.nat(v4.length - 1), how: fc.constantFrom('delete', 'change') as fc.Arbitrary<'delete' | 'change'> }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

/** Blocks from a 6-bit mask over the first IPv4 and IPv6 prefixes; `pending` marks some as pending (not ours). */
function blocksOf(mask: number, pending: number): { b4: LocalBlock[]; b6: LocalBlock[] } {
  const b4: LocalBlock[] = [];
  const b6: LocalBlock[] = [];
  for (let i = 0; i < 6; i++) {
    if (!(mask & (1 << i))) continue;
    const state = pending & (1 << i) ? 'pending' : 'confirmed';
    if (i < 4) b4.push({ cidr: v4[i * 3], state });
    else b6.push({ cidr: v6[i - 4], state });
  }
  return { b4, b6 };
}

async function check(ops: Op[], limits?: { opsPerApply: number; dirtyQueue: number }): Promise<void> {
  const backend = new MemoryBackend({ links: { eth0: [parsePrefix('10.10.20.0/24'), parsePrefix('20.20.0.0/16'), parsePrefix6('fd00:ff::/64', true)], tunl0: [] } });
  // Another protocol's route the programmer must leave alone.
  const foreignRoute = gatewayRoute(FOREIGN, 0x0a0a1401, 'eth0');
  backend.foreign.set(FOREIGN, { route: foreignRoute, protocol: 'static' });
  const clock = new ManualScheduler();
  const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs: 0, scanIntervalMs: 0, ...(limits ? { limits } : {}) });
  const learned = new Map<PrefixKey, number>();
  const learned6 = new Map<PrefixKey, number>();
  let blocks = { b4: [] as LocalBlock[], b6: [] as LocalBlock[] };
  let pools = pool('Always');
  programmer.setNode(node);
  programmer.setPools(pools);
  await programmer.start();
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'best': {
          const key = parsePrefix(v4[op.prefix], true);
          const nh = op.nh === null ? null : nh4[op.nh];
          programmer.applyBestPaths([{ key, nextHop: nh }]);
          if (nh === null) learned.delete(key);
          else learned.set(key, parseIpv4(nh));
          break;
        }
        case 'best6': {
          const prefix = parsePrefix6(v6[op.prefix], true);
          const nh = op.nh === null ? null : parseAddress6(nh6[op.nh]);
          programmer.applyBestPaths6([{ prefix, nextHop: nh }]);
          if (nh === null) learned6.delete(prefix);
          else learned6.set(prefix, nh);
          break;
        }
        case 'blocks':
          blocks = blocksOf(op.mask, op.pending);
          programmer.setLocalBlocks(blocks.b4);
          programmer.setLocalBlocks6(blocks.b6);
          break;
        case 'pools':
          pools = pool(op.mode);
          programmer.setPools(pools);
          break;
        case 'tamper': {
          await programmer.idle();
          const key = parsePrefix(v4[op.prefix], true);
          const r = backend.routes.get(key);
          if (!r) break;
          if (op.how === 'delete') backend.routes.delete(key);
          else backend.routes.set(key, { ...r, type: 'unicast', gateway: 0x0a0a1463, dev: 'eth0', onlink: false });
          await programmer.scanNow();
          break;
        }
        case 'settle':
          await programmer.idle();
          break;
      }
    }
    await programmer.idle();
    await programmer.scanNow(); // a scan finds nothing to repair and changes nothing
    await programmer.idle();
    const ctx = new RouteContext({ node, pools });
    const want = computeDesiredRoutes(ctx, learned, [...blocks.b4, ...blocks.b6], learned6);
    const have = backend.routes;
    const missing = [...want.values()].filter((w) => w.prefix !== FOREIGN).filter((w) => !have.has(w.prefix) || !routeSatisfies(have.get(w.prefix)!, w)).map(formatRoute);
    const extra = [...have.values()].filter((h) => !want.has(h.prefix)).map(formatRoute);
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    expect(backend.foreign.get(FOREIGN)?.route).toEqual(foreignRoute);
    const status = programmer.status();
    expect(status.routes).toBe(want.size);
    expect(status.foreignConflicts).toBe(want.has(FOREIGN) ? 1 : 0);
    expect(status.programmed).toBe(want.size - status.foreignConflicts);
    expect(new Set(programmer.desiredRoutes().map(formatRoute))).toEqual(new Set([...want.values()].map(formatRoute)));
  } finally {
    await programmer.stop();
  }
}

describe('KernelProgrammer against the Map model of desired routes', () => {
  it('ends with exactly the desired routes, in tiny slices with a tiny dirty queue', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), (ops) => check(ops, { opsPerApply: 2, dirtyQueue: 3 })), { numRuns: 150 });
  });

  it('ends with exactly the desired routes with the default limits', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), (ops) => check(ops)), { numRuns: 100 });
  });
});
