import { describe, expect, it } from 'vitest';
import { ensureTunnel, type IpRunner } from '../../../src/kernel/tunnel.js';

function fakeIp(state: { mtu: number; up: boolean; addrs: string[] } | null): { run: IpRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: IpRunner = async (args) => {
    calls.push(args);
    if (args[0] === '-j') {
      if (!state) return '[]';
      return JSON.stringify([
        {
          mtu: state.mtu,
          flags: state.up ? ['NOARP', 'UP'] : ['NOARP'],
          addr_info: state.addrs.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]) })),
        },
      ]);
    }
    return '';
  };
  return { run, calls };
}

describe('--manage-tunnel', () => {
  it('sets the MTU, brings tunl0 up, and leaves exactly the tunnel address as a /32', async () => {
    const { run, calls } = fakeIp({ mtu: 1480, up: false, addrs: ['10.244.9.1/32', '169.254.1.1/32'] });
    const r = await ensureTunnel(run, { device: 'tunl0', address: '10.244.9.1', mtu: 1440 });
    expect(r.changed).toEqual(['mtu 1480 -> 1440', 'up', 'removed 169.254.1.1/32']);
    expect(calls.slice(1)).toEqual([
      ['link', 'set', 'dev', 'tunl0', 'mtu', '1440'],
      ['link', 'set', 'dev', 'tunl0', 'up'],
      ['addr', 'del', '169.254.1.1/32', 'dev', 'tunl0'],
    ]);
  });

  it('changes nothing when tunl0 is already right, and adds a missing address', async () => {
    expect((await ensureTunnel(fakeIp({ mtu: 1440, up: true, addrs: ['10.244.9.1/32'] }).run, { device: 'tunl0', address: '10.244.9.1', mtu: 1440 })).changed).toEqual([]);
    expect((await ensureTunnel(fakeIp({ mtu: 1440, up: true, addrs: [] }).run, { device: 'tunl0', address: '10.244.9.1', mtu: 1440 })).changed).toEqual(['added 10.244.9.1/32']);
  });

  it('says clearly when the device is missing', async () => {
    await expect(ensureTunnel(fakeIp(null).run, { device: 'tunl0', mtu: 1440 })).rejects.toThrow('device tunl0 does not exist');
  });
});
