/**
 * An in-memory kernel for unit tests: a main table keyed by prefix, with the
 * kernel's refusals that matter to the programmer (missing device, a gateway
 * that is not on-link) and a way to plant foreign routes and inject faults.
 */
import { prefixContains, type PrefixKey } from '../bgp/prefix.js';
import { isPrefix6, prefix6Covers } from '../bgp/prefix6.js';
import type { KernelBackend, KernelScan, RouteOp, RouteOpError } from './backend.js';
import { formatKey, formatRoute, type KernelRoute } from './route.js';
import { RouteList, ShapeTable } from './route-table.js';

export interface MemoryBackendOptions {
  /** Devices that exist, with their connected subnets (IPv4 prefix keys or IPv6 prefix ids). */
  links?: Record<string, PrefixKey[]>;
}

export class MemoryBackend implements KernelBackend {
  readonly name = 'memory';
  /** proto bird routes by prefix. */
  readonly routes = new Map<PrefixKey, KernelRoute>();
  /** Routes of other protocols by prefix (protocol name). */
  readonly foreign = new Map<PrefixKey, { route: KernelRoute; protocol: string }>();
  readonly links = new Map<string, { index: number; subnets: PrefixKey[] }>();
  /** Every op applied (successful or not), for churn assertions. */
  readonly log: RouteOp[] = [];
  dumps = 0;
  /** Per-prefix injected failures: the next apply of that prefix fails with this message. */
  readonly failNext = new Map<PrefixKey, string>();
  private nextIndex = 2;

  constructor(opts: MemoryBackendOptions = {}) {
    for (const [name, subnets] of Object.entries(opts.links ?? { eth0: [], tunl0: [] })) this.addLink(name, subnets);
  }

  addLink(name: string, subnets: PrefixKey[] = []): void {
    this.links.set(name, { index: this.nextIndex++, subnets });
  }

  /** Removing a device removes the routes through it, as the kernel does. */
  removeLink(name: string): void {
    this.links.delete(name);
    for (const [prefix, route] of this.routes) if (route.dev === name) this.routes.delete(prefix);
  }

  async dump(): Promise<KernelRoute[]> {
    return (await this.scan()).routes.toArray();
  }

  async scan(shapes = new ShapeTable()): Promise<KernelScan> {
    this.dumps++;
    const foreign = new Map<PrefixKey, string>();
    for (const [prefix, f] of this.foreign) if (f.route.metric === 0) foreign.set(prefix, f.protocol);
    return { routes: RouteList.of(this.routes.values(), shapes), foreign };
  }

  async apply(ops: RouteOp[]): Promise<RouteOpError[]> {
    const errors: RouteOpError[] = [];
    for (const op of ops) {
      this.log.push(op);
      const error = this.applyOne(op);
      if (error) errors.push({ route: op.route, op: op.op, error: error[1], code: error[0] });
    }
    return errors;
  }

  private applyOne(op: RouteOp): [string, string] | null {
    const { route } = op;
    const injected = this.failNext.get(route.prefix);
    if (injected !== undefined) {
      this.failNext.delete(route.prefix);
      return ['EIO', injected];
    }
    if (op.op === 'delete') {
      if (!this.routes.has(route.prefix)) return ['ESRCH', 'No such process'];
      this.routes.delete(route.prefix);
      return null;
    }
    if (this.foreign.has(route.prefix)) {
      // NLM_F_REPLACE would clobber it; the programmer must never ask.
      throw new Error(`test bug: replace over foreign route ${formatKey(route.prefix)}`);
    }
    const stored: KernelRoute = { ...route };
    if (route.type === 'unicast' && route.nexthops) {
      // ECMP: each next hop as the kernel checks a single one (fib_check_nh).
      const hops = [];
      for (const nh of route.nexthops) {
        if (nh.dev !== undefined && !this.links.has(nh.dev)) return ['ENODEV', 'No such device'];
        const dev = nh.dev ?? this.deviceFor(nh.gateway);
        if (dev === undefined || (!nh.onlink && !this.onLink(nh.gateway, dev))) return ['ENETUNREACH', 'Network is unreachable'];
        hops.push({ ...nh, dev });
      }
      stored.nexthops = hops;
    } else if (route.type === 'unicast') {
      if (route.dev !== undefined) {
        if (!this.links.has(route.dev)) return ['ENODEV', 'No such device'];
        if (!route.onlink && !this.onLink(route.gateway!, route.dev)) return ['EINVAL', 'Nexthop has invalid gateway'];
      } else {
        const dev = this.deviceFor(route.gateway!);
        if (dev === undefined) return ['ENETUNREACH', 'Network is unreachable'];
        stored.dev = dev;
      }
    }
    this.routes.set(route.prefix, stored);
    return null;
  }

  private onLink(gateway: number, dev: string): boolean {
    return this.links.get(dev)?.subnets.some((s) => covers(s, gateway)) ?? false;
  }

  private deviceFor(gateway: number): string | undefined {
    for (const [name, link] of this.links) if (link.subnets.some((s) => covers(s, gateway))) return name;
    return undefined;
  }

  async linkIndex(name: string): Promise<number | null> {
    return this.links.get(name)?.index ?? null;
  }

  /** `ip route show proto bird`-like lines, sorted by prefix (IPv4, then IPv6 by text). */
  show(): string[] {
    const v4 = [...this.routes.values()].filter((r) => !isPrefix6(r.prefix)).sort((a, b) => a.prefix - b.prefix).map(formatRoute);
    const v6 = [...this.routes.values()].filter((r) => isPrefix6(r.prefix)).map(formatRoute).sort();
    return [...v4, ...v6];
  }

  close(): void {}
}

/** A subnet holds a gateway of its own family: IPv4 uint32 in an IPv4 key, an IPv6 /128 id in an IPv6 id. */
function covers(subnet: PrefixKey, gateway: number): boolean {
  if (isPrefix6(subnet) !== isPrefix6(gateway)) return false;
  return isPrefix6(subnet) ? prefix6Covers(subnet, gateway) : prefixContains(subnet, gateway);
}
