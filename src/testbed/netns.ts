/**
 * Network-namespace test beds for the lab and the integration tests: hosts as
 * namespaces, joined by veth pairs or a bridge, each with a veth named `tunl0`
 * standing in for the IPIP device (the ipip module is not loadable here, see
 * docs/ARCHITECTURE.md "The lab and the tests on one machine").
 *
 * Everything created is recorded so `destroy()` removes it even after a
 * failure half-way; names carry a prefix so a crashed run can be swept.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Run a command, returning stdout; throws with stderr in the message. */
export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      input: opts.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export function ip(args: string[], opts?: { input?: string; allowFail?: boolean }): string {
  return sh('ip', args, opts);
}

/** True when this process may create namespaces (root on Linux). */
export function canUseNetns(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

export class Netns {
  constructor(readonly name: string) {}

  /** Run a command inside the namespace and return stdout. */
  exec(cmd: string, args: string[], opts?: { input?: string; allowFail?: boolean }): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  ip(args: string[], opts?: { input?: string; allowFail?: boolean }): string {
    return sh('ip', ['-n', this.name, ...args], opts);
  }

  /** Start a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
  }

  /** `ip route show` lines in the main table, optionally filtered by protocol. */
  routes(proto?: string): string[] {
    const args = ['route', 'show', 'table', 'main'];
    if (proto) args.push('proto', proto);
    return this.ip(args)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
}

export interface HostSpec {
  /** Address with length on the host's uplink, e.g. "10.0.1.2/24". */
  address: string;
  /** Extra routes to add in the host (e.g. to reach another subnet via the bridge), as `ip route add` args. */
  routes?: string[][];
}

/**
 * A set of hosts (namespaces) on one bridge. Each host gets `eth0` with its
 * address, `lo` up, and a `tunl0` veth (its peer end left down in the same
 * namespace) with an address so onlink routes are accepted.
 */
export class Testbed {
  readonly hosts = new Map<string, Netns>();
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private bridge?: string;

  /** `prefix` must be short (interface names are at most 15 characters). */
  constructor(readonly prefix: string) {}

  /** Remove leftovers of an earlier run that used the same prefix. */
  static sweep(prefix: string): void {
    for (const line of ip(['netns', 'list'], { allowFail: true }).split('\n')) {
      const name = line.split(' ')[0];
      if (name && name.startsWith(prefix)) ip(['netns', 'del', name], { allowFail: true });
    }
    for (const line of ip(['-o', 'link', 'show'], { allowFail: true }).split('\n')) {
      const m = /^\d+: ([^:@]+)[@:]/.exec(line);
      if (m && m[1].startsWith(prefix)) ip(['link', 'del', m[1]], { allowFail: true });
    }
  }

  addNamespace(name: string): Netns {
    const full = `${this.prefix}${name}`;
    ip(['netns', 'add', full]);
    this.namespaces.push(full);
    const ns = new Netns(full);
    ns.ip(['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Create the shared bridge in the root namespace. */
  ensureBridge(): string {
    if (this.bridge) return this.bridge;
    const br = `${this.prefix}br`;
    ip(['link', 'add', br, 'type', 'bridge']);
    this.links.push(br);
    ip(['link', 'set', br, 'up']);
    this.bridge = br;
    return br;
  }

  /**
   * Add a host attached to the bridge. `tunnelAddress` goes on tunl0 (Calico
   * puts ipv4IPIPTunnelAddr there); defaults to a /32 in 169.254.255.0/24.
   */
  addHost(name: string, spec: HostSpec & { tunnelAddress?: string }): Netns {
    const br = this.ensureBridge();
    const ns = this.addNamespace(name);
    const index = this.hosts.size + 1;
    const outside = `${this.prefix}h${index}`;
    ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    this.links.push(outside);
    ip(['link', 'set', outside, 'master', br, 'up']);
    ns.ip(['addr', 'add', spec.address, 'dev', 'eth0']);
    ns.ip(['link', 'set', 'eth0', 'up']);
    addFakeTunnel(ns, spec.tunnelAddress ?? `169.254.255.${index}/32`);
    for (const r of spec.routes ?? []) ns.ip(['route', 'add', ...r]);
    this.hosts.set(name, ns);
    return ns;
  }

  destroy(): void {
    for (const ns of this.namespaces.reverse()) ip(['netns', 'del', ns], { allowFail: true });
    for (const l of this.links.reverse()) ip(['link', 'del', l], { allowFail: true });
    this.namespaces.length = 0;
    this.links.length = 0;
    this.hosts.clear();
    this.bridge = undefined;
  }
}

/**
 * A veth named tunl0 in place of the IPIP device. Its peer stays in the same
 * namespace so tunl0 has carrier; the address lets `onlink` routes in.
 */
export function addFakeTunnel(ns: Netns, address: string): void {
  ns.ip(['link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p']);
  ns.ip(['link', 'set', 'tunl0p', 'up']);
  ns.ip(['link', 'set', 'tunl0', 'up']);
  ns.ip(['addr', 'add', address, 'dev', 'tunl0']);
}
