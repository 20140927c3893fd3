/**
 * The periodic scan waits while more than one slice of changes is still to
 * be sent (a mid-backlog dump of 1M routes finds only what is about to be
 * written), and runs anyway once the last dump is MAX_SCAN_POSTPONE (15)
 * intervals old; an explicit scanNow() never waits.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import type { NodeIdentity, Pool } from '../../../src/contracts.js';
import type { RouteOp, RouteOpError } from '../../../src/kernel/backend.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import type { ShapeTable } from '../../../src/kernel/route-table.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };
const pools: Pool[] = [{ name: 'ipip', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 }];

/** A memory kernel that records applies and scans in order, and holds each apply until released. */
class GatedBackend extends MemoryBackend {
  readonly events: string[] = [];
  gated = false;
  private waiting: (() => void)[] = [];

  override async scan(shapes?: ShapeTable) {
    this.events.push('scan');
    return super.scan(shapes);
  }

  override async apply(ops: RouteOp[]): Promise<RouteOpError[]> {
    this.events.push(`apply ${ops.length}`);
    if (this.gated) await new Promise<void>((r) => this.waiting.push(r));
    return super.apply(ops);
  }

  open(): void {
    this.gated = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

async function setup() {
  const backend = new GatedBackend({ links: { eth0: [parsePrefix('10.10.20.0/24')], tunl0: [] } });
  const clock = new ManualScheduler();
  const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs: 0, limits: { opsPerApply: 2 } });
  programmer.setNode(node);
  programmer.setPools(pools);
  await programmer.start();
  backend.events.length = 0;
  backend.gated = true;
  programmer.applyBestPaths(Array.from({ length: 10 }, (_, i) => ({ key: parsePrefix(`192.168.${i}.0/26`), nextHop: '20.20.2.4' })));
  // The first slice is with the kernel.
  while (backend.events.length === 0) await new Promise<void>((r) => setImmediate(r));
  return { backend, clock, programmer };
}

describe('the periodic scan and a backlog', () => {
  it('waits until the backlog is sent, then scans', async () => {
    const { backend, clock, programmer } = await setup();
    clock.advance(2000); // the scan timer fires mid-backlog
    backend.open();
    await programmer.idle();
    expect(backend.events).toEqual(['apply 2', 'apply 2', 'apply 2', 'apply 2', 'apply 2', 'scan']);
    expect(backend.routes.size).toBe(10);
    await programmer.stop();
  });

  it('scans anyway once the last dump is 15 intervals old', async () => {
    const { backend, clock, programmer } = await setup();
    clock.advance(30_000);
    backend.open();
    await programmer.idle();
    expect(backend.events.slice(0, 2)).toEqual(['apply 2', 'scan']);
    expect(backend.routes.size).toBe(10);
    await programmer.stop();
  });

  it('scanNow() does not wait for the backlog', async () => {
    const { backend, programmer } = await setup();
    const scanned = programmer.scanNow();
    backend.open();
    await scanned;
    await programmer.idle();
    expect(backend.events.slice(0, 2)).toEqual(['apply 2', 'scan']);
    await programmer.stop();
  });
});
