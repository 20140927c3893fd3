/**
 * etcd client configuration as calico-node reads it from its environment
 * (libcalico-go apiconfig, etcdv3 backend): ETCD_ENDPOINTS (comma list,
 * default http://127.0.0.1:2379), ETCD_CA_CERT_FILE / ETCD_CERT_FILE /
 * ETCD_KEY_FILE for TLS, ETCD_USERNAME / ETCD_PASSWORD for etcd auth.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';

export interface EtcdConfig {
  endpoints: string[];
  caCertFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** Deadline for unary calls (ms); a dead etcd must not hang a list forever. */
  callTimeoutMs?: number;
}

export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/** Build the config from an environment, then apply explicit overrides (flags). */
export function etcdConfigFromEnv(env: Record<string, string | undefined> = process.env, overrides: Partial<EtcdConfig> = {}): EtcdConfig {
  const endpoints = (env.ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cfg: EtcdConfig = { endpoints: endpoints.length ? endpoints : [DEFAULT_ETCD_ENDPOINT] };
  if (env.ETCD_CA_CERT_FILE) cfg.caCertFile = env.ETCD_CA_CERT_FILE;
  if (env.ETCD_CERT_FILE) cfg.certFile = env.ETCD_CERT_FILE;
  if (env.ETCD_KEY_FILE) cfg.keyFile = env.ETCD_KEY_FILE;
  if (env.ETCD_USERNAME) cfg.username = env.ETCD_USERNAME;
  if (env.ETCD_PASSWORD) cfg.password = env.ETCD_PASSWORD;
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  validateEtcdConfig(cfg);
  return cfg;
}

export function validateEtcdConfig(cfg: EtcdConfig): void {
  if (!cfg.endpoints.length) throw new Error('ETCD_ENDPOINTS: no endpoint given');
  for (const e of cfg.endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new Error(`ETCD_ENDPOINTS: "${e}" is not http(s)://host:port`);
  }
  if (!!cfg.certFile !== !!cfg.keyFile) throw new Error('ETCD_CERT_FILE and ETCD_KEY_FILE must be given together');
  if (!!cfg.username !== !!cfg.password) throw new Error('ETCD_USERNAME and ETCD_PASSWORD must be given together');
}

/**
 * A policy that runs the call once: this agent does its own retry with
 * backoff (and reports the outage), so the library's retry and circuit
 * breaker (which holds calls off for 5 s after 3 failures) stay out of the way.
 */
const runOnce = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
};

export function etcdClientOptions(cfg: EtcdConfig): IOptions {
  const opts: IOptions = {
    hosts: cfg.endpoints.map((e) => e.replace(/\/$/, '')),
    // 50k IPAM blocks are listed in pages, but keep headroom for large values.
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    faultHandling: { host: () => runOnce as any, global: runOnce as any },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (cfg.callTimeoutMs ?? 5000) }),
  };
  if (cfg.caCertFile || cfg.certFile) {
    opts.credentials = {
      rootCertificate: cfg.caCertFile ? readFileSync(cfg.caCertFile) : (undefined as unknown as Buffer),
      ...(cfg.keyFile ? { privateKey: readFileSync(cfg.keyFile) } : {}),
      ...(cfg.certFile ? { certChain: readFileSync(cfg.certFile) } : {}),
    };
  }
  if (cfg.username && cfg.password) opts.auth = { username: cfg.username, password: cfg.password };
  return opts;
}

export function createEtcdClient(cfg: EtcdConfig): Etcd3 {
  return new Etcd3(etcdClientOptions(cfg));
}
