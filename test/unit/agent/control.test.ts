import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentAlreadyRunningError, ControlServer, ControlUnavailableError, controlRequest } from '../../../src/agent/control.js';

const dirs: string[] = [];
const servers: ControlServer[] = [];
function socketPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-'));
  dirs.push(dir);
  return join(dir, 'sub', 'agent.ctl');
}
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('control socket', () => {
  it('answers JSON requests from handlers and reports unknown commands', async () => {
    const path = socketPath();
    const server = new ControlServer(path).handle('status', () => ({ peers: 3 })).handle('echo', (a) => a.text);
    servers.push(server);
    await server.listen();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await controlRequest(path, { cmd: 'status' })).toEqual({ peers: 3 });
    expect(await controlRequest(path, { cmd: 'echo', text: 'hi' })).toBe('hi');
    await expect(controlRequest(path, { cmd: 'nope' })).rejects.toThrow(/unknown command "nope"; known: status, echo/);
  });

  it('refuses a second agent on the same socket and replaces a stale socket file', async () => {
    const path = socketPath();
    const first = new ControlServer(path);
    servers.push(first);
    await first.listen();
    await expect(new ControlServer(path).listen()).rejects.toThrow(AgentAlreadyRunningError);
    await first.close();
    // A file nobody listens on (crash leftover) is not a running agent.
    writeFileSync(path, '');
    const second = new ControlServer(path).handle('ping', () => 'pong');
    servers.push(second);
    await second.listen();
    expect(await controlRequest(path, { cmd: 'ping' })).toBe('pong');
  });

  it('says clearly when no agent answers', async () => {
    const path = socketPath();
    await expect(controlRequest(path, { cmd: 'status' })).rejects.toThrow(ControlUnavailableError);
    await expect(controlRequest(path, { cmd: 'status' })).rejects.toThrow(/no agent answers on .*no control socket there/);
  });
});
