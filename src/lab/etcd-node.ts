/**
 * The lab's etcd: a single-member etcd v3 in its own namespace on the lab
 * bridge, so the agents in the node namespaces reach it at its bridge address
 * (as calico-node reaches ETCD_ENDPOINTS), with its data in the state dir.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Netns } from '../testbed/netns.js';
import { isAlive, startDaemon, tail, type Daemon } from './daemon.js';
import type { LabPlan } from './plan.js';

export const ETCD_LOCAL = 'http://127.0.0.1:2379';

export function etcdLog(dir: string): string {
  return join(dir, 'etcd', 'etcd.log');
}

export async function startEtcd(plan: LabPlan, dir: string, onSpawn: (d: Daemon) => void, timeoutMs = 20_000): Promise<Daemon> {
  const home = join(dir, 'etcd');
  mkdirSync(home, { recursive: true });
  const e = plan.etcd;
  const d = startDaemon(
    'etcd',
    e.ns,
    'etcd',
    [
      '--name', 'lab',
      '--data-dir', join(home, 'data'),
      '--listen-client-urls', `http://${e.address}:2379,${ETCD_LOCAL}`,
      '--advertise-client-urls', e.clientUrl,
      '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380',
      '--log-outputs', 'stderr',
    ],
    etcdLog(dir),
  );
  onSpawn(d); // recorded before waiting, so `down` finds it even if start-up fails
  const deadline = Date.now() + timeoutMs;
  const ns = new Netns(e.ns);
  while (Date.now() < deadline) {
    if (!isAlive(d.pid)) throw new Error(`etcd exited at start:\n${tail(d.log)}`);
    try {
      // etcdctl reports health on stderr; its exit status is the answer.
      ns.exec('etcdctl', ['--endpoints', ETCD_LOCAL, '--dial-timeout', '1s', 'endpoint', 'health']);
      return d;
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  throw new Error(`etcd did not answer healthy within ${timeoutMs / 1000} s`);
}

/** etcdctl inside the etcd namespace. */
export function etcdctl(plan: LabPlan, args: string[], input?: string): string {
  return new Netns(plan.etcd.ns).exec('etcdctl', ['--endpoints', ETCD_LOCAL, ...args], { input });
}

export type TxnOp = { put: [string, string] } | { del: string };

/**
 * Several writes as etcd transactions (`etcdctl txn`: no compares, the ops as
 * success requests; values quoted the way Go unquotes them, which JSON string
 * quoting of these ASCII values is). etcd caps a transaction at 128 ops.
 */
export function etcdTxn(plan: LabPlan, ops: TxnOp[]): void {
  for (let i = 0; i < ops.length; i += 100) {
    const out = etcdctl(plan, ['txn'], txnInput(ops.slice(i, i + 100)));
    if (!out.startsWith('SUCCESS')) throw new Error(`etcdctl txn did not succeed: ${out.trim()}`);
  }
}

function txnInput(ops: TxnOp[]): string {
  const lines = ops.map((op) => ('put' in op ? `put ${op.put[0]} ${JSON.stringify(op.put[1])}` : `del ${op.del}`));
  return `\n${lines.join('\n')}\n\n\n`;
}

/**
 * A transaction whose moment of sending is known: etcdctl is started first and
 * connects (it dials before reading its input), then `send()` hands it the
 * operations. Timing from `send()` leaves out etcdctl's own start-up, which is
 * longer than the route changes being measured.
 */
export async function primedTxn(plan: LabPlan, ops: TxnOp[], warmMs = 400): Promise<{ send: () => Promise<void> }> {
  if (ops.length > 100) throw new Error('primedTxn: at most 100 operations');
  const child = spawn('ip', ['netns', 'exec', plan.etcd.ns, 'etcdctl', '--endpoints', ETCD_LOCAL, 'txn'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 && out.startsWith('SUCCESS') ? resolve() : reject(new Error(`etcdctl txn failed (exit ${code}): ${out.trim()}`)),
    );
  });
  done.catch(() => undefined); // observed by send()
  await sleep(warmMs);
  return {
    send: () => {
      child.stdin.end(txnInput(ops));
      return done;
    },
  };
}
