/**
 * Operator words for why a session is not up: what `agent status` prints in
 * INFO and what the logs say. BIRD's phrasing where it has one ("Connect:
 * connection refused", "Hold timer expired"), and more detail where BIRD is
 * silent (which AS the peer claimed, what the peer's shutdown message said).
 */
import { notificationName } from '../codec/index.js';
import type { Notice } from '../fsm/types.js';

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'broken pipe',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
};

/** "Connect: connection refused" for a failed outgoing connect, "Socket: ..." once connected. */
export function socketErrorWords(err: NodeJS.ErrnoException, phase: 'Connect' | 'Socket', detail?: string): string {
  const words = (err.code && SOCKET_ERRORS[err.code]) || err.message;
  return `${phase}: ${words}${detail ? ` (${detail})` : ''}`;
}

/** RFC 8203 / RFC 9003: the Cease shutdown communication, a length octet then UTF-8. */
export function shutdownMessage(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8').subarray(0, 255);
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

export function decodeShutdownMessage(data: Uint8Array | undefined): string | undefined {
  if (!data || data.length < 1 || data[0] !== data.length - 1 || data[0] === 0) return undefined;
  return Buffer.from(data.subarray(1)).toString('utf8');
}

function noticeTitle(n: Notice): string {
  return `${n.code}/${n.subcode} (${notificationName(n.code, n.subcode)})`;
}

/** Words for a NOTIFICATION the peer sent us. `localAs` helps explain 2/2. */
export function receivedNotificationWords(n: Notice, localAs: number): string {
  const base = `Received NOTIFICATION ${noticeTitle(n)}`;
  const data = n.data ?? new Uint8Array(0);
  if (n.code === 2 && n.subcode === 2) {
    const seen = data.length === 2 ? (data[0] << 8) | data[1] : data.length === 4 ? Buffer.from(data).readUInt32BE(0) : undefined;
    return `${base}: the peer does not expect our AS ${localAs}${seen !== undefined && seen !== localAs ? ` (it read ${seen})` : ''}; check the AS configured for us on the peer`;
  }
  if (n.code === 4) return `${base}: the peer heard nothing from us within its hold time`;
  if (n.code === 6) {
    const msg = decodeShutdownMessage(n.data);
    if (msg) return `${base}: "${msg}"`;
  }
  return base;
}

/** Words for a NOTIFICATION we sent, with our reason. */
export function sentNotificationWords(n: Notice, detail?: string): string {
  if (n.code === 4) return 'Hold timer expired';
  const msg = n.code === 6 ? decodeShutdownMessage(n.data) : undefined;
  const why = detail ?? (msg ? `"${msg}"` : undefined);
  return `Sent NOTIFICATION ${noticeTitle(n)}${why ? `: ${why}` : ''}`;
}

