/**
 * `--kernel-backend`: how routes reach the kernel, one definition for every
 * command that takes it (`agent run`, `agent routes flush`), so the two accept
 * exactly the same values. The backends are loaded only when one is opened:
 * netlink brings a native addon and its parser library.
 */
import type { KernelBackend } from '../../kernel/backend.js';

export const KERNEL_BACKENDS = ['netlink', 'ip-batch'] as const;
export type KernelBackendName = (typeof KERNEL_BACKENDS)[number];

export const KERNEL_BACKEND_OPTION = {
  type: 'string',
  choices: KERNEL_BACKENDS,
  default: 'netlink',
  describe: 'How routes are written: batched rtnetlink, or `ip -batch`',
} as const;

/**
 * Open the named backend. With `onNetlinkError`, a netlink backend that
 * cannot open (no addon, no permission) falls back to `ip -batch` after the
 * callback is told why; without it the error is thrown.
 */
export async function openKernelBackend(name: string, onNetlinkError?: (err: Error) => void): Promise<KernelBackend> {
  const { IpBatchBackend } = await import('../../kernel/ip-batch-backend.js');
  if (name === 'ip-batch') return new IpBatchBackend();
  if (name !== 'netlink') throw new Error(`unknown kernel backend "${name}" (${KERNEL_BACKENDS.join(' | ')})`);
  try {
    const { NetlinkBackend } = await import('../../kernel/netlink-backend.js');
    return await NetlinkBackend.open();
  } catch (err) {
    if (!onNetlinkError) throw err;
    onNetlinkError(err as Error);
    return new IpBatchBackend();
  }
}
