/**
 * `agent log-level`: the change is logged once, and every JSON line, before and
 * after the change, from the agent and from its components' child loggers, has
 * exactly one "level" key (issue 23).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/agent/control.js';
import { createLogger } from '../../../src/agent/logger.js';
import { FakeDatastore, startAgent, stopAgents, unansweredPeer } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

const tmp: string[] = [];
afterEach(async () => {
  await stopAgents();
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** "level" keys in a raw JSON line, counted in the text (JSON.parse would keep only the last). */
const levelKeys = (line: string): number => line.match(/"level":/g)?.length ?? 0;

describe('agent log-level', () => {
  it('logs the change with from/to, so the line has exactly one "level" key', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    const { socket } = await startAgent(new FakeDatastore(), {}, { logger: pino({ level: 'info' }, sink) });
    expect(await controlRequest(socket, { cmd: 'log-level', level: 'debug' })).toEqual({ previous: 'info', level: 'debug' });
    const line = lines.find((l) => l.includes('log level changed'))!;
    expect(line.match(/"level":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ level: 30, from: 'info', to: 'debug' });
  });

  it('through the agent\'s own logger (createLogger, as `agent run` makes it): one "level" per line after the change, at the new level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h2-log-'));
    tmp.push(dir);
    const file = join(dir, 'agent.log');
    const fd = openSync(file, 'w');
    const logger = createLogger('info', { pretty: false, destination: fd });
    const ds = new FakeDatastore();
    const { socket } = await startAgent(ds, {}, { logger });
    // A component's child logger made before the change, as the datastore's is in `agent run`.
    const component = logger.child({ component: 'test' });
    await controlRequest(socket, { cmd: 'log-level', level: 'debug' });
    component.debug({ peer: 'Mesh_127_0_0_2' }, 'debug from a component');
    // A datastore change after the switch: the agent logs the peers it adds, its bgp child the peer's states.
    ds.emit({
      node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber: 64512, routerId: '127.0.0.1' },
      bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
      peers: new Map([['127.0.0.2:1', unansweredPeer('127.0.0.2', 'Mesh_127_0_0_2')]]),
      blocks: new Map(), pools: new Map(),
    });
    // A caller's own `level` field, the way the duplicate first came about, from a component's child logger.
    component.info({ level: 'debug' }, 'a field named level');
    const lines = (): string[] => {
      logger.flush();
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    };
    await until('the lines after the change', () => lines().some((l) => l.includes('BGP state change')) && lines().some((l) => l.includes('a field named level')));
    await stopAgents();
    logger.flush();
    closeSync(fd);
    const all = lines();
    const after = all.slice(all.findIndex((l) => l.includes('log level changed')));
    expect(after.length).toBeGreaterThan(2);
    for (const l of after) expect(levelKeys(l), l).toBe(1);
    // The child made before the change follows it: its debug line is there, at 20.
    expect(JSON.parse(after.find((l) => l.includes('debug from a component'))!)).toMatchObject({ level: 20, component: 'test' });
    expect(JSON.parse(after.find((l) => l.includes('a field named level'))!)).toMatchObject({ level: 30, levelName: 'debug', component: 'test' });
  });
});
