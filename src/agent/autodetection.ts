/**
 * IP autodetection as calico-node does it (node/pkg/lifecycle/startup/
 * autodetection): IP=autodetect (or IP unset) picks the node's IPv4 address by
 * IP_AUTODETECTION_METHOD, IP6=autodetect its IPv6 address by
 * IP6_AUTODETECTION_METHOD. The methods:
 *
 * - `first-found` (the default): the first global unicast address on an
 *   interface not in calico-node's exclusion list;
 * - `interface=<regex>,...`: only interfaces whose name matches one of the
 *   regexes (unanchored, as Go's MatchString), no exclusion list;
 * - `skip-interface=<regex>,...`: the exclusion list plus these;
 * - `cidr=<cidr>,...`: the first address inside one of the CIDRs, any interface;
 * - `can-reach=<destination>`: the source address the kernel picks for a UDP
 *   "connection" to the destination (an address or a name) port 80, found on
 *   an interface to get its prefix length.
 *
 * calico-node walks the interfaces in reverse of the order the system lists
 * them ("to maintain behavior with older versions", interfaces.go), so on a
 * host with eth0 and eth1 first-found takes eth1: so does this, so the agent
 * and calico-node on the same host pick the same address. The interfaces and
 * the reach probe are injected, so tests give their own.
 */
import { execFileSync } from 'node:child_process';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { canonicalIpv6 } from '../bgp/prefix6.js';

/** calico-node's DEFAULT_INTERFACES_TO_EXCLUDE (autodetection_linux.go). */
export const DEFAULT_INTERFACES_TO_EXCLUDE: readonly string[] = [
  '^docker.*', '^cbr.*', '^dummy.*', '^podman.*', '^virbr.*', '^lxcbr.*', '^veth.*', '^lo', '^br-.*',
  '^cali.*', '^tunl.*', '^flannel.*', '^kube-ipvs.*', '^cni.*', '^vxlan\\.calico.*', '^vxlan-v6\\.calico.*',
  '^wireguard\\.cali.*', '^wg-v6\\.cali.*', '^nodelocaldns.*',
];

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface Detected {
  address: string;
  prefixLen: number;
  /** The interface it was found on. */
  iface: string;
}

export interface AutodetectDeps {
  interfaces?: () => Interfaces;
  /** The local address used to reach `dest` (can-reach), or an Error saying why not. */
  reach?: (dest: string, version: 4 | 6) => string | Error;
}

/** A method that is not one of calico-node's, or a bad regex or CIDR in one: a configuration error. */
export class AutodetectionMethodError extends Error {}

const split = (list: string): string[] => list.split(/\s*,\s*/);

function regexes(setting: string, list: string[]): RegExp | undefined {
  if (list.length === 0) return undefined;
  try {
    return new RegExp(`(${list.join(')|(')})`);
  } catch (err) {
    throw new AutodetectionMethodError(`${setting}: invalid interface regex: ${(err as Error).message}`);
  }
}

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, link-local, multicast or the IPv4 broadcast address. */
export function isGlobalUnicast(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number);
    return !(address === '0.0.0.0' || address === '255.255.255.255' || a === 127 || (a === 169 && b === 254) || a >= 224);
  }
  const x = canonicalIpv6(address);
  return !(x === '::' || x === '::1' || /^fe[89ab]/.test(x) || /^ff/.test(x));
}

/** The CIDRs of a cidr= method as one node:net BlockList (its check() is a subnet match of either family). */
function parseCidrs(setting: string, list: string[]): BlockList {
  const set = new BlockList();
  for (const text of list) {
    const [addr, len, extra] = text.split('/');
    const v = isIP(addr ?? '');
    if (extra !== undefined || v === 0 || len === undefined || !/^\d+$/.test(len) || Number(len) > (v === 4 ? 32 : 128)) {
      throw new AutodetectionMethodError(`${setting}: "${text}" is not a CIDR`);
    }
    set.addSubnet(addr, Number(len), v === 4 ? 'ipv4' : 'ipv6');
  }
  return set;
}

/** The host's interfaces in calico-node's order (reversed), filtered by name, with their addresses of one family. */
function candidates(ifaces: Interfaces, version: 4 | 6, include?: RegExp, exclude?: RegExp): { name: string; addrs: NetworkInterfaceInfo[] }[] {
  const family = version === 4 ? 'IPv4' : 'IPv6';
  return Object.entries(ifaces)
    .reverse()
    .filter(([name]) => (!include || include.test(name)) && !(exclude && exclude.test(name)))
    .map(([name, addrs]) => ({ name, addrs: (addrs ?? []).filter((a) => a.family === family) }));
}

function prefixLenOf(a: NetworkInterfaceInfo): number {
  return a.cidr ? Number(a.cidr.split('/')[1]) : a.family === 'IPv4' ? 32 : 128;
}

function detected(name: string, a: NetworkInterfaceInfo): Detected {
  return { address: a.family === 'IPv6' ? canonicalIpv6(a.address) : a.address, prefixLen: prefixLenOf(a), iface: name };
}

/** calico-node's FilteredEnumeration: the first global unicast address, optionally inside one of `cidrs`. */
function firstGlobal(list: { name: string; addrs: NetworkInterfaceInfo[] }[], cidrs?: BlockList): Detected | undefined {
  for (const i of list) {
    for (const a of i.addrs) {
      if (isGlobalUnicast(a.address) && (!cidrs || cidrs.check(a.address, a.family === 'IPv4' ? 'ipv4' : 'ipv6'))) return detected(i.name, a);
    }
  }
  return undefined;
}

/**
 * The address `method` picks (undefined: none found), or an
 * AutodetectionMethodError for a method calico-node would not accept.
 * `setting` names the variable in messages (IP_AUTODETECTION_METHOD).
 */
export function autodetectAddress(method: string | undefined, version: 4 | 6, setting: string, deps: AutodetectDeps = {}): Detected | undefined {
  const ifaces = (deps.interfaces ?? networkInterfaces)();
  const m = (method ?? '').trim();
  if (m === '' || m === 'first-found') {
    return firstGlobal(candidates(ifaces, version, undefined, regexes(setting, [...DEFAULT_INTERFACES_TO_EXCLUDE])));
  }
  if (m.startsWith('kubernetes-internal-ip')) {
    throw new AutodetectionMethodError(`${setting}: "${m}" reads the Kubernetes Node's InternalIP, which needs the Kubernetes API; this agent reads etcd only`);
  }
  const [kind, arg] = [m.slice(0, m.indexOf('=') + 1), m.slice(m.indexOf('=') + 1)];
  switch (kind) {
    case 'interface=':
      return firstGlobal(candidates(ifaces, version, regexes(setting, split(arg))));
    case 'skip-interface=':
      return firstGlobal(candidates(ifaces, version, undefined, regexes(setting, [...DEFAULT_INTERFACES_TO_EXCLUDE, ...split(arg)])));
    case 'cidr=':
      return firstGlobal(candidates(ifaces, version), parseCidrs(setting, split(arg)));
    case 'can-reach=': {
      if (!arg) throw new AutodetectionMethodError(`${setting}: can-reach= needs a destination (an address or a name)`);
      const local = (deps.reach ?? reachSource)(arg, version);
      if (local instanceof Error) return undefined;
      // The address as the interface carries it, for its prefix length.
      for (const i of candidates(ifaces, version)) {
        const a = i.addrs.find((x) => (version === 6 ? canonicalIpv6(x.address) === canonicalIpv6(local) : x.address === local));
        if (a) return detected(i.name, a);
      }
      return undefined;
    }
    default:
      throw new AutodetectionMethodError(
        `${setting}: "${m}" is not an autodetection method (first-found, can-reach=<destination>, interface=<regex>, skip-interface=<regex>, cidr=<cidr>)`,
      );
  }
}

/**
 * The source address for a UDP "connection" to dest:80, as calico-node's
 * ReachDestination gets it (no packet is sent). Configuration is read
 * synchronously and a UDP connect is not, so a short-lived node process asks
 * the kernel; only the can-reach method pays for it.
 */
export function reachSource(dest: string, version: 4 | 6): string | Error {
  const script = `
    const dns = require('node:dns'); const dgram = require('node:dgram');
    dns.lookup(process.argv[1], { family: ${version} }, (err, address) => {
      if (err) { process.stdout.write('!' + err.message); return; }
      const s = dgram.createSocket('udp${version}');
      s.on('error', (e) => { process.stdout.write('!' + e.message); s.close(); });
      s.connect(80, address, () => { process.stdout.write(s.address().address); s.close(); });
    });`;
  try {
    const out = execFileSync(process.execPath, ['-e', script, dest], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    if (out.startsWith('!') || !out) return new Error(out.slice(1) || 'no address');
    // An unspecified source: the socket was not given a route (an address of the other family, say).
    return isGlobalUnicast(out) || out.startsWith('127.') || out === '::1' ? out.trim() : new Error(`no route to ${dest} (source ${out})`);
  } catch (err) {
    return err as Error;
  }
}
