/**
 * IP_AUTODETECTION_METHOD as calico-node implements it
 * (node/pkg/lifecycle/startup/autodetection), over injected interface lists:
 * first-found, interface=, skip-interface=, cidr=, can-reach=, and the
 * configuration errors for what calico-node would refuse (issue 23).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { autodetectAddress, isGlobalUnicast, reachSource, type AutodetectDeps, type Interfaces } from '../../../src/agent/autodetection.js';
import { ConfigError, loadConfig } from '../../../src/agent/config.js';

const v4 = (cidr: string, internal = false): NetworkInterfaceInfo => ({
  address: cidr.split('/')[0], netmask: '', family: 'IPv4', mac: '', internal, cidr,
});
const v6 = (cidr: string): NetworkInterfaceInfo => ({ address: cidr.split('/')[0], netmask: '', family: 'IPv6', mac: '', internal: false, cidr, scopeid: 0 });

/** In the system's order (what os.networkInterfaces lists): calico-node walks it from the end. */
const host: Interfaces = {
  lo: [v4('127.0.0.1/8', true)],
  ens3: [v4('169.254.3.1/16'), v4('10.0.1.2/24'), v6('fd00:1::2/64')],
  ens4: [v4('192.168.7.9/22')],
  docker0: [v4('172.17.0.1/16')],
  'cali1234abcd': [v4('10.244.1.1/32')],
  tunl0: [v4('10.244.1.0/32')],
  'vxlan.calico': [v4('10.244.1.64/32')],
};
const deps = { interfaces: () => host };
const detect = (method: string | undefined, version: 4 | 6 = 4, d: AutodetectDeps = deps) => autodetectAddress(method, version, 'IP_AUTODETECTION_METHOD', d);

describe('IP_AUTODETECTION_METHOD', () => {
  it('first-found (also unset): the last-listed interface calico-node does not exclude, first global unicast address on it', () => {
    // docker0, cali*, tunl*, vxlan.calico and lo are excluded; ens4 is listed after ens3, so it is tried first.
    expect(detect(undefined)).toEqual({ address: '192.168.7.9', prefixLen: 22, iface: 'ens4' });
    expect(detect('first-found')).toEqual(detect(undefined));
    // Link-local is never the node address: ens3's 169.254 address is passed over for its 10.0.1.2.
    expect(detect('first-found', 4, { interfaces: () => ({ lo: host.lo, ens3: host.ens3 }) })).toEqual({ address: '10.0.1.2', prefixLen: 24, iface: 'ens3' });
    expect(detect('first-found', 4, { interfaces: () => ({ lo: host.lo, docker0: host.docker0 }) })).toBeUndefined();
    expect(detect('first-found', 6)).toEqual({ address: 'fd00:1::2', prefixLen: 64, iface: 'ens3' });
  });

  it('interface=<regex>,...: only matching names (unanchored, as Go), and no exclusion list', () => {
    expect(detect('interface=ens3')).toMatchObject({ address: '10.0.1.2', iface: 'ens3' });
    expect(detect('interface=ens')).toMatchObject({ iface: 'ens4' }); // unanchored: both match, the later one first
    expect(detect('interface=eth.*, ens3')).toMatchObject({ iface: 'ens3' }); // a list, spaces around the comma allowed
    expect(detect('interface=docker0')).toMatchObject({ address: '172.17.0.1', iface: 'docker0' }); // excluded only by default
    expect(detect('interface=eth9')).toBeUndefined();
  });

  it('skip-interface=<regex>,...: the default exclusions plus these', () => {
    expect(detect('skip-interface=ens4')).toMatchObject({ address: '10.0.1.2', iface: 'ens3' });
    expect(detect('skip-interface=ens4,ens3')).toBeUndefined(); // docker0 etc. stay excluded
  });

  it('cidr=<cidr>,...: the first address inside one of them, on any interface', () => {
    expect(detect('cidr=10.0.0.0/16')).toEqual({ address: '10.0.1.2', prefixLen: 24, iface: 'ens3' });
    expect(detect('cidr=10.244.0.0/16')).toMatchObject({ address: '10.244.1.64', iface: 'vxlan.calico' }); // no name filter at all
    expect(detect('cidr=10.9.0.0/16, 192.168.0.0/16')).toMatchObject({ address: '192.168.7.9' });
    expect(detect('cidr=fd00::/8', 6)).toMatchObject({ address: 'fd00:1::2' });
    expect(detect('cidr=10.9.0.0/16')).toBeUndefined();
  });

  it('can-reach=<dest>: the address the kernel would send from, with its interface\'s prefix length', () => {
    const asked: [string, number][] = [];
    const reach = (dest: string, version: 4 | 6) => (asked.push([dest, version]), '10.0.1.2');
    expect(detect('can-reach=8.8.8.8', 4, { ...deps, reach })).toEqual({ address: '10.0.1.2', prefixLen: 24, iface: 'ens3' });
    expect(asked).toEqual([['8.8.8.8', 4]]);
    expect(detect('can-reach=www.example.org', 4, { ...deps, reach: () => new Error('ENOTFOUND') })).toBeUndefined();
    expect(detect('can-reach=8.8.8.8', 4, { ...deps, reach: () => '10.99.0.1' })).toBeUndefined(); // not on any interface
  });

  it('can-reach with the real probe: the source address of a route to loopback is on lo', () => {
    expect(reachSource('127.0.0.1', 4)).toBe('127.0.0.1');
    expect(reachSource('::1', 4)).toBeInstanceOf(Error); // no IPv4 route to an IPv6 address: no source
  });

  it('what calico-node refuses is an error naming the variable', () => {
    for (const [method, message] of [
      ['first-fund', /IP_AUTODETECTION_METHOD: "first-fund" is not an autodetection method/],
      ['interface=(', /IP_AUTODETECTION_METHOD: invalid interface regex/],
      ['cidr=10.0.0.0/33', /IP_AUTODETECTION_METHOD: "10.0.0.0\/33" is not a CIDR/],
      ['cidr=10.0.0.0', /is not a CIDR/],
      ['can-reach=', /can-reach= needs a destination/],
      ['kubernetes-internal-ip', /IP_AUTODETECTION_METHOD: "kubernetes-internal-ip" reads the Kubernetes Node's InternalIP, which needs the Kubernetes API/],
    ] as const) {
      expect(() => detect(method), method).toThrow(message);
    }
  });

  it('global unicast as Go has it', () => {
    for (const a of ['10.0.0.1', '192.168.1.1', '8.8.8.8', 'fd00::1', '2001:db8::1']) expect(isGlobalUnicast(a), a).toBe(true);
    for (const a of ['127.0.0.1', '169.254.1.1', '0.0.0.0', '255.255.255.255', '224.0.0.5', '::1', '::', 'fe80::1', 'ff02::1']) expect(isGlobalUnicast(a), a).toBe(false);
  });
});

describe('IP_AUTODETECTION_METHOD through the configuration', () => {
  const env = { NODENAME: 'node-a' };

  it('IP=autodetect and IP unset use it; an explicit IP ignores it, as calico-node', () => {
    expect(loadConfig({}, { ...env, IP: 'autodetect', IP_AUTODETECTION_METHOD: 'interface=ens3' }, deps).ipv4).toEqual({ address: '10.0.1.2', prefixLen: 24 });
    expect(loadConfig({}, { ...env, IP_AUTODETECTION_METHOD: 'cidr=192.168.0.0/16' }, deps).ipv4).toEqual({ address: '192.168.7.9', prefixLen: 22 });
    expect(loadConfig({}, { ...env, IP: '10.5.0.1/16', IP_AUTODETECTION_METHOD: 'interface=ens3' }, deps).ipv4).toEqual({ address: '10.5.0.1', prefixLen: 16 });
    // The metrics listener follows the detected node address.
    expect(loadConfig({ metrics: true }, { ...env, IP: 'autodetect', IP_AUTODETECTION_METHOD: 'interface=ens3' }, deps).metricsHost).toBe('10.0.1.2');
  });

  it('IP6=autodetect uses IP6_AUTODETECTION_METHOD', () => {
    const c = loadConfig({}, { ...env, IP: '10.0.1.2/24', IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'cidr=fd00:1::/48' }, deps);
    expect(c).toMatchObject({ ipv6: 'fd00:1::2', ipv6PrefixLen: 64 });
  });

  it('a bad method or nothing found with IP=autodetect exits naming the setting', () => {
    expect(() => loadConfig({}, { ...env, IP: 'autodetect', IP_AUTODETECTION_METHOD: 'nic=eth0' }, deps)).toThrow(ConfigError);
    expect(() => loadConfig({}, { ...env, IP: 'autodetect', IP_AUTODETECTION_METHOD: 'nic=eth0' }, deps)).toThrow(/^IP_AUTODETECTION_METHOD: "nic=eth0"/);
    expect(() => loadConfig({}, { ...env, IP: 'autodetect', IP_AUTODETECTION_METHOD: 'interface=eth9' }, deps)).toThrow(
      'IP (--ip): "autodetect" found no global IPv4 address on any interface (IP_AUTODETECTION_METHOD=interface=eth9)',
    );
  });
});
