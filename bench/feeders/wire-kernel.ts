/**
 * Scenario 8's driver: one mesh peer (node 0) that, once Established and
 * settled, announces `count` new /26 blocks, one UPDATE each, one every
 * `gapMs`, and watches the SUT's kernel itself (`ip -n bnsut monitor route`,
 * started before the first UPDATE), so that the write and the route's arrival
 * are timed by one clock in one process.
 *
 * Events: established {t}, result {latenciesMs: [...], missing, cpuSeconds}.
 * Usage: node wire-kernel.js <target> <count> <gapMs>
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { AS_NUMBER, feederAddress } from './workload.js';
import { Frames, KEEPALIVE, announce, cpuSeconds, formatPrefix, mono, open, pkey } from './wire.js';

const [target, countText, gapText] = process.argv.slice(2);
const count = Number(countText);
const gap = Number(gapText);
const cpu0 = process.cpuUsage();
const say = (x: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(x) + '\n');
const keys = Array.from({ length: count }, (_, j) => pkey(0x64500000 + j * 64, 26)); // 100.80.0.0 + j * 64
const sentAt = new Map<string, number>();
const arrived = new Map<string, number>();

const mon = spawn('ip', ['-rcvbuf', '268435456', '-n', 'bnsut', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
let rest = '';
mon.stdout.on('data', (d: Buffer) => {
  const now = mono();
  const lines = (rest + d.toString()).split('\n');
  rest = lines.pop() ?? '';
  for (const l of lines) {
    if (l.startsWith('Deleted') || !l.includes('proto bird')) continue;
    const p = l.slice(0, l.indexOf(' '));
    if (sentAt.has(p) && !arrived.has(p)) arrived.set(p, now);
  }
});

const sock = net.connect({ host: target, port: 179, localAddress: feederAddress(0) });
const frames = new Frames();
let gotOpen = false;
let up = false;
sock.setNoDelay(true);
sock.on('connect', () => sock.write(open(AS_NUMBER, feederAddress(0))));
sock.on('data', (d: Buffer) =>
  frames.push(d, (m) => {
    const type = m[18];
    if (type === 1) {
      gotOpen = true;
      sock.write(KEEPALIVE);
    } else if (type === 4 && gotOpen) {
      if (up) return void sock.write(KEEPALIVE);
      up = true;
      say({ event: 'established', t: mono() });
      setTimeout(go, 1500);
    }
  }),
);
sock.on('error', () => {});
sock.on('close', () => {
  if (!up) setTimeout(() => process.exit(3), 10);
});

async function go(): Promise<void> {
  for (let j = 0; j < count; j++) {
    const msg = announce(feederAddress(0), [keys[j]])[0];
    sentAt.set(formatPrefix(keys[j]), mono());
    sock.write(msg);
    await new Promise((r) => setTimeout(r, gap));
  }
  const end = mono() + 5000;
  while (arrived.size < count && mono() < end) await new Promise((r) => setTimeout(r, 20));
  const lat: number[] = [];
  for (const [p, t] of sentAt) {
    const a = arrived.get(p);
    if (a !== undefined) lat.push(Math.round((a - t) * 1000) / 1000);
  }
  say({ event: 'result', latenciesMs: lat, missing: count - lat.length, cpuSeconds: cpuSeconds(cpu0) });
  mon.kill();
  sock.destroy();
  process.exit(0);
}
