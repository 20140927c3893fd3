/**
 * Readiness that tells the truth (issue 23), against real etcd: `agent ready`
 * fails naming the reason, and `agent status` lists it, when the node's own
 * Node resource is missing (no speaker can run, so "0 peers down" is not
 * ready) and when the BGP port is taken by another process; an unsupported
 * DATASTORE_TYPE exits 2 naming the setting.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns, Testbed, canUseNetns, sh } from '../../../src/testbed/netns.js';
import { until } from '../../helpers/wait.js';
import { nodeYaml, startEtcdIn } from '../../helpers/calico.js';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const PREFIX = 'rdn';

if (!canUseNetns()) throw new Error('readiness integration test needs root (network namespaces)');

describe('agent ready against real etcd (issue 23)', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'readiness-it-'));
  const procs: ChildProcess[] = [];
  let a: Netns;
  let etcdUrl = '';
  let log = '';
  const socket = join(tmp, 'agent.ctl');

  const cli = (args: string[]): { code: number; out: string } => {
    try {
      return { code: 0, out: sh(process.execPath, [CLI, ...args, '--control-socket', socket]) };
    } catch (err) {
      return { code: 1, out: (err as Error).message };
    }
  };

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.95.0.100/24' });
    a = bed.addHost('a', { address: '10.95.0.9/24' });
    etcdUrl = 'http://10.95.0.100:2379';
    procs.push(await startEtcdIn(e, tmp, etcdUrl, 'rdy'));
    // Something else holds the BGP port on this node (BIRD left running, say).
    procs.push(a.spawn(process.execPath, ['-e', "require('net').createServer().listen(179, () => console.log('holding 179'))"]));
    // No Node resource for node-a, and registration off: the operator forgot it.
    const agent = a.spawn(process.execPath, [
      CLI, 'run', '--node-name', 'node-a', '--ip', '10.95.0.9/24', '--etcd-endpoints', etcdUrl,
      '--control-socket', socket, '--ready-grace-period', '0', '--no-program-routes', '--no-register-node',
    ], { env: { ...process.env, AGENT_LOG_FORMAT: 'json' } });
    agent.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    procs.push(agent);
    await until('control socket', () => cli(['status']).code === 0, 20_000);
  }, 60_000);

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('own Node resource missing: ready fails naming it, status lists it', async () => {
    const ready = await until('ready fails on the node', () => {
      const r = cli(['ready']);
      return r.code === 1 && /FAIL node: /.test(r.out) ? r : undefined;
    }, 20_000);
    expect(ready.out).toMatch(/FAIL node: no Node resource for this node "node-a": no BGP speaker runs/);
    expect(cli(['status']).out).toMatch(/- node: no Node resource for this node "node-a": no BGP speaker runs until it is fixed/);
  });

  it('the Node written, the speaker starts but the port is taken: ready fails naming the port', async () => {
    a.exec(process.execPath, [CLI, 'datastore', 'apply', '-f', '-', '--etcd-endpoints', etcdUrl], {
      input: nodeYaml('node-a', '10.95.0.9/24'),
    });
    const ready = await until('ready fails on the port', () => {
      const r = cli(['ready']);
      return /FAIL listen: /.test(r.out) ? r : undefined;
    }, 20_000);
    expect(ready.code).toBe(1);
    expect(ready.out).toMatch(/FAIL listen: cannot listen on port 179: address already in use/);
    expect(ready.out).toMatch(/ok {3}node: node node-a is 10\.95\.0\.9/);
    expect(cli(['status']).out).toMatch(/- BGP listener: cannot listen on port 179: address already in use .*only outgoing sessions can come up/);
  });

  it('DATASTORE_TYPE=kubernetes exits 2 naming the setting', () => {
    let code = 0;
    let out = '';
    try {
      sh('env', ['DATASTORE_TYPE=kubernetes', process.execPath, CLI, 'run', '--node-name', 'node-b', '--ip', '10.95.0.10/24', '--control-socket', join(tmp, 'b.ctl')]);
    } catch (err) {
      code = 1;
      out = (err as Error).message;
    }
    expect(code).toBe(1);
    expect(out).toMatch(/configuration error: DATASTORE_TYPE: "kubernetes" is not supported/);
    // The exit status itself: 2, as for every configuration error.
    const status = sh('sh', ['-c', `DATASTORE_TYPE=kubernetes ${process.execPath} ${CLI} run --node-name node-b --control-socket ${join(tmp, 'b.ctl')} >/dev/null 2>&1; echo $?`]).trim();
    expect(status).toBe('2');
  });
});
