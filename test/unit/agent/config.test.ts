import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseAsNumber } from '../../../src/agent/config.js';

describe('agent run configuration', () => {
  it('reads calico-node environment variables', () => {
    const c = loadConfig({}, { NODENAME: 'node-a', IP: '10.0.1.2/24', AS: '64513', CALICO_ROUTER_ID: 'hash', ETCD_ENDPOINTS: 'http://10.0.0.1:2379,https://10.0.0.2:2379', ETCD_CA_CERT_FILE: '/ca.pem' });
    expect(c.nodeName).toBe('node-a');
    expect(c.ipv4).toEqual({ address: '10.0.1.2', prefixLen: 24 });
    expect(c.asNumber).toBe(64513);
    expect(c.routerId).toBe('hash');
    expect(c.etcd.endpoints).toEqual(['http://10.0.0.1:2379', 'https://10.0.0.2:2379']);
    expect(c.etcd.caCertFile).toBe('/ca.pem');
    expect(c.programRoutes).toBe(true);
  });

  it('lets flags override the environment', () => {
    const c = loadConfig({ nodeName: 'node-b', ip: '10.0.2.3', as: 65000, controlSocket: '/tmp/x.ctl', logLevel: 'debug' }, { NODENAME: 'node-a', IP: '10.0.1.2/24', AS: '64513' });
    expect(c.nodeName).toBe('node-b');
    expect(c.ipv4).toEqual({ address: '10.0.2.3', prefixLen: undefined });
    expect(c.asNumber).toBe(65000);
    expect(c.controlSocket).toBe('/tmp/x.ctl');
    expect(c.logLevel).toBe('debug');
  });

  it.each([
    [{ IP: '10.0.1' }, /^IP \(--ip\): "10.0.1" is not an IPv4 address/],
    [{ IP: '10.0.1.2/33' }, /^IP \(--ip\) \(prefix length\): 33 is out of range 0..32/],
    [{ AS: 'sixty' }, /^AS \(--as\): "sixty" is not a whole number/],
    [{ AS: '0' }, /^AS \(--as\): 0 is out of range/],
    [{ CALICO_ROUTER_ID: 'abc' }, /^CALICO_ROUTER_ID \(--router-id\): "abc" must be an IPv4 address or "hash"/],
    [{ ETCD_ENDPOINTS: 'localhost:2379' }, /^ETCD_ENDPOINTS \(--etcd-endpoints\): "localhost:2379" must use http or https/],
    [{ NODENAME: 'Node_A' }, /^NODENAME \(--node-name\): "Node_A" is not a valid node name/],
    [{ LOG_LEVEL: 'loud' }, /^--log-level: "loud" is not one of/],
    [{ DATASTORE_TYPE: 'kubernetes' }, /^DATASTORE_TYPE: "kubernetes" is not supported: this agent reads Calico's etcd datastore only/],
  ])('names the setting and the problem: %o', (env, message) => {
    expect(() => loadConfig({}, { NODENAME: 'n', IP: '10.0.0.1', ...env })).toThrow(ConfigError);
    expect(() => loadConfig({}, { NODENAME: 'n', IP: '10.0.0.1', ...env })).toThrow(message);
  });

  it('takes the subnet length from the interface carrying the address when IP has none', () => {
    const c = loadConfig({}, { NODENAME: 'n', IP: '127.0.0.1' });
    expect(c.ipv4).toEqual({ address: '127.0.0.1', prefixLen: 8 });
  });

  it('parses asdot AS numbers as Calico does', () => {
    expect(parseAsNumber('AS', '1.10')).toBe(65546);
    expect(parseAsNumber('AS', '4294967295')).toBe(4294967295);
  });
});

describe('DATASTORE_TYPE', () => {
  it('etcdv3 or unset is the etcd datastore', () => {
    expect(loadConfig({}, { NODENAME: 'n', IP: '10.0.0.1', DATASTORE_TYPE: 'etcdv3' }).etcd.endpoints).toEqual(['http://127.0.0.1:2379']);
  });
});
