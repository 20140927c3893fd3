/** `agent log-level`: the change is logged once, as valid JSON with one "level" key (issue 23). */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/agent/control.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';

afterEach(stopAgents);

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
});
