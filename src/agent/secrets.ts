/**
 * BGP passwords from Kubernetes Secrets, read where the kubelet mounts a
 * Secret volume: `$BGP_SECRETS_DIR/<secret name>/<key>` (default
 * /etc/calico/bgp-secrets). Calico's BGPPeer `spec.password.secretKeyRef`
 * and BGPConfiguration `spec.nodeMeshPassword.secretKeyRef` name the secret
 * and key; the value is the file's exact bytes (Kubernetes adds no newline).
 *
 * The kubelet updates a mounted Secret by writing a new timestamped
 * directory and renaming a `..data` symlink over the old one (atomic), each
 * key being a symlink `<key> -> ..data/<key>`. So files are opened by path
 * every time (following the links, never holding an inode) and re-read on a
 * short poll: a watch on a symlinked tree misses the rename of `..data`, and
 * a handful of small files per second costs nothing.
 *
 * Values never leave this module except as PeerConfig.password, which the
 * session code hands to the kernel; problems name the secret and key only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerConfig } from '../contracts.js';
import { TCP_MD5SIG_MAXKEYLEN } from '../bgp/session/socket-options.js';

export const DEFAULT_SECRETS_DIR = '/etc/calico/bgp-secrets';
export const DEFAULT_POLL_MS = 1000;

export interface SecretRef {
  name: string;
  key: string;
}

/**
 * A secret key's value, or why there is none. `missing`: the secret or the
 * key does not exist (or is empty), which calico-node's confd renders as a
 * session without a password (its test "password": steps 1, 4 and 6); any
 * other problem leaves no password the session could honestly use.
 */
export type SecretValue = { ok: true; value: string } | { ok: false; problem: string; missing: boolean };

/** Kubernetes object names are DNS subdomains (RFC 1123); Secret keys are [-._a-zA-Z0-9]+, never "." or "..". */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** Read one key of a mounted Secret: its exact bytes as a password, or why not (without the value). */
export function readSecret(dir: string, ref: SecretRef): SecretValue {
  if (!SECRET_NAME.test(ref.name)) return { ok: false, missing: false, problem: `"${ref.name}" is not a Kubernetes Secret name` };
  // ".." and names starting with it are the kubelet's own (..data, ..2024_...): never a key.
  if (!SECRET_KEY.test(ref.key) || ref.key.startsWith('..') || ref.key === '.') {
    return { ok: false, missing: false, problem: `"${ref.key}" is not a Kubernetes Secret key` };
  }
  const file = join(dir, ref.name, ref.key);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !existsSync(join(dir, ref.name))) return { ok: false, missing: true, problem: `secret "${ref.name}" is not mounted (no ${join(dir, ref.name)})` };
    if (code === 'ENOENT') return { ok: false, missing: true, problem: `secret "${ref.name}" has no key "${ref.key}" (no ${file})` };
    return { ok: false, missing: false, problem: `cannot read ${file}: ${code ?? (err as Error).message}` };
  }
  if (bytes.length === 0) return { ok: false, missing: true, problem: `key "${ref.key}" of secret "${ref.name}" is empty` };
  if (bytes.length > TCP_MD5SIG_MAXKEYLEN) {
    return { ok: false, missing: false, problem: `key "${ref.key}" of secret "${ref.name}" is ${bytes.length} bytes: TCP MD5 keys are at most ${TCP_MD5SIG_MAXKEYLEN}` };
  }
  const value = bytes.toString('utf8');
  // The key is the password's UTF-8 bytes (session-security.ts md5Key), so a value must survive the round trip.
  if (!Buffer.from(value, 'utf8').equals(bytes)) return { ok: false, missing: false, problem: `key "${ref.key}" of secret "${ref.name}" is not UTF-8 text` };
  return { ok: true, value };
}

export interface SecretProblem {
  /** Which secret, for `agent status`: "secret <name> key <key>". */
  key: string;
  /** The session it is for. */
  peer: string;
  message: string;
}

/**
 * Fill each peer's password from its secret. When the secret or key is
 * missing the session runs without a password, as calico-node's confd
 * renders it (so deleting a key removes the password, as in Calico), and a
 * problem names the peer, the secret and the key; a value that cannot be a
 * TCP MD5 key marks the peer (`passwordProblem`): it stays down, listed, with
 * the reason. A peer whose password came from the agent's own configuration
 * is left as it is.
 */
export function resolvePasswords(configs: readonly PeerConfig[], read: (ref: SecretRef) => SecretValue): { peers: PeerConfig[]; problems: SecretProblem[] } {
  const problems: SecretProblem[] = [];
  const peers = configs.map((c) => {
    const ref = c.passwordSecret;
    if (!ref || c.password !== undefined) return c;
    const got = read(ref);
    if (got.ok) return { ...c, password: got.value };
    const what = `peer ${c.name} (${c.address}): TCP MD5 password from secret "${ref.name}" key "${ref.key}": ${got.problem}`;
    const message = got.missing ? `${what}; peering without a password, as calico-node does` : `${what}; session not started`;
    problems.push({ key: `secret ${ref.name} key ${ref.key}`, peer: c.name, message });
    return got.missing ? c : { ...c, passwordProblem: message };
  });
  return { peers, problems };
}

/**
 * The secrets the current peers use, re-read on each `poll()`; `onChange`
 * runs when any value (or its problem) differs from the last reading, so
 * the agent re-applies its peers and only the sessions whose password
 * changed are reset (the speaker diffs configs).
 */
export class SecretStore {
  private readonly cache = new Map<string, { ref: SecretRef; value: SecretValue }>();

  constructor(
    readonly dir: string,
    private readonly onChange: () => void,
  ) {}

  /** The current value of a secret key (read now the first time, then as last polled). */
  read(ref: SecretRef): SecretValue {
    const id = `${ref.name}\u0000${ref.key}`;
    let entry = this.cache.get(id);
    if (!entry) {
      entry = { ref: { ...ref }, value: readSecret(this.dir, ref) };
      this.cache.set(id, entry);
    }
    return entry.value;
  }

  /** Forget secrets no peer uses any more (called with the refs in use after each apply). */
  retain(refs: Iterable<SecretRef>): void {
    const keep = new Set([...refs].map((r) => `${r.name}\u0000${r.key}`));
    for (const id of this.cache.keys()) if (!keep.has(id)) this.cache.delete(id);
  }

  /** Re-read every cached secret; true when something changed (and onChange was called). */
  poll(): boolean {
    let changed = false;
    for (const entry of this.cache.values()) {
      const next = readSecret(this.dir, entry.ref);
      if (!sameValue(entry.value, next)) {
        entry.value = next;
        changed = true;
      }
    }
    if (changed) this.onChange();
    return changed;
  }
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.ok && b.ok) return a.value === b.value;
  if (!a.ok && !b.ok) return a.problem === b.problem;
  return false;
}
