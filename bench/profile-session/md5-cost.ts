/**
 * What TCP MD5 / GTSM support costs a session that uses neither (issue 20),
 * and what the FFI-made socket costs one that does. Over loopback, one
 * process:
 * - the no-password path: the connector is node's own net.connect and the
 *   FFI (koffi) is never loaded;
 * - connect latency: net.connect vs a socket made with socket(2) through the
 *   FFI and handed to net.Socket (GTSM options set; MD5 needs a keyed peer);
 * - bulk write throughput over each kind of socket (same libuv handle);
 * - the one-time cost of loading koffi (time, RSS).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/profile-session/md5-cost.js
 */
import net from 'node:net';
import { connectorFor, connectWithOptions } from '../../src/bgp/session/session-security.js';
import { ffiLoaded, tcpSocket, closeFd } from '../../src/bgp/session/socket-options.js';
import type { PeerConfig } from '../../src/contracts.js';

const plainPeer: PeerConfig = {
  name: 'Mesh_127_0_0_1', type: 'node-to-node mesh', address: '127.0.0.1', port: 179, asNumber: 64512,
  passive: false, keepOriginalNextHop: false, restartTime: 120,
};

async function connects(make: () => net.Socket, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = make();
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  }
  return (performance.now() - t) / n;
}

async function bulk(make: () => net.Socket, megabytes: number): Promise<number> {
  const s = make();
  await new Promise((r) => s.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024);
  let left = megabytes * 16;
  const t = performance.now();
  await new Promise<void>((done) => {
    const write = (): void => {
      while (left > 0) {
        left--;
        if (!s.write(chunk)) {
          s.once('drain', write);
          return;
        }
      }
      s.end(() => done());
    };
    write();
  });
  return megabytes / ((performance.now() - t) / 1000);
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {};
  out.plainConnectorIsNetConnect = connectorFor(plainPeer) === net.connect;
  out.ffiLoadedForPlainPeers = ffiLoaded();

  const server = net.createServer((s) => s.on('data', () => {}).on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const plain = () => net.connect({ host: '127.0.0.1', port });
  // GTSM with 255 hops: the options are set, loopback's TTL 64 still passes the minimum of 1.
  const ffi = () => connectWithOptions({ address: '127.0.0.1', ttlSecurity: 255 }, { host: '127.0.0.1', port });

  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  closeFd(tcpSocket(4));
  out.koffiLoadMs = +(performance.now() - t0).toFixed(1);
  out.koffiLoadRssMB = +((process.memoryUsage().rss - rss0) / 1e6).toFixed(1);

  for (let round = 0; round < 3; round++) {
    out[`round${round}`] = {
      connectMsPlain: +(await connects(plain, 300)).toFixed(3),
      connectMsFfi: +(await connects(ffi, 300)).toFixed(3),
      bulkMBsPlain: Math.round(await bulk(plain, 256)),
      bulkMBsFfi: Math.round(await bulk(ffi, 256)),
    };
  }
  await new Promise((r) => server.close(r));
  console.log(JSON.stringify(out, null, 2));
}

void main();
