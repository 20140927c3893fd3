/**
 * Run kernel code the way the agent runs: a separate node process started with
 * `ip netns exec <ns>`, so its netlink socket lives in that namespace (a
 * process cannot move its own sockets; the agent never needs setns).
 *
 * The child is a TypeScript entry bundled with esbuild into
 * node_modules/.cache (so `require('netlink')` still resolves), and driven
 * over Node's IPC channel, which `ip netns exec` passes through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

export async function bundle(entry: string): Promise<{ file: string; cleanup: () => void }> {
  const dir = join(repo, 'node_modules', '.cache', 'kernel-tests', `${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'child.mjs');
  await build({
    entryPoints: [resolve(here, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    external: ['netlink', 'pino', 'pino-pretty'],
    logLevel: 'error',
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A child in a namespace that answers {id, cmd, args} with {id, ok, value|error}. */
export class NsChild {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  stderr = '';

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
    proc.stderr?.on('data', (d) => (this.stderr += String(d)));
    proc.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`child exited (${code}): ${this.stderr.slice(-2000)}`));
      this.waiting.clear();
    });
  }

  static start(ns: string, file: string, env: Record<string, string> = {}): NsChild {
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, file], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...env },
    });
    return new NsChild(proc);
  }

  call<T = unknown>(cmd: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
