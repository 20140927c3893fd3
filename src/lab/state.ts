/**
 * The lab's state directory: a lock held while a lab command works, and
 * state.json describing the running lab (plan, block assignment, processes)
 * so `change` and `down` find it, and a second `npm run lab` sees it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, type Daemon } from './daemon.js';
import type { Assignment, LabPlan } from './plan.js';

export interface LabState {
  version: 1;
  startedAt: string;
  status: 'starting' | 'up';
  plan: LabPlan;
  assignment: Assignment;
  /** --ipv6: the IPv6 blocks' affinities (dual-stack.ts). */
  assignment6?: Assignment;
  daemons: Daemon[];
  /** How the resources were written: "agent datastore apply" or "etcdctl" (until apply existed). */
  writer?: string;
}

export class LabError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): LabState | undefined {
  const p = statePath(dir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(dir: string, state: LabState): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${statePath(dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, statePath(dir));
}

/**
 * Take the lab lock: a file holding our pid, created exclusively. A lock whose
 * pid is dead was left by a crash and is taken over. Returns the release function.
 */
export function acquireLock(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid} ${what}\n`, { flag: 'wx' });
      return () => {
        try {
          const [pid] = readFileSync(lock, 'utf8').split(' ');
          if (Number(pid) === process.pid) rmSync(lock, { force: true });
        } catch {
          /* already removed (down removes the whole directory) */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, ...rest] = readFileSync(lock, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new LabError(
          `another lab command is working right now: \`${rest.join(' ') || 'lab'}\` (pid ${pid}, lock ${lock}).\n` +
            'Wait for it to finish, or stop it and run `npm run lab -- down`.',
        );
      }
      rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new LabError(`could not take the lab lock ${lock}`);
}
