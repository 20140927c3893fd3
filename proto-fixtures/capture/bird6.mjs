#!/usr/bin/env node
/**
 * IPv6 fixtures from real BIRD 2 (issue 19): MP_REACH_NLRI / MP_UNREACH_NLRI
 * for IPv6 unicast (RFC 4760) with and without ADD-PATH (RFC 7911), with the
 * 32-octet global + link-local next hop BIRD sends on a shared link (RFC 2545
 * §3) and with the 16-octet one of a multihop iBGP session as calico-node
 * configures it. No tshark or tcpdump: the segments are captured with
 * test/helpers/tcp-capture.mjs (an AF_PACKET socket, `--payload`) in the
 * receiver's namespace, reassembled per direction by sequence number and cut
 * at the BGP marker and length.
 *
 *   sudo node proto-fixtures/capture/bird6.mjs     # about 15 s; needs bird2, node 20, `npm run build` first
 *
 * Two namespaces joined by one veth pair (CAPTURE_NS_PREFIX, default fx6:
 * fx6a, fx6b), removed with both BIRDs on exit. BIRD A (AS 65001) sends; BIRD
 * B only receives (export none), one session per shape:
 *
 *   session         A side       B side       what A's UPDATEs show
 *   ebgp_addpath    fd98::1      fd98::2      eBGP on the link, `add paths tx` / `rx`: path ids, global + link-local
 *   ebgp_plain      fd98::11     fd98::12     eBGP on the link, no ADD-PATH: global + link-local
 *   ibgp_calico     fd98::21     fd98::22     iBGP `multihop`, `add paths on` (confd's bgp template): path ids, global only
 *
 * A originates 8 /122 blocks (static s6) and 4 /64s (static s6wd); once
 * every session is Established and has sent End-of-RIB, `birdc disable s6wd`
 * withdraws the /64s. Written: the .bin and drafted .json of each fixture
 * (decoded with the context negotiated from the session's two OPENs, as
 * test/unit/codec/tools/decode-captures.mjs does), and capture/bird6.json:
 * for each fixture the session, the context, and what BIRD A was configured
 * to send (prefixes, next hop, link-local next hop read from A's eth0),
 * which test/unit/codec/bird6-captures.test.ts checks the decode against.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const repo = dirname(root);
const codec = await import(join(repo, 'dist/src/bgp/codec/index.js'));
const P = process.env.CAPTURE_NS_PREFIX ?? 'fx6';
const [NA, NB] = [`${P}a`, `${P}b`];
const W = mkdtempSync(join(tmpdir(), 'fx6cap-'));
const log = (m) => process.stderr.write(`[bird6 ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...opts });
const inNs = (ns, cmd, args) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SESSIONS = [
  { name: 'ebgp_addpath', a: 'fd98::1', b: 'fd98::2', ibgp: false, addPath: true },
  { name: 'ebgp_plain', a: 'fd98::11', b: 'fd98::12', ibgp: false, addPath: false },
  { name: 'ibgp_calico', a: 'fd98::21', b: 'fd98::22', ibgp: true, addPath: true },
];
const BLOCKS = Array.from({ length: 8 }, (_, i) => `fd64::${(i * 64).toString(16)}/122`.replace('fd64::0/', 'fd64::/'));
const WITHDRAWN = [1, 2, 3, 4].map((i) => `fd65:${i}::/64`);

let capture;
function dropNamespaces() {
  for (const ns of [NA, NB]) {
    try {
      sh('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
}
function cleanup() {
  capture?.kill();
  for (const f of ['a', 'b']) {
    try {
      process.kill(Number(readFileSync(join(W, `bird-${f}.pid`), 'utf8')), 'SIGTERM');
    } catch {
      /* not running */
    }
  }
  dropNamespaces();
  rmSync(W, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function birdA() {
  const L = ['router id 10.98.0.1;', `log "${W}/bird-a.log" all;`, 'protocol device {}', 'protocol direct { ipv6; interface "eth0"; }'];
  L.push('protocol static s6 {', '  ipv6;', ...BLOCKS.map((b) => `  route ${b} blackhole;`), '}');
  L.push('protocol static s6wd {', '  ipv6;', ...WITHDRAWN.map((b) => `  route ${b} blackhole;`), '}');
  for (const s of SESSIONS) {
    L.push(`protocol bgp ${s.name} {`, `  local ${s.a} as 65001;`, `  neighbor ${s.b} as ${s.ibgp ? 65001 : 65002};`);
    if (s.ibgp) L.push('  multihop;', '  graceful restart;');
    L.push(`  ipv6 { import none; export where source = RTS_STATIC;${s.addPath ? (s.ibgp ? ' add paths on;' : ' add paths tx;') : ''} };`, '}');
  }
  return L.join('\n') + '\n';
}

function birdB() {
  const L = ['router id 10.98.0.2;', `log "${W}/bird-b.log" all;`, 'protocol device {}'];
  for (const s of SESSIONS) {
    L.push(`protocol bgp from_${s.name} {`, `  local ${s.b} as ${s.ibgp ? 65001 : 65002};`, `  neighbor ${s.a} as 65001;`, '  passive on;');
    if (s.ibgp) L.push('  multihop;', '  graceful restart;');
    L.push(`  ipv6 { import all; export none;${s.addPath ? (s.ibgp ? ' add paths on;' : ' add paths rx;') : ''} };`, '}');
  }
  return L.join('\n') + '\n';
}

/** Reassemble each TCP direction from the captured segments (by sequence number, retransmissions dropped) into BGP messages. */
function messagesByDirection(lines) {
  const dirs = new Map();
  for (const seg of lines) {
    if (seg.seq === undefined) continue;
    const key = `${seg.src} ${seg.sport} ${seg.dst} ${seg.dport}`;
    let d = dirs.get(key);
    if (!d) dirs.set(key, (d = { src: seg.src, dst: seg.dst, isn: undefined, parts: new Map() }));
    if (seg.flags & 2) d.isn = (seg.seq + 1) >>> 0; // SYN
    if (seg.payload.length) d.parts.set(seg.seq, Buffer.from(seg.payload, 'hex'));
  }
  const out = [];
  for (const d of dirs.values()) {
    if (d.isn === undefined) continue;
    const chunks = [];
    let next = d.isn;
    for (;;) {
      const c = d.parts.get(next);
      if (!c) break;
      chunks.push(c);
      next = (next + c.length) >>> 0;
    }
    const stream = Buffer.concat(chunks);
    const msgs = [];
    for (let p = 0; p + 19 <= stream.length; ) {
      if (!stream.subarray(p, p + 16).every((x) => x === 0xff)) throw new Error(`${d.src} -> ${d.dst}: no BGP marker at ${p}`);
      const len = stream.readUInt16BE(p + 16);
      if (p + len > stream.length) break;
      msgs.push(stream.subarray(p, p + len));
      p += len;
    }
    out.push({ src: d.src, dst: d.dst, msgs });
  }
  return out;
}

const hasAttr = (msg, code) => {
  // Walk the path attributes (RFC 4271 §4.3) by hand: selection must not depend on the codec under test.
  const wl = msg.readUInt16BE(19);
  const al = msg.readUInt16BE(21 + wl);
  for (let p = 23 + wl; p < 23 + wl + al; ) {
    const flags = msg[p];
    const len = flags & 0x10 ? msg.readUInt16BE(p + 2) : msg[p + 2];
    const start = p + (flags & 0x10 ? 4 : 3);
    if (msg[p + 1] === code) return msg.subarray(start, start + len);
    p = start + len;
  }
  return null;
};

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bird6.mjs: run as root (network namespaces)');
  dropNamespaces(); // a crashed earlier run may have left them
  for (const ns of [NA, NB]) {
    sh('ip', ['netns', 'add', ns]);
    inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['-n', NA, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NB]);
  for (const s of SESSIONS) {
    sh('ip', ['-n', NA, 'addr', 'add', `${s.a}/64`, 'dev', 'eth0']);
    sh('ip', ['-n', NB, 'addr', 'add', `${s.b}/64`, 'dev', 'eth0']);
  }
  for (const ns of [NA, NB]) sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  let linkLocalA = '';
  for (let i = 0; i < 50 && !linkLocalA; i++) {
    linkLocalA = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(sh('ip', ['-n', NA, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']))?.[1] ?? '';
    if (!linkLocalA) await sleep(100);
  }
  if (!linkLocalA) throw new Error('no link-local address on A eth0');
  writeFileSync(join(W, 'bird-a.conf'), birdA());
  writeFileSync(join(W, 'bird-b.conf'), birdB());

  const lines = [];
  capture = spawn('ip', ['netns', 'exec', NB, process.execPath, join(repo, 'test/helpers/tcp-capture.mjs'), 'eth0', '60', '179', '--payload'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  let ready;
  const isReady = new Promise((r) => (ready = r));
  capture.stdout.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const l = JSON.parse(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
      if (l.ready) ready();
      else lines.push(l);
    }
  });
  await isReady;
  log(`capturing in ${NB}; starting BIRD B, then BIRD A`);
  inNs(NB, 'bird', ['-c', join(W, 'bird-b.conf'), '-s', join(W, 'bird-b.ctl'), '-P', join(W, 'bird-b.pid')]);
  inNs(NA, 'bird', ['-c', join(W, 'bird-a.conf'), '-s', join(W, 'bird-a.ctl'), '-P', join(W, 'bird-a.pid')]);
  const birdc = (cmd) => sh('birdc', ['-s', join(W, 'bird-a.ctl'), ...cmd.split(' ')]);
  for (let i = 0; ; i++) {
    const up = SESSIONS.filter((s) => new RegExp(`^${s.name}\\s.*Established`, 'm').test(birdc('show protocols')));
    if (up.length === SESSIONS.length) break;
    if (i > 150) throw new Error(`sessions not Established after 30 s:\n${birdc('show protocols')}`);
    await sleep(200);
  }
  await sleep(2000); // the announcements and End-of-RIB
  log('withdrawing s6wd');
  birdc('disable s6wd');
  await sleep(2000);
  capture.kill();
  await new Promise((r) => capture.once('exit', r));
  capture = undefined;
  const version = execFileSync('sh', ['-c', 'bird --version 2>&1'], { encoding: 'utf8' }).trim();

  const directions = messagesByDirection(lines);
  const manifest = { captured: new Date().toISOString(), speaker: version, how: 'proto-fixtures/capture/bird6.mjs', linkLocalA, fixtures: [] };
  for (const s of SESSIONS) {
    const aToB = directions.find((d) => d.src === s.a && d.dst === s.b);
    const bToA = directions.find((d) => d.src === s.b && d.dst === s.a);
    if (!aToB || !bToA) throw new Error(`${s.name}: no TCP stream captured`);
    const openA = codec.decodeMessage(aToB.msgs.find((m) => m[18] === 1), codec.DEFAULT_CONTEXT);
    const openB = codec.decodeMessage(bToA.msgs.find((m) => m[18] === 1), codec.DEFAULT_CONTEXT);
    const rc = codec.negotiate(openB, openA).receiveContext; // what B decodes A's messages with
    const context = { as4: rc.as4, addPath: [...rc.addPath], extendedMessage: rc.extendedMessage };
    if ((context.addPath.length > 0) !== s.addPath) throw new Error(`${s.name}: ADD-PATH negotiated ${JSON.stringify(context.addPath)}`);
    const updates = aToB.msgs.filter((m) => m[18] === 2);
    const reach = updates.find((m) => hasAttr(m, 14)?.readUInt16BE(0) === 2);
    const unreach = updates.find((m) => {
      const v = hasAttr(m, 15);
      return v !== null && v.readUInt16BE(0) === 2 && v.length > 3; // not the End-of-RIB
    });
    if (!reach || !unreach) throw new Error(`${s.name}: no IPv6 MP_REACH or MP_UNREACH UPDATE from A`);
    const base = s.name === 'ebgp_addpath' ? 'bird2-ipv6-ebgp-addpath' : s.name === 'ebgp_plain' ? 'bird2-ipv6-ebgp' : 'bird2-ipv6-ibgp-multihop-addpath';
    for (const [kind, bytes] of [['mp-reach', reach], ['mp-unreach', unreach]]) {
      const fixture = `update/${base}-${kind}.bin`;
      writeFileSync(join(root, fixture), bytes);
      const ctx = { ...context, addPath: new Set(context.addPath) };
      const msg = codec.decodeMessage(bytes, ctx);
      const json = {
        source: `captured: ${version} (bird-a ${s.a}) -> bird-b ${s.b}, session ${s.name}, see capture/bird6.json`,
        context,
        canonical: codec.encodeMessage(msg, ctx).equals(bytes),
        message: codec.messageToJson(msg),
      };
      writeFileSync(join(root, fixture.replace(/\.bin$/, '.json')), JSON.stringify(json, null, 2) + '\n');
      manifest.fixtures.push({
        fixture,
        session: s.name,
        sender: s.a,
        receiver: s.b,
        context,
        expected:
          kind === 'mp-reach'
            ? { announcedFrom: [...BLOCKS, ...WITHDRAWN], nextHop: s.a, linkLocalNextHop: s.ibgp ? null : linkLocalA, pathIds: s.addPath }
            : { withdrawn: WITHDRAWN, pathIds: s.addPath },
      });
      log(`${fixture}: ${bytes.length} octets`);
    }
  }
  writeFileSync(join(here, 'bird6.json'), JSON.stringify(manifest, null, 2) + '\n');
}

await main();
