#!/usr/bin/env node
// Pick fixtures out of the messages split.mjs cut from the lab capture.
//
//   node select.mjs messages.jsonl <proto-fixtures dir>   # write <type>/<name>.bin
//   node select.mjs messages.jsonl --survey               # list distinct messages
//
// Each rule names a fixture and says which captured message it is: sender and
// receiver address, message type, and a predicate over a shallow summary of the
// message (capability codes, attribute type codes, NOTIFICATION code...). The
// first message that matches is written, so a rule never depends on frame numbers
// and survives a re-capture. A rule that matches nothing is an error.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { rules } from './rules.mjs';

/** A shallow look at one message: enough to choose fixtures, not a codec. */
export function summarize(buf) {
  const type = buf[18];
  const body = buf.subarray(19);
  const s = { type, length: buf.length };
  if (type === 1) {
    s.myAs = body.readUInt16BE(1);
    s.hold = body.readUInt16BE(3);
    s.caps = [];
    const optLen = body[9];
    let o = 10;
    while (o < 10 + optLen) {
      const pType = body[o], pLen = body[o + 1];
      if (pType === 2) {
        let c = o + 2;
        while (c < o + 2 + pLen) {
          s.caps.push({ code: body[c], data: body.subarray(c + 2, c + 2 + body[c + 1]) });
          c += 2 + body[c + 1];
        }
      }
      o += 2 + pLen;
    }
    s.capCodes = s.caps.map((c) => c.code);
  } else if (type === 2) {
    const wLen = body.readUInt16BE(0);
    s.withdrawnLen = wLen;
    const aLen = body.readUInt16BE(2 + wLen);
    s.attrs = [];
    let o = 4 + wLen;
    const end = o + aLen;
    while (o < end) {
      const flags = body[o], code = body[o + 1];
      const ext = (flags & 0x10) !== 0;
      const len = ext ? body.readUInt16BE(o + 2) : body[o + 2];
      const data = body.subarray(o + (ext ? 4 : 3), o + (ext ? 4 : 3) + len);
      s.attrs.push({ flags, code, data });
      o += (ext ? 4 : 3) + len;
    }
    s.attrCodes = s.attrs.map((a) => a.code);
    s.nlriLen = body.length - end;
    const mp = s.attrs.find((a) => a.code === 14);
    if (mp) s.mpReach = { afi: mp.data.readUInt16BE(0), safi: mp.data[2], nhLen: mp.data[3], nlriLen: mp.data.length - 5 - mp.data[3] };
    const mu = s.attrs.find((a) => a.code === 15);
    if (mu) s.mpUnreach = { afi: mu.data.readUInt16BE(0), safi: mu.data[2], nlriLen: mu.data.length - 3 };
    const asPath = s.attrs.find((a) => a.code === 2);
    s.segTypes = [];
    if (asPath) {
      // Segment walk assuming 4-octet ASNs when the length fits that, else 2-octet;
      // only used to spot segment types (AS_SET=1, CONFED_SEQUENCE=3, CONFED_SET=4).
      const walk = (w) => {
        const t = [];
        let q = 0;
        while (q < asPath.data.length) {
          if (q + 2 > asPath.data.length) return null;
          t.push(asPath.data[q]);
          q += 2 + asPath.data[q + 1] * w;
        }
        return q === asPath.data.length ? t : null;
      };
      s.segTypes = walk(4) ?? walk(2) ?? [];
    }
  } else if (type === 3) {
    s.code = body[0];
    s.subcode = body[1];
    s.dataLen = body.length - 2;
  } else if (type === 5) {
    s.afi = body.readUInt16BE(0);
    s.subtype = body[2];
    s.safi = body[3];
  }
  return s;
}

function describe(s) {
  switch (s.type) {
    case 1: return `OPEN as=${s.myAs} hold=${s.hold} caps=${s.capCodes.join(',')}`;
    case 2: return `UPDATE wd=${s.withdrawnLen} attrs=${s.attrCodes.join(',')} nlri=${s.nlriLen}` +
      (s.mpReach ? ` mpReach(afi=${s.mpReach.afi},nh=${s.mpReach.nhLen},nlri=${s.mpReach.nlriLen})` : '') +
      (s.mpUnreach ? ` mpUnreach(afi=${s.mpUnreach.afi},nlri=${s.mpUnreach.nlriLen})` : '') +
      (s.segTypes.length ? ` seg=${s.segTypes.join(',')}` : '');
    case 3: return `NOTIFICATION ${s.code}/${s.subcode} data=${s.dataLen}`;
    case 4: return 'KEEPALIVE';
    case 5: return `ROUTE-REFRESH afi=${s.afi} safi=${s.safi} subtype=${s.subtype}`;
    default: return `TYPE${s.type}`;
  }
}

const [file, target] = process.argv.slice(2);
if (!file || !target) {
  process.stderr.write('usage: select.mjs messages.jsonl <fixtures dir>|--survey\n');
  process.exit(2);
}
const messages = readFileSync(file, 'utf8').trim().split('\n').map((l) => {
  const m = JSON.parse(l);
  m.buf = Buffer.from(m.hex, 'hex');
  m.s = summarize(m.buf);
  return m;
});

if (target === '--survey') {
  const seen = new Map();
  for (const m of messages) {
    const k = `${m.src}>${m.dst} ${m.s.type === 2 ? `len=${m.length} ` : ''}${describe(m.s)}`;
    const e = seen.get(k);
    if (e) e.n++; else seen.set(k, { n: 1, frame: m.frame });
  }
  for (const [k, e] of seen) process.stdout.write(`${String(e.frame).padStart(6)} x${String(e.n).padEnd(4)} ${k}\n`);
  process.exit(0);
}

/**
 * What the receiver of `m` had negotiated on that TCP session, from the two OPENs
 * of the same stream: the decode context the codec needs for this fixture.
 */
function negotiated(m) {
  const open = (from, to) => messages.find((x) => x.stream === m.stream && x.src === from && x.dst === to && x.s.type === 1);
  const mine = open(m.src, m.dst);
  const theirs = open(m.dst, m.src);
  if (!mine || !theirs) return null;
  const c = (o, code) => o.s.caps.filter((x) => x.code === code);
  const addPath = [];
  const sendOf = (o) => {
    const r = new Map();
    for (const cp of c(o, 69)) {
      for (let i = 0; i + 4 <= cp.data.length; i += 4) r.set(`${cp.data.readUInt16BE(i)}/${cp.data[i + 2]}`, cp.data[i + 3]);
    }
    return r;
  };
  const snd = sendOf(mine), rcv = sendOf(theirs);
  for (const [fam, v] of snd) if (v & 2 && (rcv.get(fam) ?? 0) & 1) {
    const [afi, safi] = fam.split('/').map(Number);
    addPath.push({ afi, safi });
  }
  return {
    fourOctetAs: c(mine, 65).length > 0 && c(theirs, 65).length > 0,
    addPath,
    extendedMessage: c(mine, 6).length > 0 && c(theirs, 6).length > 0,
  };
}

const SPEAKERS = JSON.parse(readFileSync(new URL('./speakers.json', import.meta.url), 'utf8'));
let versions = {};
try { versions = JSON.parse(readFileSync(new URL('./versions.json', import.meta.url), 'utf8')); } catch { /* select-only without a capture run */ }
const speaker = (addr) => SPEAKERS.find((x) => x.addresses.includes(addr)) ?? { name: 'unknown', daemon: 'unknown' };

let failed = 0;
const used = new Set();
const manifest = [];
for (const r of rules) {
  const m = messages.find((x) => !used.has(x) && x.src === r.from && x.dst === r.to &&
    x.type === r.type && (!r.match || r.match(x.s, x)));
  if (!m) {
    process.stderr.write(`select: no message for ${r.name}\n`);
    failed++;
    continue;
  }
  used.add(m);
  const dir = join(target, r.name.split('/')[0]);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(target, `${r.name}.bin`), m.buf);
  const from = speaker(m.src), to = speaker(m.dst);
  manifest.push({
    fixture: `${r.name}.bin`, length: m.length, summary: describe(m.s),
    sender: { address: m.src, speaker: from.name, daemon: versions[from.daemon] ?? from.daemon },
    receiver: { address: m.dst, speaker: to.name, daemon: versions[to.daemon] ?? to.daemon },
    captured: new Date(m.time * 1000).toISOString(), pcapFrame: m.frame, tcpStream: m.stream,
    decodeContext: negotiated(m),
  });
  process.stdout.write(`${r.name}.bin  ${m.length} B  frame ${m.frame}  ${m.src}>${m.dst}  ${describe(m.s)}\n`);
}
writeFileSync(new URL('./manifest.json', import.meta.url), JSON.stringify(manifest, null, 2) + '\n');
if (failed) process.exit(1);
