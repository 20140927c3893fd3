/**
 * `agent run` as the integration tests start it: a child process in a test
 * namespace, configured through etcd, its log captured (JSON lines, so a
 * failing wait can print what it said), and its CLI at hand on its control
 * socket. One place for what every end-to-end test needs, so each test file
 * says only what it checks.
 */
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { sh, type Netns } from '../../src/testbed/netns.js';
import { eventually, type EventuallyOptions } from './wait.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** The built CLI the tests run (`npm run build` writes it). */
export const CLI = join(REPO, 'dist/src/cli/main.js');

export interface AgentRunOptions {
  nodeName: string;
  /** The node's address with prefix length, as `--ip` takes it. */
  ip: string;
  /** Comma-separated etcd endpoints. */
  etcdEndpoints: string;
  socket: string;
  /** `--log-level` (default info: state changes are logged at info). */
  logLevel?: string;
}

/** `agent datastore apply -f -` of `yaml` against `etcdEndpoints`, run in `ns`. */
export function datastoreApply(ns: Netns, etcdEndpoints: string, yaml: string): string {
  return ns.exec(process.execPath, [CLI, 'datastore', 'apply', '-f', '-', '--etcd-endpoints', etcdEndpoints], { input: yaml });
}

export class AgentProcess {
  /** Everything the running (or last) process wrote, stdout and stderr. */
  log = '';
  proc: ChildProcess | undefined;

  constructor(
    readonly ns: Netns,
    readonly opts: AgentRunOptions,
  ) {}

  /** Start `agent run` with the common flags plus `extra` (a `--log-level` there wins); the previous log is dropped. */
  start(extra: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const o = this.opts;
    this.log = '';
    const level = extra.includes('--log-level') ? [] : ['--log-level', o.logLevel ?? 'info'];
    const proc = this.ns.spawn(process.execPath, [
      CLI, 'run', '--node-name', o.nodeName, '--ip', o.ip, '--etcd-endpoints', o.etcdEndpoints,
      '--control-socket', o.socket, '--ready-grace-period', '0', ...level, ...extra,
    ], { env: { ...process.env, AGENT_LOG_FORMAT: 'json', ...env } });
    proc.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = proc;
    return proc;
  }

  /** An `agent` CLI command against this agent's control socket; throws with its output if it fails. */
  cli(args: string[]): string {
    return sh(process.execPath, [CLI, ...args, '--control-socket', this.opts.socket]);
  }

  /** `agent status --json`, parsed. */
  status<T = { peers: { address: string; bgpState: string; since: string }[] }>(): T {
    return JSON.parse(this.cli(['status', '--json'])) as T;
  }

  /** The last `n` characters of the log, for failure messages. */
  tail(n = 3000): string {
    return this.log.slice(-n);
  }

  /** `eventually`, with this agent's log tail (and `context`, if given) in the failure. */
  until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000, opts: EventuallyOptions = {}): Promise<T> {
    return eventually(what, fn, timeoutMs, {
      ...opts,
      context: () => `${opts.context ? `${opts.context()}\n` : ''}agent log tail:\n${this.tail()}`,
    });
  }

  /** Stop with `signal` and wait for the exit; resolves to the exit code (null when killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    return exited;
  }
}
