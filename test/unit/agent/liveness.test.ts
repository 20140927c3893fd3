/**
 * `agent live` says no when it should: the control check fails when new
 * clients can no longer reach this agent (its socket file removed or replaced
 * by another process's), and the event-loop check fails after a stall, naming
 * how long the loop stood still. Probes go over a connection opened before the
 * fault, as a client that had connected earlier would send them.
 */
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type DatastorePort } from '../../../src/agent/agent.js';
import type { AgentConfig } from '../../../src/agent/config.js';
import { controlRequest } from '../../../src/agent/control.js';
import { silentLogger } from '../../../src/agent/logger.js';
import type { Check } from '../../../src/agent/readiness.js';

const idleDatastore: DatastorePort = {
  async start() {},
  async stop() {},
  onDiff() {},
  status: () => ({ connected: true, since: 0, synced: true, revision: 1, skipped: [] }),
};

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function startAgent(liveStallLimitMs?: number): Promise<{ agent: Agent; socket: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tf-live-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'agent.ctl');
  const config: AgentConfig = {
    nodeName: 'node-a', etcd: { endpoints: ['http://127.0.0.1:1'] }, controlSocket: socket, logLevel: 'info',
    metricsHost: '127.0.0.1', programRoutes: false, listenPort: 0, readyGracePeriod: 0, restartHoldTime: 0,
    registerNode: false, peerPasswords: {}, manageTunnel: false, tunnelMtu: 1440,
  };
  const agent = new Agent(config, { logger: silentLogger, datastore: idleDatastore, liveStallLimitMs });
  await agent.start();
  cleanup.push(() => agent.stop({ graceful: false }));
  return { agent, socket };
}

/** One connection kept open; each call sends a request line and reads one reply line. */
async function openClient(path: string): Promise<{ ask: (cmd: string) => Promise<Check[]>; close: () => void }> {
  const socket = net.connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setEncoding('utf8');
  let buffered = '';
  const waiting: ((line: string) => void)[] = [];
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  return {
    ask: (cmd) =>
      new Promise((resolve) => {
        waiting.push((line) => resolve((JSON.parse(line) as { result: Check[] }).result));
        socket.write(JSON.stringify({ cmd }) + '\n');
      }),
    close: () => socket.destroy(),
  };
}

const check = (checks: Check[], name: string) => checks.find((c) => c.name === name)!;

describe('agent live: control check', () => {
  it('is ok while the socket file is the one the agent bound', async () => {
    const { socket } = await startAgent();
    const checks = (await controlRequest(socket, { cmd: 'live' })) as Check[];
    expect(check(checks, 'control')).toMatchObject({ ok: true });
    expect(check(checks, 'control').detail).toContain(socket);
  });

  it('fails, naming the path, when the socket file is removed', async () => {
    const { socket } = await startAgent();
    const client = await openClient(socket);
    cleanup.push(client.close);
    unlinkSync(socket);
    const c = check(await client.ask('live'), 'control');
    expect(c.ok).toBe(false);
    expect(c.detail).toMatch(new RegExp(`socket file ${socket} is gone \\(ENOENT\\)`));
  });

  it('fails when another process\'s socket took the path', async () => {
    const { socket } = await startAgent();
    const client = await openClient(socket);
    cleanup.push(client.close);
    unlinkSync(socket);
    const other = net.createServer((s) => s.end());
    await new Promise<void>((r) => other.listen(socket, r));
    cleanup.push(() => new Promise<void>((r) => other.close(() => r())));
    const c = check(await client.ask('live'), 'control');
    expect(c.ok).toBe(false);
    expect(c.detail).toContain('no longer this agent\'s socket');
  });
});

describe('agent live: event-loop check', () => {
  it('fails after a stall longer than the limit, with the stall\'s length, and recovers on the next probe', async () => {
    const { socket } = await startAgent(400);
    const client = await openClient(socket);
    cleanup.push(client.close);
    expect(check(await client.ask('live'), 'event-loop').ok).toBe(true);
    const stallMs = 1500;
    const until = Date.now() + stallMs;
    while (Date.now() < until) {
      /* the loop stands still: no timer, no socket is served */
    }
    // One tick of the agent's 500 ms lag timer after the stall, so it has measured it.
    await new Promise((r) => setTimeout(r, 600));
    const c = check(await client.ask('live'), 'event-loop');
    expect(c.ok).toBe(false);
    const measured = Number(/longest stall since last probe (\d+) ms/.exec(c.detail)?.[1]);
    // The timer ticks every 500 ms, so it sees the stall less up to one period.
    expect(measured).toBeGreaterThanOrEqual(stallMs - 500);
    expect(measured).toBeLessThanOrEqual(stallMs + 200);
    expect(c.detail).toContain('(limit 400 ms)');
    // The probe reports the longest stall since the previous probe, not forever.
    await new Promise((r) => setTimeout(r, 600));
    expect(check(await client.ask('live'), 'event-loop').ok).toBe(true);
  });
});
