/**
 * What every scenario shares: runs alternating BIRD and the agent, min /
 * median per figure and side, agent/BIRD ratios, and the results file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO, versions, type Side } from './lab.js';

export type Json = Record<string, unknown>;

/** One run of one side: figures by name (null: not reached) and anything else worth keeping. */
export interface RunRecord {
  side: Side;
  run: number;
  /** The side reached the scenario's end state (confirmed by one count after the end). */
  reached: boolean;
  figures: Record<string, number | null>;
  detail: Json;
  error?: string;
}

export interface FigureSpec {
  name: string;
  unit: string;
  /** What it is, in a few words. */
  what: string;
}

export interface ScenarioOutput {
  settings: Json;
  figures: FigureSpec[];
  runs: RunRecord[];
  notes?: string[];
}

export interface Scenario {
  name: string;
  title: string;
  group: string;
  method: string;
  /** `clients`: the route-reflector scale scenario's client count (`--clients N`; 1000 by default, as issue 17 measures it). */
  run(opts: { quick: boolean; runs: number; clients?: number }): Promise<ScenarioOutput>;
}

export const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/** Runs `fn` for both sides `runs` times, alternating which side goes first. */
export async function alternate(runs: number, fn: (side: Side, run: number) => Promise<RunRecord>): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let r = 1; r <= runs; r++) {
    const order: Side[] = r % 2 === 1 ? ['bird', 'agent'] : ['agent', 'bird'];
    for (const side of order) {
      let rec: RunRecord;
      const t = Date.now();
      try {
        rec = await fn(side, r);
      } catch (err) {
        rec = { side, run: r, reached: false, figures: {}, detail: {}, error: (err as Error).message.slice(0, 2000) };
      }
      const figs = Object.entries(rec.figures)
        .map(([k, v]) => `${k}=${v === null ? '-' : round(v, 3)}`)
        .join(' ');
      rec.detail.runSeconds = round((Date.now() - t) / 1000, 1);
      console.error(`  run ${r} ${side} (${rec.detail.runSeconds} s): ${rec.reached ? 'reached' : 'NOT reached'} ${figs}${rec.error ? ` error: ${rec.error.split('\n')[0]}` : ''}`);
      out.push(rec);
    }
  }
  return out;
}

export interface SideStats {
  min: number | null;
  median: number | null;
  values: (number | null)[];
}

function sideStats(runs: RunRecord[], side: Side, fig: string): SideStats {
  const values = runs.filter((r) => r.side === side).map((r) => (r.reached ? (r.figures[fig] ?? null) : null));
  const ok = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return { min: ok.length ? round(Math.min(...ok)) : null, median: ok.length ? round(median(ok)) : null, values };
}

const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? round(a / b, 3) : null);

let commitCache: string | undefined;
export function gitCommit(): string {
  if (commitCache) return commitCache;
  try {
    const c = execFileSync('git', ['-C', REPO, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no', 'src'], { encoding: 'utf8' }).trim() !== '';
    commitCache = dirty ? `${c} (src/ modified)` : c;
  } catch {
    commitCache = 'unknown';
  }
  return commitCache;
}

export function machine(): Json {
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGiB: round(Number(/MemTotal:\s+(\d+)/.exec(execFileSync('cat', ['/proc/meminfo'], { encoding: 'utf8' }))?.[1] ?? 0) / 1048576, 1), loadavgAtEnd: load };
}

export function summarise(s: Scenario, quick: boolean, out: ScenarioOutput, startedAt: Date): Json {
  const figures: Json = {};
  for (const f of out.figures) {
    const bird = sideStats(out.runs, 'bird', f.name);
    const agent = sideStats(out.runs, 'agent', f.name);
    figures[f.name] = { unit: f.unit, what: f.what, bird, agent, ratio: { min: ratio(agent.min, bird.min), median: ratio(agent.median, bird.median) } };
  }
  const reached = (side: Side): boolean => {
    const rs = out.runs.filter((r) => r.side === side);
    return rs.length > 0 && rs.every((r) => r.reached);
  };
  return {
    scenario: s.name,
    title: s.title,
    group: s.group,
    quick,
    date: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    commit: gitCommit(),
    agentUnderTest: process.env.BENCH_AGENT_CLI ? { cli: process.env.BENCH_AGENT_CLI, commit: process.env.BENCH_AGENT_COMMIT ?? 'unknown' } : { cli: 'dist/src/cli/main.js of this checkout', commit: gitCommit() },
    machine: machine(),
    versions: versions(),
    method: s.method,
    settings: out.settings,
    endStateReached: { bird: reached('bird'), agent: reached('agent') },
    figures,
    notes: out.notes ?? [],
    runs: out.runs,
  };
}

export const RESULTS_DIR = join(REPO, 'bench', 'results');

export function writeResult(doc: Json, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${String(doc.scenario)}.json`);
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  return path;
}

const fmt = (x: unknown): string => (x === null || x === undefined ? '-' : typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2)) : String(x));

/** The ratio table: one line per scenario and figure. */
export function ratioTable(docs: Json[]): string {
  const head = ['scenario', 'figure', 'unit', 'BIRD min', 'BIRD med', 'agent min', 'agent med', 'ratio min', 'ratio med'];
  const rows: string[][] = [];
  for (const d of docs) {
    for (const [name, f] of Object.entries(d.figures as Record<string, Json>)) {
      const b = f.bird as SideStats;
      const a = f.agent as SideStats;
      const r = f.ratio as { min: number | null; median: number | null };
      rows.push([String(d.scenario), name, String(f.unit), fmt(b.min), fmt(b.median), fmt(a.min), fmt(a.median), fmt(r.min), fmt(r.median)]);
    }
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]): string => c.map((x, i) => (i < 3 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
