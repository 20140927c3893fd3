/**
 * `agent run` configuration, read the way calico-node reads its own: from the
 * environment (NODENAME, IP, IP6, AS, CALICO_ROUTER_ID, ETCD_*), with flags
 * taking precedence. Every problem names the setting and what is wrong, and
 * the agent exits before touching anything.
 */
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { DEFAULT_CONTROL_SOCKET } from './control.js';
import { isIpv4 } from '../bgp/prefix.js';
import { canonicalIpv6 } from '../bgp/prefix6.js';
import { etcdConfigFromEnv, type EtcdConfig } from '../datastore/etcd-config.js';
import { AutodetectionMethodError, autodetectAddress, type AutodetectDeps } from './autodetection.js';

export interface AgentConfig {
  nodeName: string;
  /** Node IPv4 and its prefix length; prefixLen undefined when IP had none (the Node resource's length is used then, else 32). */
  ipv4?: { address: string; prefixLen?: number };
  /** Node IPv6 (IP6), RFC 5952 canonical form; undefined for IP6 unset or "none" (no IPv6 sessions, as calico-node runs no bird6). */
  ipv6?: string;
  /** IP6's prefix length ("fd00:199::2/64"), or the interface's when IP6 had none or was autodetected. */
  ipv6PrefixLen?: number;
  asNumber?: number;
  /** CALICO_ROUTER_ID: an IPv4 address, or "hash". */
  routerId?: string;
  etcd: EtcdConfig;
  controlSocket: string;
  pidFile?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Prometheus metrics port; undefined: no metrics server (AGENT_METRICS_ENABLED=true without a port: DEFAULT_METRICS_PORT). */
  metricsPort?: number;
  /** Address the metrics server binds: --metrics-address, else the node's IPv4 address, else 127.0.0.1 (never every address by default). */
  metricsHost: string;
  /** false: run as a pure BGP speaker (dedicated route reflector, benchmarks). */
  programRoutes: boolean;
  /** Override the BGP listen port from BGPConfiguration (labs and tests). */
  listenPort?: number;
  /** Seconds after start during which peers not yet Established do not fail readiness. */
  readyGracePeriod: number;
  /** Seconds to keep adopted kernel routes when restarting, waiting for peers' End-of-RIB. */
  restartHoldTime: number;
  /** Register (create/update) this node's Node resource at start. */
  registerNode: boolean;
  /** `--manage-tunnel`: set tunl0's address (ipv4IPIPTunnelAddr) and MTU, as Felix would. */
  manageTunnel: boolean;
  tunnelMtu: number;
  /**
   * TCP MD5 passwords from the agent's own configuration, a fallback that
   * wins over the secrets: AGENT_MESH_PASSWORD for the mesh,
   * AGENT_PEER_PASSWORDS="bgppeer-name=pw,...".
   */
  meshPassword?: string;
  peerPasswords: Record<string, string>;
  /** BGP_SECRETS_DIR: where the Secrets named by secretKeyRefs are mounted (src/agent/secrets.ts). */
  secretsDir?: string;
}

export class ConfigError extends Error {}

export interface ConfigFlags {
  nodeName?: string;
  ip?: string;
  ip6?: string;
  as?: string | number;
  routerId?: string;
  etcdEndpoints?: string;
  controlSocket?: string;
  pidFile?: string;
  logLevel?: string;
  metricsPort?: string | number;
  /** Bind address for metrics; `metricsHost` is its older name (--metrics-host). */
  metricsAddress?: string;
  metricsHost?: string;
  metrics?: boolean;
  programRoutes?: boolean;
  listenPort?: string | number;
  readyGracePeriod?: string | number;
  restartHoldTime?: string | number;
  registerNode?: boolean;
  manageTunnel?: boolean;
  tunnelMtu?: string | number;
}

/**
 * The metrics port when metrics are on without one (AGENT_METRICS_ENABLED=true,
 * as Felix's PrometheusMetricsEnabled). Not 9901 (Envoy's admin port, taken on
 * hosts that run Envoy or a host-network proxy) and not a port calico-node's
 * neighbours on the same host network use: Felix metrics 9091 and health 9099,
 * Typha 5473, metrics 9093 and health 9098, kube-controllers metrics 9094
 * (felix/config/config_params.go, typha/pkg/config/config_params.go,
 * KubeControllersConfiguration prometheusMetricsPort). 9095 is the next free
 * one in Calico's range and used by none of them.
 */
export const DEFAULT_METRICS_PORT = 9095;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * IP=autodetect / IP6=autodetect by calico-node's IP_AUTODETECTION_METHOD /
 * IP6_AUTODETECTION_METHOD (src/agent/autodetection.ts); an unknown method or a
 * bad regex or CIDR in one is a configuration error naming the variable.
 */
function detect(env: NodeJS.ProcessEnv, version: 4 | 6, deps: AutodetectDeps): { address: string; prefixLen: number } | undefined {
  const setting = version === 4 ? 'IP_AUTODETECTION_METHOD' : 'IP6_AUTODETECTION_METHOD';
  const method = (version === 4 ? env.IP_AUTODETECTION_METHOD : env.IP6_AUTODETECTION_METHOD) || 'first-found';
  try {
    const found = autodetectAddress(method, version, setting, deps);
    return found && { address: found.address, prefixLen: found.prefixLen };
  } catch (err) {
    if (err instanceof AutodetectionMethodError) throw new ConfigError(err.message);
    throw err;
  }
}

function interfacePrefixLen6(address: string): number | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv6' && a.cidr && canonicalIpv6(a.address) === address) return Number(a.cidr.split('/')[1]);
    }
  }
  return undefined;
}

function interfacePrefixLen(address: string): number | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && a.address === address && a.cidr) return Number(a.cidr.split('/')[1]);
    }
  }
  return undefined;
}

function integer(setting: string, raw: string | number, min: number, max: number): number {
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw new ConfigError(`${setting}: "${raw}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`${setting}: ${n} is out of range ${min}..${max}`);
  return n;
}

/** Calico accepts AS numbers as plain or asdot ("1.10" = 65546). */
export function parseAsNumber(setting: string, raw: string | number): number {
  const text = String(raw).trim();
  const dot = /^(\d+)\.(\d+)$/.exec(text);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 65535 || lo > 65535) throw new ConfigError(`${setting}: "${raw}" is not a valid asdot AS number`);
    return hi * 65536 + lo;
  }
  return integer(setting, text, 1, 4294967295);
}

function parseIpv4WithLength(setting: string, raw: string): { address: string; prefixLen?: number } {
  const [address, len, extra] = raw.trim().split('/');
  if (extra !== undefined || !isIpv4(address)) {
    throw new ConfigError(`${setting}: "${raw}" is not an IPv4 address (expected a.b.c.d or a.b.c.d/len, or "autodetect")`);
  }
  if (len === undefined) return { address };
  return { address, prefixLen: integer(`${setting} (prefix length)`, len, 0, 32) };
}

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env, deps: AutodetectDeps = {}): AgentConfig {
  const pick = (flag: unknown, name: string): string | undefined => {
    if (flag !== undefined && flag !== '') return String(flag);
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };

  const nodeName = pick(flags.nodeName, 'NODENAME') ?? pick(undefined, 'HOSTNAME') ?? hostname();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) {
    throw new ConfigError(`NODENAME (--node-name): "${nodeName}" is not a valid node name (lower-case DNS name expected)`);
  }

  let ipv4: AgentConfig['ipv4'];
  const ipSetting = pick(flags.ip, 'IP');
  if (ipSetting === undefined || ipSetting === 'autodetect') {
    ipv4 = detect(env, 4, deps);
    if (!ipv4 && ipSetting === 'autodetect') {
      const m = env.IP_AUTODETECTION_METHOD || 'first-found';
      throw new ConfigError(`IP (--ip): "autodetect" found no global IPv4 address on any interface (IP_AUTODETECTION_METHOD=${m})`);
    }
  } else if (ipSetting !== 'none') {
    ipv4 = parseIpv4WithLength('IP (--ip)', ipSetting);
    // calico-node writes the address with its subnet length (CrossSubnet needs
    // it): without one, take the length of the interface that carries it.
    if (ipv4.prefixLen === undefined) ipv4.prefixLen = interfacePrefixLen(ipv4.address);
  }

  // IP6 as calico-node reads it: an address with or without its length,
  // "autodetect" (first global IPv6 address), or "none"/unset (no IPv6).
  let ipv6: string | undefined;
  let ipv6PrefixLen: number | undefined;
  const ip6 = pick(flags.ip6, 'IP6');
  if (ip6 === 'autodetect') {
    const found = detect(env, 6, deps);
    if (!found) {
      const m = env.IP6_AUTODETECTION_METHOD || 'first-found';
      throw new ConfigError(`IP6 (--ip6): "autodetect" found no global IPv6 address on any interface (IP6_AUTODETECTION_METHOD=${m})`);
    }
    ipv6 = found.address;
    ipv6PrefixLen = found.prefixLen;
  } else if (ip6 !== undefined && ip6 !== 'none') {
    const [address, len, extra] = ip6.trim().split('/');
    if (extra !== undefined || isIP(address) !== 6) throw new ConfigError(`IP6 (--ip6): "${ip6}" is not an IPv6 address (expected an address, address/len, "autodetect" or "none")`);
    ipv6 = canonicalIpv6(address);
    ipv6PrefixLen = len === undefined ? interfacePrefixLen6(ipv6) : integer('IP6 (--ip6) (prefix length)', len, 0, 128);
  }

  const asRaw = pick(flags.as, 'AS');
  const asNumber = asRaw === undefined ? undefined : parseAsNumber('AS (--as)', asRaw);

  const routerId = pick(flags.routerId, 'CALICO_ROUTER_ID');
  if (routerId !== undefined && routerId !== 'hash' && !isIpv4(routerId)) {
    throw new ConfigError(`CALICO_ROUTER_ID (--router-id): "${routerId}" must be an IPv4 address or "hash"`);
  }

  // calico-node's DATASTORE_TYPE: this agent reads Calico's etcd layout only;
  // anything else would otherwise be ignored silently (dialling 127.0.0.1:2379).
  const datastoreType = pick(undefined, 'DATASTORE_TYPE');
  if (datastoreType !== undefined && datastoreType !== 'etcdv3') {
    throw new ConfigError(
      `DATASTORE_TYPE: "${datastoreType}" is not supported: this agent reads Calico's etcd datastore only (DATASTORE_TYPE=etcdv3 or unset)`,
    );
  }

  const endpointsRaw = pick(flags.etcdEndpoints, 'ETCD_ENDPOINTS') ?? 'http://127.0.0.1:2379';
  const endpoints = endpointsRaw.split(',').map((e) => e.trim()).filter(Boolean);
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new ConfigError(`ETCD_ENDPOINTS (--etcd-endpoints): "${e}" is not a URL (expected http(s)://host:port)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`ETCD_ENDPOINTS (--etcd-endpoints): "${e}" must use http or https`);
    }
  }
  if (endpoints.length === 0) throw new ConfigError('ETCD_ENDPOINTS (--etcd-endpoints): no endpoint given');

  const level = (pick(flags.logLevel, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`--log-level: "${level}" is not one of ${LEVELS.join(', ')}`);
  }

  const metricsRaw = pick(flags.metricsPort, 'AGENT_METRICS_PORT');
  const metricsEnabled = flags.metrics ?? env.AGENT_METRICS_ENABLED === 'true';
  const metricsAddress = pick(flags.metricsAddress ?? flags.metricsHost, 'AGENT_METRICS_ADDRESS') ?? pick(undefined, 'AGENT_METRICS_HOST');
  if (metricsAddress !== undefined && isIP(metricsAddress) === 0) {
    throw new ConfigError(`AGENT_METRICS_ADDRESS (--metrics-address): "${metricsAddress}" is not an IP address`);
  }
  const listenRaw = pick(flags.listenPort, 'AGENT_LISTEN_PORT');
  const peerPasswords: Record<string, string> = {};
  for (const pair of (env.AGENT_PEER_PASSWORDS ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new ConfigError(`AGENT_PEER_PASSWORDS: "${pair.slice(0, 40)}" is not <bgppeer name>=<password>`);
    peerPasswords[pair.slice(0, eq)] = pair.slice(eq + 1);
  }

  let etcd: EtcdConfig;
  try {
    etcd = etcdConfigFromEnv(env, { endpoints: endpoints });
  } catch (err) {
    throw new ConfigError(`ETCD_*: ${(err as Error).message}`);
  }

  return {
    nodeName,
    ipv4,
    ipv6,
    ipv6PrefixLen,
    asNumber,
    routerId,
    etcd,
    controlSocket: pick(flags.controlSocket, 'AGENT_CONTROL_SOCKET') ?? DEFAULT_CONTROL_SOCKET,
    pidFile: pick(flags.pidFile, 'AGENT_PID_FILE'),
    logLevel: level as AgentConfig['logLevel'],
    metricsPort:
      metricsRaw !== undefined ? integer('--metrics-port', metricsRaw, 0, 65535) : metricsEnabled ? DEFAULT_METRICS_PORT : undefined,
    // The node's address, where a host-network scraper finds it, else loopback:
    // metrics name every peer and route count, so they are not served on every
    // interface unless asked (--metrics-address 0.0.0.0).
    metricsHost: metricsAddress ?? ipv4?.address ?? '127.0.0.1',
    programRoutes: flags.programRoutes ?? env.AGENT_PROGRAM_ROUTES !== 'false',
    listenPort: listenRaw === undefined ? undefined : integer('--listen-port', listenRaw, 1, 65535),
    readyGracePeriod: integer('--ready-grace-period', pick(flags.readyGracePeriod, 'AGENT_READY_GRACE_PERIOD') ?? '30', 0, 86400),
    restartHoldTime: integer('--restart-hold-time', pick(flags.restartHoldTime, 'AGENT_RESTART_HOLD_TIME') ?? '120', 0, 3600),
    registerNode: flags.registerNode ?? env.AGENT_REGISTER_NODE !== 'false',
    manageTunnel: flags.manageTunnel ?? env.AGENT_MANAGE_TUNNEL === 'true',
    // Calico's IPIP MTU: 1440 by default (1480 on hosts without extra encapsulation).
    tunnelMtu: integer('--tunnel-mtu', pick(flags.tunnelMtu, 'AGENT_TUNNEL_MTU') ?? '1440', 576, 9000),
    meshPassword: pick(undefined, 'AGENT_MESH_PASSWORD'),
    peerPasswords,
    secretsDir: env.BGP_SECRETS_DIR || undefined,
  };
}
