/**
 * `npm run lab -- down`: remove everything a lab made — its processes, its
 * namespaces and bridge, its state directory — from state.json when there is
 * one and, after a crash, from the namespaces' names alone (every process
 * living in a lab namespace belongs to the lab).
 */
import { existsSync, rmSync } from 'node:fs';
import { ip, Testbed } from '../testbed/netns.js';
import { pidsInNamespace, stopPid } from './daemon.js';
import { readState } from './state.js';

export function labNamespaces(prefix: string): string[] {
  return ip(['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith(prefix));
}

export interface DownReport {
  processes: number;
  namespaces: number;
  removedDir: boolean;
}

export async function labDown(dir: string, fallbackPrefix: string, write: (l: string) => void): Promise<DownReport> {
  const state = readState(dir);
  const prefix = state?.plan.prefix ?? fallbackPrefix;
  const namespaces = labNamespaces(prefix);
  let processes = 0;
  // Speakers first (so they withdraw and close sessions), etcd last.
  const ordered = [...namespaces].sort((a, b) => Number(a.endsWith('etcd')) - Number(b.endsWith('etcd')));
  for (const ns of ordered) {
    const pids = pidsInNamespace(ns);
    await Promise.all(pids.map((p) => stopPid(p)));
    processes += pids.length;
    if (pids.length > 0) write(`  stopped ${pids.length} process(es) in ${ns}`);
  }
  Testbed.sweep(prefix);
  if (namespaces.length > 0) write(`  removed ${namespaces.length} namespace(s) ${prefix}* and the bridge ${prefix}br`);
  const removedDir = existsSync(dir);
  if (removedDir) {
    rmSync(dir, { recursive: true, force: true });
    write(`  removed ${dir}`);
  }
  return { processes, namespaces: namespaces.length, removedDir };
}
