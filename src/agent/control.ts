/**
 * The control socket: a unix socket (mode 0600) speaking one JSON object per
 * line each way. `{"cmd":"status"}` -> `{"ok":true,"result":...}`.
 *
 * Handlers answer from snapshots the agent keeps up to date from counters, so
 * a reply never waits for RIB work (calicoctl's "status unreachable while the
 * daemon is busy"). A second agent on the same socket path refuses to start:
 * if something answers there, it is running; a socket file nobody answers on
 * is a leftover of a crash and is replaced.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';

export const DEFAULT_CONTROL_SOCKET = '/var/run/calico/bgp-agent.ctl';

export type ControlHandler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

export interface ControlRequest {
  cmd: string;
  [arg: string]: unknown;
}

export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string };

/** Bound the size of one request line: requests are tiny, a peer sending megabytes is not a client. */
const MAX_REQUEST_BYTES = 64 * 1024;

export class AgentAlreadyRunningError extends Error {}

export class ControlServer {
  private server?: net.Server;
  private readonly handlers = new Map<string, ControlHandler>();
  /** The socket file this server bound (device, inode): a file at the path that is not this one reaches someone else. */
  private bound?: { dev: number; ino: number };

  constructor(readonly path: string) {}

  handle(cmd: string, handler: ControlHandler): this {
    this.handlers.set(cmd, handler);
    return this;
  }

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    if (existsSync(this.path)) {
      if (await isAnswering(this.path)) {
        throw new AgentAlreadyRunningError(
          `another agent is already running on control socket ${this.path}; stop it first or pass a different --control-socket`,
        );
      }
      unlinkSync(this.path); // stale socket of a process that died
    }
    const server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    const st = lstatSync(this.path);
    this.bound = { dev: st.dev, ino: st.ino };
    this.server = server;
  }

  /**
   * Whether a client connecting to the path now reaches this server. A probe
   * answered over a connection opened earlier proves nothing about new ones:
   * the file can have been removed (a tmp cleaner, a second agent's clean-up)
   * or replaced by another process's socket, leaving `agent status` blind.
   */
  reachable(): { ok: boolean; detail: string } {
    if (!this.server?.listening) return { ok: false, detail: `not listening on ${this.path}` };
    let st;
    try {
      st = lstatSync(this.path);
    } catch (err) {
      return { ok: false, detail: `socket file ${this.path} is gone (${(err as NodeJS.ErrnoException).code}): no new client can reach this agent` };
    }
    if (!st.isSocket() || st.dev !== this.bound?.dev || st.ino !== this.bound?.ino) {
      return { ok: false, detail: `${this.path} is no longer this agent's socket (replaced by another file): clients reach something else` };
    }
    return { ok: true, detail: `answering on ${this.path}` };
  }

  private serve(socket: net.Socket): void {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) void this.answer(line).then((reply) => socket.write(JSON.stringify(reply) + '\n'));
      }
    });
  }

  private async answer(line: string): Promise<ControlResponse> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    const handler = this.handlers.get(String(request?.cmd));
    if (!handler) {
      return { ok: false, error: `unknown command "${request?.cmd}"; known: ${[...this.handlers.keys()].join(', ')}` };
    }
    try {
      return { ok: true, result: await handler(request) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

function isAnswering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

export class ControlUnavailableError extends Error {}

/** Send one request to a running agent and return its result; throws with a clear message when none answers. */
export async function controlRequest(path: string, request: ControlRequest, timeoutMs = 5000): Promise<unknown> {
  const reply = await new Promise<ControlResponse>((resolve, reject) => {
    const socket = net.connect(path);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new ControlUnavailableError(`the agent on ${path} did not answer within ${timeoutMs} ms`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? 'no control socket there'
          : err.code === 'ECONNREFUSED'
            ? 'nothing listening (stale socket)'
            : err.code === 'EACCES'
              ? 'permission denied (run as root)'
              : err.message;
      reject(new ControlUnavailableError(`Calico process is not running: no agent answers on ${path} (${why})`));
    });
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        socket.end();
        try {
          resolve(JSON.parse(buffered.slice(0, nl)) as ControlResponse);
        } catch {
          reject(new Error('the agent sent a reply that is not JSON'));
        }
      }
    });
  });
  if (!reply.ok) throw new Error(reply.error);
  return reply.result;
}
