/**
 * `agent status`: calicoctl node status, byte for byte, then what calicoctl
 * never says: one line per problem explaining it.
 *
 * calicoctl renders its tables with olekukonko/tablewriter: headers upper
 * case and centred (the extra space of an odd gap goes right), cells left
 * aligned, one space of padding, `+---+` borders. SINCE is BIRD's protocol
 * time: HH:MM:SS when today, the date otherwise. INFO is the BGP state plus
 * BIRD's last error ("Active Socket: Connection refused").
 */
import { kernelLoopCheck } from './readiness.js';
import type { PeerSnapshot, StatusSnapshot } from './snapshot.js';

export interface FormatOptions {
  /** Render times in UTC instead of local time (tests, golden files). */
  utc?: boolean;
}

/** Render a table the way tablewriter does in calicoctl's node status. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const border = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const centre = (text: string, width: number): string => {
    const gap = width - text.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + text + ' '.repeat(gap - left);
  };
  const line = (cells: string[]): string =>
    '| ' + cells.join(' | ') + ' |';
  const out = [border, line(headers.map((h, i) => centre(h, widths[i]))), border];
  for (const row of rows) out.push(line(row.map((c, i) => c.padEnd(widths[i]))));
  out.push(border);
  return out.join('\n') + '\n';
}

const two = (n: number): string => String(n).padStart(2, '0');

/** BIRD's `timeformat protocol`: the time when today, the ISO date otherwise. */
export function formatSince(since: number, now: number, opts: FormatOptions = {}): string {
  const d = new Date(since);
  const n = new Date(now);
  const parts = (x: Date) =>
    opts.utc
      ? [x.getUTCFullYear(), x.getUTCMonth() + 1, x.getUTCDate(), x.getUTCHours(), x.getUTCMinutes(), x.getUTCSeconds()]
      : [x.getFullYear(), x.getMonth() + 1, x.getDate(), x.getHours(), x.getMinutes(), x.getSeconds()];
  const [y, mo, day, h, mi, s] = parts(d);
  const [ny, nmo, nday] = parts(n);
  if (y === ny && mo === nmo && day === nday) return `${two(h)}:${two(mi)}:${two(s)}`;
  return `${y}-${two(mo)}-${two(day)}`;
}

/**
 * INFO column: BGP state, then BIRD's short error. BIRD words its errors
 * "Socket: ...", "BGP Error: ...", "Received: ..."; we keep the same
 * prefixes so scripts that grep calicoctl output keep working.
 */
export function peerInfo(peer: PeerSnapshot): string {
  // BIRD shows a protocol the operator disabled as "down" with no error of its own.
  if (peer.disabled) return `${peer.bgpState} Disabled by the operator`;
  if (peer.bgpState === 'Established' || !peer.lastError) return peer.bgpState;
  return `${peer.bgpState} ${birdStyleError(peer.lastError)}`;
}

function birdStyleError(error: string): string {
  const connect = /^Connect: (.*)$/i.exec(error);
  if (connect) return `Socket: ${capitalise(connect[1])}`;
  const received = /^Received NOTIFICATION \S+ (.*?)(?:,.*)?$/.exec(error);
  if (received) return `Received: ${capitalise(received[1])}`;
  const sent = /^Sent NOTIFICATION \S+ \(([^)]*)\)/.exec(error);
  if (sent) return `BGP Error: ${capitalise(sent[1])}`;
  return `BGP Error: ${error}`;
}

const capitalise = (s: string): string => (s ? s[0].toUpperCase() + s.slice(1) : s);

const isV6 = (address: string): boolean => address.includes(':');

function peerTable(peers: PeerSnapshot[], now: number, opts: FormatOptions): string {
  const rows = peers.map((p) => [p.address, p.type, p.birdState, formatSince(p.since, now, opts), peerInfo(p)]);
  return renderTable(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'], rows);
}

/** calicoctl node status, exactly, for a running agent. */
export function formatCalicoStatus(snap: StatusSnapshot, opts: FormatOptions = {}): string {
  const byAddress = (a: PeerSnapshot, b: PeerSnapshot) => a.address.localeCompare(b.address, 'en', { numeric: true });
  const v4 = snap.peers.filter((p) => !isV6(p.address)).sort(byAddress);
  const v6 = snap.peers.filter((p) => isV6(p.address)).sort(byAddress);
  let out = 'Calico process is running.\n\n';
  out += 'IPv4 BGP status\n';
  out += v4.length ? peerTable(v4, snap.now, opts) : 'No IPv4 peers found.\n';
  out += '\nIPv6 BGP status\n';
  out += v6.length ? peerTable(v6, snap.now, opts) : 'No IPv6 peers found.\n';
  out += '\n';
  return out;
}

/** One sentence per problem, each naming what is wrong and where to look. */
export function problems(snap: StatusSnapshot, opts: FormatOptions = {}): string[] {
  const out: string[] = [];
  const when = (t: number) => formatSince(t, snap.now, opts);
  if (!snap.datastore.connected) {
    out.push(
      `datastore disconnected since ${when(snap.datastore.since)}` +
        (snap.datastore.lastError ? `: ${snap.datastore.lastError}` : '') +
        ' (sessions and routes are kept as last known)',
    );
  } else if (!snap.datastore.synced) {
    out.push('datastore not yet synced: waiting for the first list from etcd');
  }
  if (snap.node.problem && snap.datastore.synced) out.push(`node: ${snap.node.problem}: no BGP speaker runs until it is fixed`);
  if (snap.listener?.error) out.push(`BGP listener: ${snap.listener.error}; only outgoing sessions can come up`);
  for (const s of snap.datastore.skipped) {
    out.push(`bad resource skipped: ${s.label ? `${s.label} (${s.key})` : s.key}: ${s.error}`);
  }
  for (const p of snap.datastore.problems ?? []) out.push(`datastore: ${p.key}: ${p.message}`);
  for (const p of [...snap.peers].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }))) {
    if (p.bgpState === 'Established' || p.disabled) continue; // disabled on purpose: a note, not a problem
    out.push(`peer ${p.address} (${p.name}) is ${p.bgpState}: ${explainPeer(p)}`);
  }
  for (const p of snap.peers) {
    if (p.bfd && p.bfd.state !== 'Up') out.push(`peer ${p.address} (${p.name}) BFD is ${p.bfd.state}: ${explainBfd(p.bfd)}`);
  }
  const loop = kernelLoopCheck(snap);
  if (loop && !loop.ok) out.push(`kernel: ${loop.detail}`);
  if (snap.kernel.tunnelMissing) out.push(`kernel: ${snap.kernel.tunnelMissing}`);
  if (snap.kernel.tunnelError) out.push(`tunnel: ${snap.kernel.tunnelError}`);
  for (const f of snap.kernel.failed) {
    out.push(`route not programmed: ${f.route}: ${f.error} (${f.attempts} attempts since ${when(f.since)})`);
  }
  return out;
}

/** Why a peer's BFD session is not Up (issue 22). */
export function explainBfd(b: NonNullable<PeerSnapshot['bfd']>): string {
  if (b.error) return b.error;
  if (b.lastDown && b.transitions > 0) return `${b.lastDown.reason}; routes via this peer left the kernel and its BGP session was reset (Cease 10, BFD Down)`;
  return `no BFD packet from the peer yet — is BFD configured on its side (BIRD: protocol bfd, and bfd on in the bgp protocol)?`;
}

/** Why a peer is not Established, in words an operator can act on. */
export function explainPeer(p: PeerSnapshot): string {
  const error = p.lastError;
  if (error) {
    if (/connection refused/i.test(error)) {
      return `${error} — nothing listens on ${p.address}:${p.port}; is the BGP daemon running there and is the port right?`;
    }
    if (/no route to host|network is unreachable|host is unreachable/i.test(error)) {
      return `${error} — ${p.address} cannot be reached from this node; check the node address and routing`;
    }
    if (/bad peer AS|2\/2/i.test(error)) return `${error} — the AS numbers configured on the two sides disagree`;
    if (/hold timer expired/i.test(error)) return `${error} — the peer stopped sending KEEPALIVEs (overloaded, frozen or the path drops packets)`;
    if (/MD5|password/i.test(error)) return error;
    return error;
  }
  if (p.passive && (p.bgpState === 'Active' || p.bgpState === 'Idle')) {
    return `waiting for ${p.address} to connect (Calico's mesh rule: the node with the greater IP connects)`;
  }
  if (p.note) return p.note;
  return 'connecting';
}

/** Deliberate modes worth a line, that are not faults (a pure speaker, routes left to Felix, no IPv6). */
export function notes(snap: StatusSnapshot, opts: FormatOptions = {}): string[] {
  const out = snap.kernel.note ? [`kernel: ${snap.kernel.note}`] : [];
  for (const p of snap.peers) {
    if (!p.disabled) continue;
    out.push(
      `peer ${p.address} (${p.name}) disabled by the operator since ${formatSince(p.since, snap.now, opts)}: ` +
        `\`agent peers enable ${p.name}\` starts it (so does an agent restart: the setting is not kept)`,
    );
  }
  // Said once, not per IPv6 peer: calico-node runs no bird6 without IP6, and
  // the datastore gives such a node no IPv6 peers at all (issue 19).
  if (!snap.node.ipv6 && !snap.node.problem && snap.node.ipv4) {
    out.push('node: no IPv6 address (Node spec.bgp.ipv6Address unset, IP6 none): no IPv6 BGP sessions and no IPv6 routes on this node');
  }
  return out;
}

/** The full `agent status` text: calicoctl's part, then the explanations. */
export function formatStatus(snap: StatusSnapshot, opts: FormatOptions = {}): string {
  let out = formatCalicoStatus(snap, opts);
  const list = problems(snap, opts);
  if (list.length) {
    out += 'Problems\n';
    for (const line of list) out += `- ${line}\n`;
  }
  const info = notes(snap, opts);
  if (info.length) {
    out += 'Notes\n';
    for (const line of info) out += `- ${line}\n`;
  }
  return out;
}
