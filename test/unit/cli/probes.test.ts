/**
 * `agent ready` / `agent live`, the DaemonSet's probes, take the fast path:
 * the built CLI answers them without loading yargs (a module hook makes any
 * import of yargs fail, so the test goes red the moment a probe loads it),
 * and still prints each check and exits 0 / 1 (issue 23).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseProbeArgs } from '../../../src/cli/commands/probes.js';
import { DEFAULT_CONTROL_SOCKET } from '../../../src/agent/control.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';

const CLI = join(resolve(__dirname, '../../..'), 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'h2-probes-'));
const noYargs = join(dir, 'no-yargs.mjs');
writeFileSync(
  noYargs,
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, next) { if (s === 'yargs' || s.startsWith('yargs/')) throw new Error('yargs loaded'); return next(s, c); }"));
`,
);
afterEach(stopAgents);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built CLI, with imports of yargs refused; asynchronous, so an agent in this process can answer it. */
function agentCli(...args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', pathToFileURL(noYargs).href, CLI, ...args], { encoding: 'utf8', timeout: 30_000 }, (error, out, err) =>
      done({ status: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}

describe('probe arguments without yargs', () => {
  it('nothing, or the control socket in either spelling; anything else goes to yargs', () => {
    expect(parseProbeArgs([], {})).toEqual({ controlSocket: DEFAULT_CONTROL_SOCKET });
    expect(parseProbeArgs([], { AGENT_CONTROL_SOCKET: '/run/x.ctl' })).toEqual({ controlSocket: '/run/x.ctl' });
    expect(parseProbeArgs(['--control-socket', '/a.ctl'], {})).toEqual({ controlSocket: '/a.ctl' });
    expect(parseProbeArgs(['--control-socket=/b.ctl'], {})).toEqual({ controlSocket: '/b.ctl' });
    for (const argv of [['--help'], ['--control-socket'], ['--control-socket='], ['--control-socket', '--help'], ['extra'], ['--control-socket', '/a', 'x']]) {
      expect(parseProbeArgs(argv, {}), argv.join(' ')).toBeNull();
    }
  });
});

describe('the built CLI\'s probes', () => {
  it('the hook does refuse yargs: help still goes through it', async () => {
    const r = await agentCli('ready', '--help');
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('yargs loaded');
  });

  it('ready and live answer from a running agent without loading yargs, exit 0 with every check', async () => {
    const { socket } = await startAgent(new FakeDatastore());
    const ready = await agentCli('ready', '--control-socket', socket);
    // Nothing synced from the fake datastore: not ready, and the failing check is named.
    expect(ready.err).not.toContain('yargs loaded');
    expect(ready.status).toBe(1);
    expect(ready.err).toMatch(/FAIL datastore: /);
    const live = await agentCli('live', `--control-socket=${socket}`);
    expect(live).toMatchObject({ status: 0 });
    expect(live.out).toMatch(/ok +control: /);
  });

  it('no agent: one line saying so, exit 1', async () => {
    const r = await agentCli('live', '--control-socket', join(dir, 'none.ctl'));
    expect(r.status).toBe(1);
    expect(r.err).not.toContain('yargs loaded');
    expect(r.err).toMatch(/no agent answers on .*none\.ctl/);
  });
});
