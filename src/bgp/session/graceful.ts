/**
 * Graceful restart signalling (RFC 4724, RFC 8538). The session decides only
 * whether a drop is graceful and for how long the peer's routes may be kept;
 * the stale-route bookkeeping is the RIB's.
 */
import type { Capability } from '../codec/types.js';
import type { Notice } from '../fsm/types.js';

export interface GracefulState {
  /** The peer's GR capability (restart time, N bit), when both sides advertised GR. */
  remote: { restartTime: number; notification: boolean } | null;
  /** Whether we advertised the N bit (RFC 8538). */
  localNotification: boolean;
}

/**
 * RFC 4724 §4.2: a drop without NOTIFICATION keeps the peer's routes as stale.
 * RFC 8538 §4: when both sides set the N bit, a NOTIFICATION does too, except
 * a Cease/Hard Reset (6/9).
 */
export function isGracefulDown(gr: GracefulState, notice: Notice | undefined): boolean {
  if (!gr.remote) return false;
  if (!notice) return true;
  if (!(gr.remote.notification && gr.localNotification)) return false;
  return !(notice.code === 6 && notice.subcode === 9);
}

export function grCapability(opts: {
  restarting: boolean;
  restartTime: number;
  forwardingPreserved: boolean;
  notification: boolean;
  /** The family the session carries (RFC 4724 §3: one tuple per AFI/SAFI preserved); IPv4 unicast by default. */
  afi?: number;
}): Capability {
  return {
    code: 64,
    name: 'graceful-restart',
    restartState: opts.restarting,
    notification: opts.notification,
    restartTime: Math.min(Math.max(0, Math.round(opts.restartTime)), 4095),
    families: [{ afi: opts.afi ?? 1, safi: 1, forwardingState: opts.forwardingPreserved }],
  };
}
