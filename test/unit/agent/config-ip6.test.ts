/** IP6 as calico-node reads it (issue 19): address with length, bare address, autodetect, none. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/agent/config.js';
import { autodetectAddress, type Interfaces } from '../../../src/agent/autodetection.js';

const autodetectIpv6 = (ifaces?: Interfaces) => {
  const found = autodetectAddress('first-found', 6, 'IP6_AUTODETECTION_METHOD', ifaces ? { interfaces: () => ifaces } : {});
  return found && { address: found.address, prefixLen: found.prefixLen };
};

const base = { NODENAME: 'node-a', IP: '10.0.1.2/24' };

describe('IP6', () => {
  it('an address with its prefix length, in canonical form', () => {
    const c = loadConfig({}, { ...base, IP6: 'FD00:199:0:0::2/64' });
    expect(c.ipv6).toBe('fd00:199::2');
    expect(c.ipv6PrefixLen).toBe(64);
    expect(loadConfig({ ip6: 'fd00:199::3/80' }, { ...base, IP6: 'fd00:199::2/64' })).toMatchObject({ ipv6: 'fd00:199::3', ipv6PrefixLen: 80 });
  });
  it('unset or none: no IPv6 (no IPv6 sessions, as calico-node runs no bird6)', () => {
    expect(loadConfig({}, base).ipv6).toBeUndefined();
    expect(loadConfig({}, { ...base, IP6: 'none' })).toMatchObject({ ipv6: undefined, ipv6PrefixLen: undefined });
  });
  it('refuses what is not an IPv6 address, naming the setting', () => {
    for (const bad of ['10.0.0.1', 'fd00::1/64/1', 'fd00::zz', 'fd00::1/129']) {
      expect(() => loadConfig({}, { ...base, IP6: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({}, { ...base, IP6: bad }), bad).toThrow(/IP6/);
    }
  });
  it('autodetect: the first global IPv6 address, skipping link-local, loopback and calico-node\'s skipped interfaces', () => {
    const v6 = (address: string, cidr: string, internal = false) => ({ address, netmask: '', family: 'IPv6' as const, mac: '', internal, cidr, scopeid: 0 });
    const ifaces = {
      lo: [v6('::1', '::1/128', true)],
      cali12345: [v6('fd00:99::1', 'fd00:99::1/128')],
      eth1: [v6('fd00:200::2', 'fd00:200::2/64')],
      // calico-node walks the interfaces in reverse of the system's order: the last listed is tried first.
      eth0: [v6('fe80::1', 'fe80::1/64'), v6('FD00:199:0::2', 'fd00:199::2/64')],
    };
    expect(autodetectIpv6(ifaces)).toEqual({ address: 'fd00:199::2', prefixLen: 64 });
    expect(autodetectIpv6({ lo: ifaces.lo, eth0: [v6('fe80::1', 'fe80::1/64')] })).toBeUndefined();
    // On this machine: whatever it finds is never link-local, and loadConfig agrees with it or says it found none.
    const found = autodetectIpv6();
    if (found) expect(loadConfig({}, { ...base, IP6: 'autodetect' })).toMatchObject({ ipv6: found.address, ipv6PrefixLen: found.prefixLen });
    else expect(() => loadConfig({}, { ...base, IP6: 'autodetect' })).toThrow(/IP6 \(--ip6\): "autodetect" found no global IPv6 address/);
  });
});
