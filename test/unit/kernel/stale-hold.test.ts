/**
 * When the kernel programmer holds stale routes at start (graceful restart,
 * RFC 4724 §4.1 on the receiving side, BIRD's `-R`), for the Stryker
 * survivors in programmer.ts: a hold starts only when something adopted is
 * not desired; it never shortens a hold already asked for; without a hold
 * time stale routes go at the first reconcile; the hold ends exactly at its
 * time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import type { NodeIdentity, Pool } from '../../../src/datastore/desired.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { blackholeRoute, gatewayRoute } from '../../../src/kernel/route.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };
const pools: Pool[] = [{ name: 'ipip', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 }];
const P = parsePrefix;
const OWN = P('192.168.160.192/26');
const STALE = P('192.168.5.0/26');

let current: KernelProgrammer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

function setup(initialHoldMs: number, kernel: 'empty' | 'own' | 'stale') {
  const backend = new MemoryBackend({ links: { eth0: [P('10.10.20.0/24')], tunl0: [] } });
  if (kernel !== 'empty') backend.routes.set(OWN, blackholeRoute(OWN));
  if (kernel === 'stale') backend.routes.set(STALE, gatewayRoute(STALE, parseIpv4('20.20.2.4'), 'tunl0', true));
  const clock = new ManualScheduler();
  const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs });
  current = programmer;
  programmer.setNode(node);
  programmer.setPools(pools);
  programmer.setLocalBlocks([{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
  return { backend, clock, programmer };
}

describe('stale-route hold at start', () => {
  it('no hold when nothing was adopted, or everything adopted is still desired', async () => {
    for (const kernel of ['empty', 'own'] as const) {
      const { programmer } = setup(120_000, kernel);
      await programmer.start();
      await programmer.idle();
      expect(programmer.status().holdingStaleUntil, kernel).toBeUndefined();
      await programmer.stop();
    }
  });

  it('a hold of initialHoldMs when an adopted route is not desired, ending exactly then', async () => {
    const { backend, clock, programmer } = setup(120_000, 'stale');
    const t0 = clock.now();
    await programmer.start();
    await programmer.idle();
    expect(programmer.status().holdingStaleUntil).toBe(t0 + 120_000);
    expect(programmer.status().staleHeld).toBe(1);
    clock.advance(119_999);
    await programmer.idle();
    expect(backend.routes.has(STALE)).toBe(true);
    clock.advance(1);
    await programmer.idle();
    expect(backend.routes.has(STALE)).toBe(false);
    expect(backend.routes.has(OWN)).toBe(true);
    expect(programmer.status().holdingStaleUntil).toBeUndefined();
  });

  it('a hold asked for before start is kept, not replaced by the initial one', async () => {
    const { clock, programmer } = setup(120_000, 'stale');
    programmer.holdStale(clock.now() + 600_000);
    await programmer.start();
    await programmer.idle();
    expect(programmer.status().holdingStaleUntil).toBe(clock.now() + 600_000);
  });

  it('initialHoldMs 0: stale routes go at the first reconcile, our own stay untouched', async () => {
    const { backend, programmer } = setup(0, 'stale');
    await programmer.start();
    await programmer.idle();
    expect(backend.routes.has(STALE)).toBe(false);
    expect(backend.routes.has(OWN)).toBe(true);
    expect(backend.log.filter((o) => o.route.prefix === OWN)).toEqual([]);
  });
});
