/**
 * Measuring a process from outside, the same way for BIRD and for the agent:
 *
 * - CPU: /proc/<pid>/task/<tid>/schedstat (first field: ns on a CPU), summed
 *   over every thread of the process (V8's GC helpers and libuv's pool count);
 * - memory: VmHWM and VmRSS of /proc/<pid>/status (the whole process);
 * - end of work: the end of the last busy stretch (>= 50 % of a core over 20 ms
 *   on the main thread) that is followed by a 1 s window using < 5 % of a core
 *   with < 15 ms in busy stretches in it (the main thread is sampled every 5 ms, so the
 *   end is known to a few ms, and work smaller than 5 % of a second is not
 *   mistaken for quiet); deferred work such as garbage collection is inside
 *   the time.
 *
 * Plus the registry of every child and namespace a run makes, so that a
 * failure, a signal or a timeout cleans everything up.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** ns on a CPU of one thread; 0 when it is gone. */
function threadNs(path: string): number {
  try {
    const s = readFileSync(path, 'utf8');
    return Number(s.slice(0, s.indexOf(' ')));
  } catch {
    return 0;
  }
}

/** CPU seconds of every thread of `pid` (schedstat). */
export function cpuSeconds(pid: number): number {
  let ns = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const t of tids) ns += threadNs(`/proc/${pid}/task/${t}/schedstat`);
  return ns / 1e9;
}

export interface Memory {
  hwmBytes: number;
  rssBytes: number;
}

export function memory(pid: number): Memory {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { hwmBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
  } catch {
    return { hwmBytes: 0, rssBytes: 0 };
  }
}

/** Wall time of the monotonic clock in ms (CLOCK_MONOTONIC: the same clock in every process on the machine). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface QuietResult {
  /** Monotonic ms when the work ended (start of the first quiet window). */
  endMono: number;
  /** Monotonic ms when the quiet window was confirmed. */
  confirmedMono: number;
}

/**
 * Samples a process's main thread every `intervalMs` and the whole process
 * every 50 ms, from `start()` on.
 */
export class CpuWatch {
  private main: { t: number; ns: number }[] = [];
  private all: { t: number; s: number }[] = [];
  private timer?: NodeJS.Timeout;
  private timerAll?: NodeJS.Timeout;
  private readonly mainPath: string;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 5,
  ) {
    this.mainPath = `/proc/${pid}/task/${pid}/schedstat`;
  }

  start(): void {
    const sample = (): void => {
      this.main.push({ t: monoMs(), ns: threadNs(this.mainPath) });
    };
    const sampleAll = (): void => {
      this.all.push({ t: monoMs(), s: cpuSeconds(this.pid) });
    };
    sample();
    sampleAll();
    this.timer = setInterval(sample, this.intervalMs);
    this.timerAll = setInterval(sampleAll, 50);
  }

  stop(): void {
    if (process.env.BENCH_DEBUG_SAMPLES) writeFileSync(`${process.env.BENCH_DEBUG_SAMPLES}-${this.pid}.json`, JSON.stringify({ main: this.main, all: this.all }));
    clearInterval(this.timer);
    clearInterval(this.timerAll);
  }

  /** Whole-process CPU seconds at the last sample at or before `mono`. */
  cpuBefore(mono: number): number {
    let v = this.all[0]?.s ?? 0;
    for (const x of this.all) if (x.t <= mono) v = x.s;
    return v;
  }

  /** Whole-process CPU seconds at (the first sample at or after) `mono`. */
  cpuAt(mono: number): number {
    for (const x of this.all) if (x.t >= mono) return x.s;
    return cpuSeconds(this.pid);
  }

  /**
   * Resolves once a window of `windowMs` after `fromMono` used less than
   * `share` of a core (main thread), or rejects at `deadlineMono`.
   */
  async quiet(fromMono: number, deadlineMono: number, windowMs = 1000, share = 0.05): Promise<QuietResult> {
    for (;;) {
      const s = this.main;
      // The end is the end of a busy sample interval (>= 25 % of a core) that is
      // followed by a window of `windowMs` using < `share` of a core. Work too small
      // to make any interval busy ends at the start of the first quiet window.
      // Busy: >= 50 % of a core over the 20 ms before a sample (a 3 ms blip of housekeeping is not).
      const busyEnd = (j: number): boolean => {
        let i = j;
        while (i > 0 && s[j].t - s[i].t < 20) i--;
        return i < j && s[j].t - s[i].t >= 15 && (s[j].ns - s[i].ns) / ((s[j].t - s[i].t) * 1e6) >= 0.5;
      };
      /** The last 5 ms interval at or before j in which the thread ran >= 25 %: where the burst really ended. */
      const refine = (j: number): number => {
        for (let x = j; x > 0 && s[x].t >= fromMono; x--) if ((s[x].ns - s[x - 1].ns) / ((s[x].t - s[x - 1].t) * 1e6) >= 0.25) return x;
        return j;
      };
      let k = 0;
      let firstQuiet = -1;
      let firstQuietK = -1;
      for (let j = 0; j < s.length; j++) {
        if (s[j].t < fromMono) continue;
        if (k < j) k = j;
        while (k < s.length && s[k].t < s[j].t + windowMs) k++;
        if (k >= s.length) break;
        let quiet = s[k].ns - s[j].ns < share * windowMs * 1e6;
        // ... and less than 15 ms of CPU in busy stretches inside the window: a burst of
        // work smaller than share * window is still work (small scenarios), while a
        // short blip of periodic housekeeping (BIRD's 2 s scans, a timer) is not.
        let busyNs = 0;
        for (let x = j + 1; quiet && x <= k; x++) if (busyEnd(x)) busyNs += s[x].ns - s[x - 1].ns;
        if (busyNs >= 15e6) quiet = false;
        if (!quiet) continue;
        if (firstQuiet < 0) {
          firstQuiet = j;
          firstQuietK = k;
        }
        if (busyEnd(j)) return { endMono: s[refine(j)].t, confirmedMono: s[k].t };
        // Past a quiet window with no busy interval anywhere since fromMono: small work.
        if (s[j].t > s[firstQuiet].t + windowMs) {
          let e = firstQuiet;
          for (let x = firstQuiet; x < firstQuietK; x++) if (s[x + 1].ns > s[x].ns + 0.2e6) e = x + 1;
          return { endMono: s[e].t, confirmedMono: s[firstQuietK].t };
        }
      }
      if (monoMs() > deadlineMono) throw new Error('the process never went quiet');
      await sleep(50);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- cleanup registry

const children = new Set<ChildProcess>();
const namespaces = new Set<string>();
const dirs = new Set<string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts }));
}

export function trackNamespace(name: string): void {
  namespaces.add(name);
}
export function untrackNamespace(name: string): void {
  namespaces.delete(name);
}
export function trackDir(path: string): void {
  dirs.add(path);
}

export async function stopChild(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL', waitMs = 5000): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await Promise.race([exited, sleep(waitMs)]);
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}

export function killAllSync(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
}

export function cleanupSync(delNs: (name: string) => void): void {
  killAllSync();
  for (const n of namespaces) delNs(n);
  namespaces.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
