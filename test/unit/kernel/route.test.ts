/**
 * routeSatisfies decides whether a kernel route is already what the agent
 * wants: too loose and a wrong route is never repaired, too strict and every
 * restart or scan replaces routes (churn). formatRoute is what status and
 * logs print, in `ip route` form. Written for the Stryker survivors in
 * src/kernel/route.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import { blackholeRoute, formatRoute, gatewayRoute, routeSatisfies, type KernelRoute } from '../../../src/kernel/route.js';

const P = parsePrefix;
const want = gatewayRoute(P('10.8.5.0/26'), parseIpv4('20.20.2.4'), 'tunl0', true);

describe('routeSatisfies', () => {
  it('the same route satisfies; each field that differs does not', () => {
    expect(routeSatisfies({ ...want }, want)).toBe(true);
    const differs: Partial<KernelRoute>[] = [
      { prefix: P('10.8.5.64/26') },
      { type: 'blackhole' },
      { metric: 32 },
      { gateway: parseIpv4('20.20.2.5') },
      { onlink: false },
      { dev: 'eth0' },
    ];
    for (const d of differs) expect(routeSatisfies({ ...want, ...d }, want), JSON.stringify(d)).toBe(false);
  });

  it('a desired route without a device accepts any device; a blackhole needs only prefix, type and metric', () => {
    const anyDev = gatewayRoute(P('10.8.5.0/26'), parseIpv4('10.10.20.4'));
    expect(routeSatisfies({ ...anyDev, dev: 'eth0' }, anyDev)).toBe(true);
    const bh = blackholeRoute(P('10.8.9.0/26'));
    expect(routeSatisfies({ ...bh, dev: 'lo', gateway: 1, onlink: true }, bh)).toBe(true);
    expect(routeSatisfies({ ...bh, metric: 1 }, bh)).toBe(false);
    expect(routeSatisfies({ ...bh, type: 'unreachable' }, bh)).toBe(false);
  });
});

describe('formatRoute', () => {
  it('prints ip route forms: host routes without /32, metric only when not 0, onlink last', () => {
    expect(formatRoute(want)).toBe('10.8.5.0/26 via 20.20.2.4 dev tunl0 proto bird onlink');
    expect(formatRoute(blackholeRoute(P('10.8.9.0/26')))).toBe('blackhole 10.8.9.0/26 proto bird');
    expect(formatRoute(gatewayRoute(P('10.1.2.3/32'), parseIpv4('10.0.0.1'), 'eth0'))).toBe('10.1.2.3 via 10.0.0.1 dev eth0 proto bird');
    expect(formatRoute({ ...gatewayRoute(P('10.1.2.0/24'), parseIpv4('10.0.0.1')), metric: 32 })).toBe('10.1.2.0/24 via 10.0.0.1 proto bird metric 32');
  });
});
