/**
 * A real etcd-server (Debian etcd 3.4) for tests and the lab: a temporary
 * data dir, random free client and peer ports on 127.0.0.1, optional TLS with
 * a CA and certificates made by openssl, health wait, and stop / kill /
 * restart that keep the data dir (so revisions survive, as in a real outage).
 *
 * Everything is removed by destroy(); a process 'exit' hook kills any server
 * still running so a crashed test run leaves no etcd behind.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdTls {
  dir: string;
  caFile: string;
  certFile: string; // server cert (also usable by clients: it has clientAuth)
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export interface EtcdServerOptions {
  tls?: boolean;
  /** Extra etcd flags. */
  args?: string[];
  /** ms to wait for health. */
  startTimeoutMs?: number;
  /** Parent of the temp dir (e.g. /dev/shm to keep fsync latency out of a benchmark). */
  baseDir?: string;
}

const live = new Set<EtcdServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) s.destroySync();
  });
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
export function makeTlsCertificates(dir: string): EtcdTls {
  const ext = join(dir, 'san.cnf');
  writeFileSync(
    ext,
    [
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      'extendedKeyUsage = serverAuth, clientAuth',
      'keyUsage = digitalSignature, keyEncipherment',
      '',
    ].join('\n'),
  );
  const clientExt = join(dir, 'client.cnf');
  writeFileSync(clientExt, 'extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature, keyEncipherment\n');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=agent-test-ca'], dir);
  for (const [name, extFile] of [
    ['server', ext],
    ['client', clientExt],
  ] as const) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'server' ? 'localhost' : 'calico-node'}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', extFile], dir);
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

export class EtcdServer {
  private proc?: ChildProcess;
  private log?: WriteStream;
  private destroyed = false;
  private watchdog?: ChildProcess;

  private constructor(
    readonly root: string,
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly tls: EtcdTls | undefined,
    private readonly opts: EtcdServerOptions,
  ) {}

  /** Start a fresh single-member cluster and wait until it is healthy. */
  static async start(opts: EtcdServerOptions = {}): Promise<EtcdServer> {
    installExitHook();
    const root = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'agent-etcd-'));
    let server: EtcdServer | undefined;
    try {
      const tls = opts.tls ? makeTlsCertificates(root) : undefined;
      const clientPort = await freePort();
      let peerPort = await freePort();
      while (peerPort === clientPort) peerPort = await freePort();
      server = new EtcdServer(root, join(root, 'data'), clientPort, peerPort, tls, opts);
      live.add(server);
      await server.launch();
      return server;
    } catch (err) {
      if (server) await server.destroy();
      else rmSync(root, { recursive: true, force: true });
      throw err;
    }
  }

  get scheme(): string {
    return this.tls ? 'https' : 'http';
  }

  /** Client URL, e.g. http://127.0.0.1:23791 */
  get endpoint(): string {
    return `${this.scheme}://127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Environment for the agent, as calico-node reads it. */
  env(): Record<string, string> {
    const e: Record<string, string> = { ETCD_ENDPOINTS: this.endpoint };
    if (this.tls) {
      e.ETCD_CA_CERT_FILE = this.tls.caFile;
      e.ETCD_CERT_FILE = this.tls.clientCertFile;
      e.ETCD_KEY_FILE = this.tls.clientKeyFile;
    }
    return e;
  }

  private async launch(): Promise<void> {
    const name = `agent-${this.clientPort}`;
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name', name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', name,
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    if (this.tls) {
      args.push('--cert-file', this.tls.certFile, '--key-file', this.tls.keyFile, '--trusted-ca-file', this.tls.caFile, '--client-cert-auth');
    }
    args.push(...(this.opts.args ?? []));
    this.log = createWriteStream(join(this.root, 'etcd.log'), { flags: 'a' });
    const proc = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(this.log, { end: false });
    proc.stderr?.pipe(this.log, { end: false });
    this.proc = proc;
    writeFileSync(join(this.root, 'etcd.pid'), String(proc.pid));
    this.startWatchdog();
    await this.waitHealthy(this.opts.startTimeoutMs ?? 15_000);
  }

  /**
   * A test runner may kill its worker without running 'exit' hooks; this
   * detached shell outlives us by at most a second and then kills our etcd
   * (pid from <root>/etcd.pid) and removes the temp dir.
   */
  private startWatchdog(): void {
    if (this.watchdog) return;
    const pidFile = join(this.root, 'etcd.pid');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` + `p=$(cat '${pidFile}' 2>/dev/null) && kill -9 "$p" 2>/dev/null; rm -rf '${this.root}'`;
    const w = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    w.unref();
    this.watchdog = w;
  }

  /** Poll `etcdctl endpoint health` until it answers. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`etcd exited early (see ${join(this.root, 'etcd.log')})`);
      try {
        this.etcdctl(['endpoint', 'health', '--command-timeout=1s']);
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd not healthy after ${timeoutMs} ms: ${last}`);
  }

  /** Run etcdctl (API v3) against this server; returns stdout. */
  etcdctl(args: string[], input?: string): string {
    const flags = [`--endpoints=${this.endpoint}`];
    if (this.tls) flags.push(`--cacert=${this.tls.caFile}`, `--cert=${this.tls.clientCertFile}`, `--key=${this.tls.clientKeyFile}`);
    try {
      return execFileSync('etcdctl', [...flags, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
        maxBuffer: 256 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`etcdctl ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
    }
  }

  /** Current store revision (from `etcdctl endpoint status`). */
  revision(): number {
    const out = JSON.parse(this.etcdctl(['endpoint', 'status', '-w', 'json'])) as { Status: { header: { revision: number } } }[];
    return Number(out[0].Status.header.revision);
  }

  /** Compact history up to `rev` (defaults to the current revision). */
  compact(rev = this.revision()): number {
    this.etcdctl(['compact', String(rev)]);
    return rev;
  }

  private async waitExit(timeoutMs: number): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
      }, timeoutMs);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Graceful stop (SIGTERM), keeping the data dir. */
  async stop(): Promise<void> {
    if (this.running) {
      this.proc!.kill('SIGTERM');
      await this.waitExit(5000);
    }
  }

  /** Hard kill (SIGKILL), keeping the data dir: an outage as it happens. */
  async kill(): Promise<void> {
    if (this.running) {
      this.proc!.kill('SIGKILL');
      await this.waitExit(5000);
    }
  }

  /** Start again on the same ports with the same data dir. */
  async restart(): Promise<void> {
    await this.stop();
    const args = this.opts.args ?? [];
    // The member already exists in the data dir: etcd ignores --initial-* then.
    this.opts.args = args;
    await this.launch();
  }

  /** Stop and remove everything. Safe to call more than once. */
  async destroy(): Promise<void> {
    await this.kill();
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    if (this.running) {
      try {
        this.proc!.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.log?.end();
    if (this.watchdog?.pid) {
      try {
        process.kill(this.watchdog.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(this.root, { recursive: true, force: true });
    this.destroyed = true;
    live.delete(this);
  }
}
