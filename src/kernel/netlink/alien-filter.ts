/**
 * The kernel-side filter of the alien-route monitor socket (pure: constants
 * and a classic BPF program, no I/O).
 *
 * Every route change in the namespace is multicast to RTNLGRP_IPV4_ROUTE /
 * RTNLGRP_IPV6_ROUTE members, the agent's own `proto bird` writes included:
 * a 100k-route batch of the programmer would queue 100k notifications on the
 * monitor socket while the event loop is busy sending them, overflow its
 * receive buffer and (with the `netlink` package) abort the process (measured:
 * ~10k notifications fill an 8 MiB buffer). BIRD's kernel protocol ignores
 * those routes anyway (`learn` takes alien routes only), so this filter drops
 * them in the kernel before they are queued: a route message whose
 * rtm_protocol is one of `ignored` never reaches the socket. Anything else
 * (NLMSG_DONE, errors, other protocols) passes.
 *
 * The filter sees one notification per skb from nlmsghdr on: nlmsg_type is a
 * little-endian u16 at offset 4 (RTM_NEWROUTE 24 / RTM_DELROUTE 25 fit its
 * low byte) and rtm_protocol the byte at 16 + 5. Dumps are read on another,
 * unfiltered socket: a dump skb holds many routes and the filter would judge
 * them all by the first.
 */
import { RTM_DELROUTE, RTM_NEWROUTE } from './rtnetlink.js';

/** rtnetlink multicast groups (include/uapi/linux/rtnetlink.h, enum rtnetlink_groups). */
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_ROUTE = 11;
/** SOL_NETLINK options (include/uapi/linux/netlink.h). */
export const SOL_NETLINK = 270;
export const NETLINK_NO_ENOBUFS = 5;

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Classic BPF opcodes (linux/bpf_common.h).
const LD_B_ABS = 0x30; // BPF_LD | BPF_B | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K
const ACCEPT = 0xffffffff;
const DROP = 0;

/** Offset of rtm_protocol: nlmsghdr (16 bytes) + family, dst_len, src_len, tos, table. */
const RTM_PROTOCOL_OFFSET = 16 + 5;

/**
 * Drop RTM_NEWROUTE / RTM_DELROUTE whose protocol is in `ignored`, pass the
 * rest. Jumps are relative to the next instruction.
 */
export function alienRouteFilter(ignored: readonly number[]): SockFilter[] {
  const n = ignored.length;
  const prog: SockFilter[] = [
    { code: LD_B_ABS, jt: 0, jf: 0, k: 4 }, // A = low byte of nlmsg_type
    { code: JEQ_K, jt: 1, jf: 0, k: RTM_NEWROUTE }, // route message: check its protocol
    { code: JEQ_K, jt: 0, jf: n + 1, k: RTM_DELROUTE }, // neither: accept (skip the loads and tests)
    { code: LD_B_ABS, jt: 0, jf: 0, k: RTM_PROTOCOL_OFFSET },
  ];
  // Test i jumps to DROP (n - i further on) on a match.
  ignored.forEach((proto, i) => prog.push({ code: JEQ_K, jt: n - i, jf: 0, k: proto }));
  prog.push({ code: RET_K, jt: 0, jf: 0, k: ACCEPT });
  prog.push({ code: RET_K, jt: 0, jf: 0, k: DROP });
  return prog;
}

/** Run a classic BPF program of the shapes above over `packet` (for unit tests: the kernel runs the real one). */
export function runFilter(prog: readonly SockFilter[], packet: Uint8Array): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc];
    switch (ins.code) {
      case LD_B_ABS:
        if (ins.k >= packet.length) return DROP; // the kernel drops on an out-of-bounds load
        a = packet[ins.k];
        break;
      case JEQ_K:
        pc += a === ins.k ? ins.jt : ins.jf;
        break;
      case RET_K:
        return ins.k;
      default:
        throw new Error(`opcode ${ins.code} not modelled`);
    }
  }
  return DROP;
}
