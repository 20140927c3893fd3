/**
 * A BIRD 2 runner for the integration tests and the lab: writes a config to
 * a temp dir, starts `bird -f -c bird.conf -s bird.ctl -P bird.pid` inside a
 * network namespace, waits for the control socket, and talks to it with
 * `birdc`. Stop, kill, freeze (SIGSTOP) and thaw (SIGCONT) for failure
 * tests; `cleanup()` kills it and removes the directory, whatever state it is in.
 *
 * calico-node runs BIRD with `-R` after a restart (graceful-restart recovery:
 * export waits for every peer's End-of-RIB); `start({ recovery: true })` does the same.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, type Netns } from './netns.js';

export interface BirdStartOptions {
  /** `-R`: graceful restart recovery. */
  recovery?: boolean;
  /** How long to wait for the control socket (ms). */
  timeoutMs?: number;
}

export class Bird {
  readonly dir: string;
  private proc: ChildProcess | null = null;
  private output = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly ns: Netns,
    private config: string,
    dirPrefix = 'bird-',
  ) {
    this.dir = mkdtempSync(join(tmpdir(), dirPrefix));
    writeFileSync(this.confPath, config);
  }

  get confPath(): string {
    return join(this.dir, 'bird.conf');
  }

  get ctlPath(): string {
    return join(this.dir, 'bird.ctl');
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** BIRD's stdout/stderr so far (for failure messages). */
  get log(): string {
    return this.output;
  }

  async start(opts: BirdStartOptions = {}): Promise<void> {
    if (this.running) throw new Error('BIRD already running');
    rmSync(this.ctlPath, { force: true });
    const args = ['-f', '-c', this.confPath, '-s', this.ctlPath, '-P', join(this.dir, 'bird.pid')];
    if (opts.recovery) args.push('-R');
    // `ip netns exec` execs bird in place, so the child's pid is BIRD's and signals reach it.
    const proc = this.ns.spawn('bird', args);
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      if (!this.running) throw new Error(`BIRD exited at start: ${this.output.trim()}`);
      if (existsSync(this.ctlPath) && this.tryBirdc('show status').includes('Daemon is up')) return;
      if (Date.now() > deadline) throw new Error(`BIRD control socket did not come up: ${this.output.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Run a birdc command and return its output; throws on failure. */
  birdc(command: string): string {
    return sh('birdc', ['-s', this.ctlPath, ...command.split(/\s+/).filter(Boolean)]);
  }

  /**
   * One protocol's line of `show protocols`: its state ("Established", ...)
   * and since (one-second resolution): an unchanged since means no reset.
   */
  protocolState(name: string): { state: string; since: string } {
    const line = this.birdc(`show protocols ${name}`).split('\n').find((l) => l.startsWith(name)) ?? '';
    const cols = line.trim().split(/\s+/);
    return { state: cols.slice(5).join(' '), since: cols[4] ?? '' };
  }

  private tryBirdc(command: string): string {
    try {
      return this.birdc(command);
    } catch {
      return '';
    }
  }

  /** Replace the configuration and `birdc configure`. */
  reconfigure(config: string): string {
    this.config = config;
    writeFileSync(this.confPath, config);
    return this.birdc('configure');
  }

  /** Write a new configuration to be used at the next start. */
  setConfig(config: string): void {
    this.config = config;
    writeFileSync(this.confPath, config);
  }

  /** Poll a birdc command until `test` accepts its output. */
  async waitFor(command: string, test: (out: string) => boolean, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let out = '';
    for (;;) {
      out = this.tryBirdc(command);
      if (test(out)) return out;
      if (Date.now() > deadline) throw new Error(`timed out waiting on birdc ${command}; last output:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async signal(sig: NodeJS.Signals, wait: boolean): Promise<void> {
    if (!this.proc || !this.running) return;
    this.proc.kill(sig);
    if (wait) {
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.running) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
      this.proc = null;
    }
  }

  /** Orderly stop (SIGTERM): BIRD sends Cease to its peers. */
  stop(): Promise<void> {
    return this.signal('SIGTERM', true);
  }

  /** SIGKILL: no NOTIFICATION, the kernel closes BIRD's sockets (a crash, or a restart that keeps routes). */
  kill(): Promise<void> {
    return this.signal('SIGKILL', true);
  }

  /** SIGSTOP: BIRD stops answering while its TCP sessions stay open. */
  freeze(): Promise<void> {
    return this.signal('SIGSTOP', false);
  }

  thaw(): Promise<void> {
    return this.signal('SIGCONT', false);
  }

  /** Kill (thawing first) and remove the temp dir. Safe to call more than once. */
  async cleanup(): Promise<void> {
    if (this.proc && this.running) {
      this.proc.kill('SIGCONT');
      await this.kill();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
