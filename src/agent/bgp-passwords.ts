/**
 * The agent's side of TCP MD5 (RFC 2385): passwords from mounted Secrets
 * into the peers handed to the speaker, re-applied when a Secret changes,
 * and the status words for a password session that does not come up.
 *
 * A wrong or one-sided password shows nowhere but in the kernel: segments
 * are dropped silently (RFC 2385 §2) and counted in the namespace's TcpExt
 * TCPMD5NotFound / TCPMD5Unexpected / TCPMD5Failure. Those counters are
 * sampled each poll; a rise within the last minute, while a password peer is
 * not Established, is put in that peer's status.
 */
import type { PeerConfig } from '../contracts.js';
import { md5Delta, md5Explanation, readMd5Counters, type Md5Counters } from '../bgp/session/session-security.js';
import { DEFAULT_POLL_MS, DEFAULT_SECRETS_DIR, resolvePasswords, SecretStore, type SecretProblem } from './secrets.js';
import type { PeerSnapshot } from './snapshot.js';

const WINDOW_MS = 60_000;

export interface BgpPasswordsOptions {
  dir?: string;
  pollMs?: number;
  /** Called when a secret's value changed: re-apply the peers. */
  onChange: () => void;
  /** /proc/net/netstat reader (tests). */
  readCounters?: () => Md5Counters | null;
  now?: () => number;
}

export class BgpPasswords {
  readonly store: SecretStore;
  private problemList: SecretProblem[] = [];
  /** Peers by name as last applied, with their passwords (never shown). */
  private applied = new Map<string, PeerConfig>();
  private samples: { at: number; counters: Md5Counters }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly readCounters: () => Md5Counters | null;
  private readonly now: () => number;
  private readonly pollMs: number;

  constructor(private readonly options: BgpPasswordsOptions) {
    this.store = new SecretStore(options.dir ?? DEFAULT_SECRETS_DIR, options.onChange);
    this.readCounters = options.readCounters ?? (() => readMd5Counters());
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /** The peers with passwords filled from their secrets (or marked with the problem). */
  apply(configs: readonly PeerConfig[]): PeerConfig[] {
    const { peers, problems } = resolvePasswords(configs, (ref) => this.store.read(ref));
    this.store.retain(configs.flatMap((c) => (c.passwordSecret ? [c.passwordSecret] : [])));
    this.problemList = problems;
    this.applied = new Map(peers.map((p) => [p.name, p]));
    return peers;
  }

  /** Missing secrets or keys, each naming the peer, the secret and the key. */
  problems(): SecretProblem[] {
    return this.problemList;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll: secrets re-read, MD5 counters sampled while any session has a password. */
  tick(): void {
    this.store.poll();
    if (![...this.applied.values()].some((p) => p.password !== undefined || p.passwordSecret)) {
      this.samples = [];
      return;
    }
    const counters = this.readCounters();
    if (!counters) return;
    const at = this.now();
    this.samples.push({ at, counters });
    while (this.samples.length > 1 && at - this.samples[0].at > WINDOW_MS) this.samples.shift();
  }

  /**
   * Add what is known of a password session that is not up: its secret's
   * problem, a key the listener refused, and the kernel's MD5 evidence (also
   * for a session running without the password its secret should have given).
   */
  explain(peers: PeerSnapshot[], listenerKeyError: (address: string) => string | undefined = () => undefined): PeerSnapshot[] {
    const first = this.samples[0]?.counters;
    const last = this.samples.at(-1)?.counters;
    const missing = new Map(this.problemList.map((p) => [p.peer, p.message]));
    return peers.map((p) => {
      const config = this.applied.get(p.name);
      if (!config || p.bgpState === 'Established' || config.passwordProblem) return p;
      if (config.password === undefined && !missing.has(p.name)) return p;
      if (missing.has(p.name)) p = { ...p, lastError: p.lastError ? `${missing.get(p.name)}; ${p.lastError}` : missing.get(p.name) };
      const keyError = config.password !== undefined ? listenerKeyError(p.address) : undefined;
      if (keyError) p = { ...p, lastError: p.lastError ? `${keyError}; ${p.lastError}` : keyError };
      const delta = first && last ? md5Delta(last, first) : { TCPMD5NotFound: 0, TCPMD5Unexpected: 0, TCPMD5Failure: 0 };
      // Silence says something only about a signed SYN of ours (not passive, with a password).
      const words = md5Explanation(delta, p.passive || config.password === undefined ? 'passive' : p.bgpState);
      if (!words) return p;
      return { ...p, lastError: p.lastError ? `${p.lastError}; ${words}` : words };
    });
  }
}
