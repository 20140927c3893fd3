/**
 * A lab node running BIRD 2 as calico-node would: the confd-equivalent
 * configuration (bird-config.ts) and `bird -R` (calico-node starts BIRD with
 * graceful-restart recovery: kernel export waits for peers' End-of-RIB).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sh } from '../testbed/netns.js';
import { renderBirdConfig } from './bird-config.js';
import { isAlive, startDaemon, tail, type Daemon } from './daemon.js';
import type { Assignment, LabNode, LabPlan } from './plan.js';

export function birdFiles(dir: string, node: LabNode): { home: string; conf: string; ctl: string; pid: string; log: string } {
  const home = join(dir, node.name);
  return {
    home,
    conf: join(home, 'bird.conf'),
    ctl: join(home, 'bird.ctl'),
    pid: join(home, 'bird.pid'),
    log: join(home, 'bird.log'),
  };
}

export function birdc(ctl: string, args: string[]): string {
  return sh('birdc', ['-s', ctl, ...args]);
}

export async function startBird(
  plan: LabPlan,
  assignment: Assignment,
  node: LabNode,
  dir: string,
  onSpawn: (d: Daemon) => void,
  timeoutMs = 10_000,
): Promise<Daemon> {
  const f = birdFiles(dir, node);
  mkdirSync(f.home, { recursive: true });
  writeFileSync(f.conf, renderBirdConfig(plan, assignment, node));
  sh('bird', ['-p', '-c', f.conf]); // parse first: a config error names the line
  const d = startDaemon(`bird ${node.name}`, node.ns, 'bird', ['-f', '-R', '-c', f.conf, '-s', f.ctl, '-P', f.pid], f.log);
  onSpawn(d); // recorded before waiting, so `down` finds it even if start-up fails
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(d.pid)) throw new Error(`bird exited at start:\n${tail(f.log)}`);
    if (/BIRD .* ready/.test(sh('birdc', ['-s', f.ctl, 'show', 'status'], { allowFail: true }))) return d;
    await sleep(100);
  }
  throw new Error(`bird did not answer on ${f.ctl} within ${timeoutMs / 1000} s`);
}

/** Re-render after the datastore changed (what confd does) and have BIRD reload it. */
export function reconfigureBird(plan: LabPlan, assignment: Assignment, node: LabNode, dir: string): void {
  const f = birdFiles(dir, node);
  writeFileSync(f.conf, renderBirdConfig(plan, assignment, node));
  const out = birdc(f.ctl, ['configure']);
  if (!/Reconfigur|Reconfiguration in progress|unchanged/i.test(out)) throw new Error(`birdc configure: ${out.trim()}`);
}

export function birdStatus(dir: string, node: LabNode): string {
  return birdc(birdFiles(dir, node).ctl, ['show', 'protocols']).trimEnd();
}
