/** `agent log-level`: the change is logged once, as valid JSON with one "level" key (issue 23). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type DatastorePort } from '../../../src/agent/agent.js';
import type { AgentConfig } from '../../../src/agent/config.js';
import { controlRequest } from '../../../src/agent/control.js';

const idle: DatastorePort = {
  async start() {},
  async stop() {},
  onDiff() {},
  status: () => ({ connected: true, since: 0, synced: false, revision: 0, skipped: [] }),
};

let agent: Agent | undefined;
let dir = '';
afterEach(async () => {
  await agent?.stop({ graceful: false });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('agent log-level', () => {
  it('logs the change with from/to, so the line has exactly one "level" key', async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-loglevel-'));
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    const logger = pino({ level: 'info' }, sink);
    const config: AgentConfig = {
      nodeName: 'node-a', etcd: { endpoints: ['http://127.0.0.1:1'] }, controlSocket: join(dir, 'agent.ctl'), logLevel: 'info',
      metricsHost: '127.0.0.1', programRoutes: false, listenPort: 0, readyGracePeriod: 0, restartHoldTime: 0,
      registerNode: false, peerPasswords: {}, manageTunnel: false, tunnelMtu: 1440,
    };
    agent = new Agent(config, { logger, datastore: idle });
    await agent.start();
    expect(await controlRequest(config.controlSocket, { cmd: 'log-level', level: 'debug' })).toEqual({ previous: 'info', level: 'debug' });
    const line = lines.find((l) => l.includes('log level changed'))!;
    expect(line.match(/"level":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ level: 30, from: 'info', to: 'debug' });
  });
});
