/**
 * `--manage-tunnel`: give tunl0 the node's `ipv4IPIPTunnelAddr` (as a /32,
 * as Felix does) and the IPIP MTU (Calico: 1440 by default, 1480 without
 * encryption overheads), and bring it up. Other IPv4 addresses on tunl0 are
 * removed: the tunnel carries exactly the one Calico assigned.
 *
 * Rare and small, so it runs `ip` rather than netlink; the runner is injected
 * for unit tests.
 */
import { execFile } from 'node:child_process';

export type IpRunner = (args: string[]) => Promise<string>;

/** The real runner: `ip` from iproute2, its stderr in the error. */
export const ipCommand: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
  });

export interface TunnelSettings {
  device: string;
  /** Dotted quad, or undefined to leave the addresses alone. */
  address?: string;
  mtu: number;
}

export interface TunnelResult {
  changed: string[];
}

/** Bring the tunnel device to the settings; returns what was changed, in `ip` words. */
export async function ensureTunnel(run: IpRunner, want: TunnelSettings): Promise<TunnelResult> {
  const changed: string[] = [];
  const link = JSON.parse(await run(['-j', 'addr', 'show', 'dev', want.device])) as {
    mtu: number;
    flags: string[];
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[];
  if (link.length === 0) throw new Error(`device ${want.device} does not exist`);
  const dev = link[0];
  if (dev.mtu !== want.mtu) {
    await run(['link', 'set', 'dev', want.device, 'mtu', String(want.mtu)]);
    changed.push(`mtu ${dev.mtu} -> ${want.mtu}`);
  }
  if (!dev.flags.includes('UP')) {
    await run(['link', 'set', 'dev', want.device, 'up']);
    changed.push('up');
  }
  if (want.address !== undefined) {
    const v4 = dev.addr_info.filter((a) => a.family === 'inet');
    for (const a of v4) {
      if (a.local === want.address && a.prefixlen === 32) continue;
      await run(['addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', want.device]);
      changed.push(`removed ${a.local}/${a.prefixlen}`);
    }
    if (!v4.some((a) => a.local === want.address && a.prefixlen === 32)) {
      await run(['addr', 'add', `${want.address}/32`, 'dev', want.device]);
      changed.push(`added ${want.address}/32`);
    }
  }
  return { changed };
}
