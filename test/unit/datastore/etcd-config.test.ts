import { describe, expect, it } from 'vitest';
import { etcdConfigFromEnv } from '../../../src/datastore/etcd-config.js';
import { etcdErrorWords } from '../../../src/datastore/syncer.js';

describe('etcdConfigFromEnv (calico-node environment)', () => {
  it('defaults to http://127.0.0.1:2379', () => {
    expect(etcdConfigFromEnv({})).toEqual({ endpoints: ['http://127.0.0.1:2379'] });
  });
  it('reads a comma list, TLS files and credentials; overrides win', () => {
    const cfg = etcdConfigFromEnv(
      { ETCD_ENDPOINTS: 'https://10.0.0.1:2379, https://10.0.0.2:2379', ETCD_CA_CERT_FILE: '/ca', ETCD_CERT_FILE: '/c', ETCD_KEY_FILE: '/k', ETCD_USERNAME: 'u', ETCD_PASSWORD: 'p' },
      { endpoints: ['https://10.0.0.9:2379'] },
    );
    expect(cfg).toEqual({ endpoints: ['https://10.0.0.9:2379'], caCertFile: '/ca', certFile: '/c', keyFile: '/k', username: 'u', password: 'p' });
  });
  it('refuses malformed settings clearly', () => {
    expect(() => etcdConfigFromEnv({ ETCD_ENDPOINTS: '10.0.0.1:2379' })).toThrow(/ETCD_ENDPOINTS: "10.0.0.1:2379" is not http\(s\):\/\/host:port/);
    expect(() => etcdConfigFromEnv({ ETCD_CERT_FILE: '/c' })).toThrow(/ETCD_CERT_FILE and ETCD_KEY_FILE/);
    expect(() => etcdConfigFromEnv({ ETCD_USERNAME: 'u' })).toThrow(/ETCD_USERNAME and ETCD_PASSWORD/);
  });
});

describe('etcd errors in an operator\'s words', () => {
  it('reduces gRPC transport prose to the cause', () => {
    expect(etcdErrorWords('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ')).toBe(
      'etcd unreachable: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(etcdErrorWords('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s')).toBe('etcd did not answer in time (deadline exceeded)');
    expect(etcdErrorWords('etcdserver: mvcc: required revision has been compacted')).toBe('etcdserver: mvcc: required revision has been compacted');
  });
});
