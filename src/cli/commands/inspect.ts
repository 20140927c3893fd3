/**
 * birdc-like inspection: `agent peers` (show protocols all; its verbs reset,
 * disable, enable are in peers-admin.ts), `agent routes`
 * (show route [all] [for prefix], with the best-path step that chose each
 * route and the kernel route it became), `agent log-level`.
 */
import type { CommandModule } from 'yargs';
import type { PeerSnapshot } from '../../agent/snapshot.js';
import type { RouteView } from '../../agent/inspect.js';
import { formatSince, peerInfo } from '../../agent/status-format.js';
import { errorJson, peerJson } from '../../agent/status-json.js';
import { matchPeers, noSuchPeer } from '../../agent/peer-match.js';
import { ask, commandGroup, withControlSocket, type ControlArgs } from './common.js';
import { peerAdminCommands } from './peers-admin.js';

export function formatPeer(p: PeerSnapshot, now: number): string {
  const lines = [
    `${p.name.padEnd(24)} BGP        ${p.birdState.padEnd(6)} ${formatSince(p.since, now)}    ${peerInfo(p)}`,
    `  Peer type:          ${p.type}${p.passive ? ' (passive: waits for the peer to connect)' : ''}`,
    ...(p.bgpPeer ? [`  BGPPeer:            ${p.bgpPeer}`] : []),
    ...(p.disabled ? ['  Disabled:           by the operator (`agent peers enable` starts it; an agent restart also does)'] : []),
    `  BGP state:          ${p.bgpState}`,
    `    Neighbor address: ${p.address}${p.port !== 179 ? ` port ${p.port}` : ''}`,
    `    Neighbor AS:      ${p.asNumber}`,
    ...(p.localAs !== undefined ? [`    Local AS:         ${p.localAs} (BGPPeer localASNumber: the peer sees only this AS)`] : []),
  ];
  if (p.remoteRouterId) lines.push(`    Neighbor ID:      ${p.remoteRouterId}`);
  if (p.localAddress) lines.push(`    Source address:   ${p.localAddress}`);
  if (p.holdTime !== undefined) lines.push(`    Hold timer:       ${p.holdTime} s, keepalive ${p.keepaliveTime ?? Math.floor(p.holdTime / 3)} s`);
  if (p.capabilities?.length) lines.push(`    Capabilities:     ${p.capabilities.join(', ')}`);
  if (p.filters?.length) lines.push(`    BGPFilters:       ${p.filters.join(', ')} (first matching rule decides; agent routes names it)`);
  const c = p.counters;
  lines.push(`    Routes:           ${c.received} received, ${c.accepted} accepted, ${c.advertised} advertised`);
  lines.push(`    Messages:         ${c.messagesIn} in (${c.updatesIn} updates), ${c.messagesOut} out (${c.updatesOut} updates)`);
  if (p.lastError) lines.push(`    Last error:       ${p.lastError}`);
  // What the flap counter and uptime metrics export, for the operator at the shell.
  const up = p.bgpState === 'Established' ? `up ${formatDuration(now - p.since)}` : 'not up';
  if (p.flaps !== undefined) lines.push(`    Session:          ${up}, ${p.flaps} flap${p.flaps === 1 ? '' : 's'} since configured`);
  const b = p.bfd;
  if (b) {
    // birdc show bfd sessions, folded into the peer it serves.
    lines.push(`  BFD state:          ${b.state} since ${formatSince(b.since, now)} (remote ${b.remoteState})`);
    lines.push(`    Intervals:        tx ${b.txIntervalMs} ms, rx ${b.rxIntervalMs} ms, multiplier ${b.multiplier} (remote ${b.remoteMultiplier}), detection ${b.detectionTimeMs} ms`);
    lines.push(`    Discriminators:   local ${b.localDiscriminator}, remote ${b.remoteDiscriminator}`);
    if (b.lastDown) lines.push(`    Last down:        ${formatSince(b.lastDown.at, now)}: ${b.lastDown.reason}`);
    if (b.error) lines.push(`    Error:            ${b.error}`);
  }
  return lines.join('\n') + '\n';
}

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units, as an uptime reads. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function formatRoutes(routes: RouteView[]): string {
  let out = '';
  for (const r of routes) {
    for (const [i, p] of r.paths.entries()) {
      const head = i === 0 ? r.prefix.padEnd(20) : ' '.repeat(20);
      const from = p.peer ? `from ${p.peer}` : 'local';
      out += `${head} via ${p.nextHop.padEnd(15)} ${from.padEnd(20)} ${p.best ? '*' : ' '} ${p.attributes}` +
        `${p.pathId ? ` path-id ${p.pathId}` : ''}${p.stale ? ' (stale)' : ''}${p.import ? ` (${p.import})` : ''}\n`;
    }
    for (const e of r.exportFilters ?? []) out += `${' '.repeat(20)} export ${e}\n`;
    if (r.reason) out += `${' '.repeat(20)} best path chosen by: ${r.reason}\n`;
    if (r.kernel) out += `${' '.repeat(20)} kernel: ${r.kernel}\n`;
  }
  return out || 'No routes.\n';
}

export const peersShowCommand: CommandModule<object, ControlArgs & { json: boolean; name?: string }> = {
  command: '$0 [name]',
  describe: 'Detail per BGP peer: state, negotiated capabilities, counters, last error (birdc show protocols all)',
  builder: (y) =>
    withControlSocket(y)
      .positional('name', { type: 'string', describe: 'Session name (Mesh_10_0_0_2), peer address or BGPPeer name' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the peers as JSON (the same fields as `agent status --json`)' }),
  handler: async (args) => {
    const { now, peers } = await ask<{ now: number; peers: PeerSnapshot[] }>(args, 'peers', {}, { json: args.json });
    const chosen = args.name ? matchPeers(peers, args.name) : peers;
    if (args.name && chosen.length === 0) {
      const message = `agent: ${noSuchPeer(peers, args.name)}`;
      if (args.json) process.stdout.write(errorJson(message));
      process.stderr.write(message + '\n');
      process.exit(1);
    }
    process.stdout.write(args.json ? JSON.stringify(chosen.map(peerJson), null, 2) + '\n' : chosen.map((p) => formatPeer(p, now)).join('\n'));
  },
};

export const peersCommand = commandGroup(
  'peers',
  'Peers: `agent peers [peer]` (birdc show protocols all); `reset <peer> [--soft]`, `disable <peer>`, `enable <peer>`',
  [peersShowCommand, ...peerAdminCommands],
);

export const routesShowCommand: CommandModule<object, ControlArgs & { json: boolean; prefix?: string; received?: string; advertised?: string; limit: number }> = {
  command: '$0 [prefix]',
  describe: 'Routes: best path, the step that chose it and the kernel route (birdc show route)',
  builder: (y) =>
    withControlSocket(y)
      .positional('prefix', { type: 'string', describe: 'One prefix, e.g. 10.244.1.0/26 or fd00:245::/122' })
      .option('received', { type: 'string', describe: 'Paths received from this peer (address or name): Adj-RIB-In' })
      .option('advertised', { type: 'string', describe: 'Paths advertised to this peer: Adj-RIB-Out' })
      .option('limit', { type: 'number', default: 1000, describe: 'At most this many prefixes' })
      .option('json', { type: 'boolean', default: false })
      .conflicts('received', 'advertised'),
  handler: async (args) => {
    const routes = await ask<RouteView[]>(args, 'routes', {
      prefix: args.prefix,
      received: args.received,
      advertised: args.advertised,
      limit: args.limit,
    }, { json: args.json });
    process.stdout.write(args.json ? JSON.stringify(routes, null, 2) + '\n' : formatRoutes(routes));
  },
};

export const routesForCommand: CommandModule<object, ControlArgs & { json: boolean; address: string }> = {
  command: 'for <address>',
  describe: 'The route a packet to this address follows: the longest matching prefix, IPv4 or IPv6 (birdc show route for)',
  builder: (y) =>
    withControlSocket(y)
      .positional('address', { type: 'string', demandOption: true, describe: 'An address (10.244.1.7, fd00:245::7) or a prefix' })
      .option('json', { type: 'boolean', default: false }) as never,
  handler: async (args) => {
    const routes = await ask<RouteView[]>(args, 'routes', { for: args.address }, { json: args.json });
    if (args.json) process.stdout.write(JSON.stringify(routes, null, 2) + '\n');
    else process.stdout.write(routes.length ? formatRoutes(routes) : `Network not found: no route in the Loc-RIB covers ${args.address}\n`);
    if (routes.length === 0) process.exitCode = 1;
  },
};

export const logLevelCommand: CommandModule<object, ControlArgs & { level: string }> = {
  command: 'log-level <level>',
  describe: 'Change the running agent\'s log level (fatal, error, warn, info, debug, trace)',
  builder: (y) => withControlSocket(y).positional('level', { type: 'string', demandOption: true }),
  handler: async (args) => {
    const result = await ask<{ previous: string; level: string }>(args, 'log-level', { level: args.level });
    process.stdout.write(`log level ${result.previous} -> ${result.level}\n`);
  },
};
