import { describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import { ipBatchLine, parseBatchErrors, parseIpRouteLine } from '../../../src/kernel/ip-batch-backend.js';
import {
  messages,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_NOOP,
  parseRoute,
  routeMessageLength,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  writeBarrier,
  writeRouteMessage,
} from '../../../src/kernel/netlink/rtnetlink.js';
import { blackholeRoute, formatRoute, gatewayRoute, type KernelRoute } from '../../../src/kernel/route.js';

const onlink = gatewayRoute(parsePrefix('192.168.163.0/26'), parseIpv4('20.20.2.4'), 'tunl0', true);
const direct = gatewayRoute(parsePrefix('10.8.5.0/26'), parseIpv4('10.10.20.4'));
const hole = blackholeRoute(parsePrefix('192.168.160.192/26'));

describe('rtnetlink route messages', () => {
  it('encodes RTM_NEWROUTE (create|replace, no ack) that decodes back to the same route', () => {
    for (const [route, oif] of [[onlink, 7], [direct, undefined], [hole, undefined], [{ ...direct, metric: 32 }, undefined]] as [KernelRoute, number | undefined][]) {
      const req = { route, oif, protocol: 12 };
      const buf = Buffer.alloc(routeMessageLength(req, false) + 16);
      const end = writeRouteMessage(buf, 0, req, false, 4242);
      writeBarrier(buf, end, 4243);
      const msgs = [...messages(buf)];
      expect(msgs.map((m) => [m.type, m.seq])).toEqual([[RTM_NEWROUTE, 4242], [NLMSG_NOOP, 4243]]);
      expect(msgs[0].flags).toBe(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
      expect(msgs[1].flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
      const parsed = parseRoute(buf, msgs[0])!;
      expect(parsed.protocol).toBe(12);
      expect(parsed.oif).toBe(oif);
      const { dev: _dev, ...withoutDev } = route;
      expect(parsed.route).toEqual(withoutDev);
    }
  });

  it('encodes RTM_DELROUTE with proto bird and no gateway, so only our route can match', () => {
    const req = { route: onlink, oif: 7, protocol: 12 };
    const buf = Buffer.alloc(routeMessageLength(req, true));
    writeRouteMessage(buf, 0, req, true, 9);
    const [h] = [...messages(buf)];
    expect(h.type).toBe(RTM_DELROUTE);
    expect(buf[h.payload + 5]).toBe(12); // rtm_protocol
    expect(buf[h.payload + 6]).toBe(255); // RT_SCOPE_NOWHERE
    expect(parseRoute(buf, h)!.route.gateway).toBeUndefined();
  });
});

describe('ip -batch fallback parsing', () => {
  it('writes batch lines for the seed forms', () => {
    expect(ipBatchLine({ op: 'replace', route: onlink })).toBe('route replace 192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird table main onlink');
    expect(ipBatchLine({ op: 'replace', route: hole })).toBe('route replace blackhole 192.168.160.192/26 proto bird table main');
    expect(ipBatchLine({ op: 'delete', route: direct })).toBe('route del 10.8.5.0/26 proto bird table main');
  });

  it('maps "Command failed -:N" back to lines with the kernel message', () => {
    const errs = parseBatchErrors('Error: Nexthop has invalid gateway.\nCommand failed -:2\nCannot find device "tun9"\nCommand failed -:5\n');
    expect([...errs]).toEqual([
      [2, 'Nexthop has invalid gateway'],
      [5, 'Cannot find device "tun9"'],
    ]);
  });

  it('parses ip route lines, including foreign protocols and host routes', () => {
    const lines = [
      '192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink ',
      'blackhole 192.168.160.192/26 proto bird ',
      '10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird ',
      '10.10.20.0/24 dev eth0 proto kernel scope link src 10.10.20.5 ',
      '10.9.9.9 via 10.10.20.1 dev eth0 proto 99 metric 5 ',
      'default via 10.10.20.1 dev eth0 ',
    ];
    const parsed = lines.map(parseIpRouteLine);
    expect(parsed.slice(0, 3).map((p) => formatRoute(p!.route))).toEqual(lines.slice(0, 3).map((l) => l.trim()));
    expect(parsed.map((p) => p!.protocol)).toEqual(['bird', 'bird', 'bird', 'kernel', '99', 'boot']);
    expect(parsed[4]!.route).toMatchObject({ prefix: parsePrefix('10.9.9.9/32'), metric: 5 });
  });
});
