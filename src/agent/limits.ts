/**
 * File descriptors for a mesh: one socket per peer plus etcd, netlink and
 * control. Node has no setrlimit, so the agent cannot raise its own limit:
 * it checks at start and warns, naming the fix (systemd LimitNOFILE=, docker
 * --ulimit), instead of failing at the 1000th peer.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}

export function checkFileLimit(log: Logger, wanted = 4096): void {
  const limit = openFileLimit();
  if (limit !== undefined && limit < wanted) {
    log.warn({ limit, wanted }, 'open file limit is low for a large mesh; raise it (systemd LimitNOFILE=, docker --ulimit nofile=)');
  }
}
