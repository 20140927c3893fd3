/**
 * Long-running lab processes (etcd, BIRD, agents) started inside a network
 * namespace, detached from the `npm run lab` that started them so the lab
 * keeps running after it returns; `down` ends them by pid.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sh } from '../testbed/netns.js';

export interface Daemon {
  role: string; // "etcd", "bird node-1", "agent node-2"
  ns: string;
  pid: number;
  log: string;
}

/** Start `cmd args` in `ns` with stdout+stderr appended to `log`; returns its pid (`ip netns exec` execs in place). */
export function startDaemon(role: string, ns: string, cmd: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${ns}; see ${log}`);
    child.unref();
    return { role, ns, pid: child.pid, log };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 40 && isAlive(pid); i++) await sleep(25);
}

/** Pids of every process living in a namespace (`ip netns pids`): what a crashed lab left behind. */
export function pidsInNamespace(ns: string): number[] {
  return sh('ip', ['netns', 'pids', ns], { allowFail: true })
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 1);
}

/** Last `n` lines of a log file, for failure messages. */
export function tail(path: string, n = 15): string {
  return sh('tail', ['-n', String(n), path], { allowFail: true }).trimEnd();
}
