/**
 * BGPConfiguration communities and prefixAdvertisements, checked against
 * Calico's confd test mesh/communities (mock_data/calicoctl/mesh/communities
 * input.yaml and step2/input.yaml; expected apply_communities() in
 * compiled_templates/mesh/communities{,/step2}/bird.cfg and bird6.cfg), then
 * through the RIB: our own routes and learned routes passed on take them,
 * towards every peer (mesh included), and a change re-exports in place.
 */
import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { computeDesiredState } from '../../../src/datastore/desired-state.js';
import { resolvePrefixAdvertisements } from '../../../src/calico/communities.js';
import { CommunityRules } from '../../../src/bgp/rib/community-rules.js';
import { originatedRoutes } from '../../../src/bgp/rib/calico-policy.js';
import { originatedRoutes6 } from '../../../src/bgp/rib/calico-policy6.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, OutRecorder, peer } from '../rib/helpers.js';

const R = '/calico/resources/v3/projectcalico.org';
const c = (hi: number, lo: number) => hi * 65536 + lo;

function view(configs: Record<string, object>): ResourceCache {
  const cache = new ResourceCache();
  let rev = 1;
  const put = (key: string, value: object) => cache.apply({ type: 'put', key, value: JSON.stringify({ apiVersion: 'projectcalico.org/v3', ...value }), modRevision: rev++ });
  for (const [name, spec] of Object.entries(configs)) put(`${R}/bgpconfigurations/${name}`, { kind: 'BGPConfiguration', metadata: { name }, spec });
  put(`${R}/nodes/kube-master`, { kind: 'Node', metadata: { name: 'kube-master' }, spec: { bgp: { ipv4Address: '10.192.0.2/16', ipv6Address: '2001::103/64' } } });
  return cache;
}

const step1 = {
  logSeverityScreen: 'Info',
  communities: [
    { name: 'bgp-comm-standard', value: '100:6532' },
    { name: 'bgp-comm-large', value: '100:555:107' },
  ],
  prefixAdvertisements: [
    { cidr: '192.168.0.0/16', communities: ['bgp-comm-standard', '5663:12', 'bgp-comm-large'] },
    { cidr: 'fd00:96::/112', communities: ['bgp-comm-large', 'bgp-comm-large'] },
  ],
  listenPort: 177,
};
const step2 = {
  logSeverityScreen: 'Info',
  communities: [{ name: 'bgp-comm-large', value: '50:50:5364' }],
  prefixAdvertisements: [
    { cidr: '192.168.0.0/16', communities: ['5663:12', 'bgp-comm-large', '5663:12'] },
    { cidr: 'fd00:96::/112', communities: ['bgp-comm-large'] },
  ],
  listenPort: 180,
};

describe("confd's mesh/communities test", () => {
  it('step 1: names resolved from the default BGPConfiguration, repeats dropped, per family', () => {
    const r = computeDesiredState(view({ default: step1 }), 'kube-master');
    expect(r.problems).toEqual([]);
    const ads = r.state!.bgp.prefixAdvertisements;
    expect(ads).toEqual([
      { cidr: '192.168.0.0/16', communities: ['100:555:107', '100:6532', '5663:12'] },
      { cidr: 'fd00:96::/112', communities: ['100:555:107'] },
    ]);
    // bird.cfg: bgp_large_community.add((100, 555, 107)); bgp_community.add((100, 6532)); bgp_community.add((5663, 12));
    const own = originatedRoutes([{ cidr: '192.168.10.0/26', state: 'confirmed' }], [], new CommunityRules(ads, 4)).routes.get(parsePrefix('192.168.10.0/26'))!;
    expect(own).toEqual({ communities: [c(100, 6532), c(5663, 12)], largeCommunities: [[100, 555, 107]] });
    // bird6.cfg: only the large one, for an IPv6 block inside fd00:96::/112.
    const own6 = originatedRoutes6([{ cidr: 'fd00:96::40/122', state: 'confirmed' }], [], new CommunityRules(ads, 6)).routes.get(parsePrefix6('fd00:96::40/122'))!;
    expect(own6).toEqual({ largeCommunities: [[100, 555, 107]] });
    // Outside every cidr: nothing.
    expect(originatedRoutes([{ cidr: '10.0.0.0/26', state: 'confirmed' }], [], new CommunityRules(ads, 4)).routes.get(parsePrefix('10.0.0.0/26'))).toEqual({});
  });

  it("step 2: node.kube-master's advertisements replace the default's, its names from its own communities", () => {
    const r = computeDesiredState(view({ default: step1, 'node.kube-master': step2 }), 'kube-master');
    expect(r.problems).toEqual([]);
    expect(r.state!.bgp.prefixAdvertisements).toEqual([
      { cidr: '192.168.0.0/16', communities: ['50:50:5364', '5663:12'] },
      { cidr: 'fd00:96::/112', communities: ['50:50:5364'] },
    ]);
  });

  it('bad values and unknown names: a problem naming BGPConfiguration/<name> and field; the rest applies', () => {
    const r = computeDesiredState(
      view({
        default: {
          nodeToNodeMeshEnabled: false,
          communities: [{ name: 'too-big', value: '70000:1' }, { name: 'ok', value: '1:2' }],
          prefixAdvertisements: [
            { cidr: '192.168.0.0/16', communities: ['ok', 'missing', '1:99999', 'too-big', '4294967295:0:1'] },
            { cidr: 'not-a-cidr', communities: ['ok'] },
          ],
        },
      }),
      'kube-master',
    );
    const lines = r.problems.map((p) => `${p.key}: ${p.message}`);
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.startsWith(`${R}/bgpconfigurations/default: spec.`))).toBe(true);
    expect(lines.join('\n')).toMatch(/spec\.communities\[0\]\.value: "70000:1"/);
    expect(lines.join('\n')).toMatch(/spec\.prefixAdvertisements\[0\]\.communities\[1\]: "missing"/);
    expect(lines.join('\n')).toMatch(/spec\.prefixAdvertisements\[0\]\.communities\[2\]: "1:99999" is out of range/);
    expect(lines.join('\n')).toMatch(/spec\.prefixAdvertisements\[0\]\.communities\[3\]: "too-big"/);
    expect(lines.join('\n')).toMatch(/spec\.prefixAdvertisements\[1\]\.cidr: "not-a-cidr"/);
    // The resource still applies: mesh off, and the good entries kept.
    expect(r.state!.bgp.nodeToNodeMeshEnabled).toBe(false);
    expect(r.state!.bgp.prefixAdvertisements).toEqual([{ cidr: '192.168.0.0/16', communities: ['1:2', '4294967295:0:1'] }]);
  });

  it('resolve: a literal that looks like a value is never looked up as a name', () => {
    const { advertisements } = resolvePrefixAdvertisements({ communities: [{ name: '1:1', value: '9:9' }], prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: ['1:1'] }] });
    expect(advertisements).toEqual([{ cidr: '10.0.0.0/8', communities: ['1:1'] }]);
  });
});

describe('prefix advertisements in the RIB (apply_communities() in every export filter)', () => {
  const AS = 64512;
  const ME = '10.0.0.1';
  const up = (rib: Rib, rec: OutRecorder, name: string, id: string) => rec.reset(name, rib.peerUp(name, { remoteRouterId: id, addPathSend: false, addPathReceive: false }));

  it('a learned route passed on takes the communities of the cidrs covering it, added to its own, towards mesh and eBGP peers; a change re-exports live', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('tor', '10.0.0.100', 65100));
    rib.addPeer(peer('mesh', '10.0.0.2', AS));
    up(rib, rec, 'tor', '10.0.0.100');
    up(rib, rec, 'mesh', '10.0.0.2');
    const ads = [{ cidr: '192.168.0.0/16', communities: ['100:6532', '100:555:107'] }];
    rib.setCommunityRules(new CommunityRules(ads, 4));
    rib.applyUpdate('tor', announce(['192.168.5.0/26', '172.16.0.0/24'], { origin: 0, asPath: [{ type: 2, asns: [65100] }], nextHop: '10.0.0.100', communities: [c(65100, 1)] }));
    rib.flush();
    const toMesh = rec.table('mesh');
    expect(toMesh['192.168.5.0/26'].communities).toEqual([c(100, 6532), c(65100, 1)]);
    expect(toMesh['192.168.5.0/26'].largeCommunities).toEqual([[100, 555, 107]]);
    expect(toMesh['172.16.0.0/24'].communities).toEqual([c(65100, 1)]); // outside the cidr: as received
    expect(toMesh['172.16.0.0/24'].largeCommunities).toBeUndefined();

    // A change: the same session gets the new communities (an UPDATE), nothing is torn down.
    const batches = rec.batches.length;
    rib.setCommunityRules(new CommunityRules([{ cidr: '192.168.5.0/24', communities: ['7:7'] }], 4));
    expect(rec.batches.length).toBeGreaterThan(batches);
    expect(rec.table('mesh')['192.168.5.0/26'].communities).toEqual([c(7, 7), c(65100, 1)]);
    expect(rec.table('mesh')['192.168.5.0/26'].largeCommunities).toBeUndefined();
    // Removed: back to what was received.
    rib.setCommunityRules(CommunityRules.none);
    expect(rec.table('mesh')['192.168.5.0/26'].communities).toEqual([c(65100, 1)]);
  });

  it('an own route keeps the communities it was originated with (no second copy at export), to eBGP peers too', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('tor', '10.0.0.100', 65100));
    up(rib, rec, 'tor', '10.0.0.100');
    const rules = new CommunityRules([{ cidr: '192.168.0.0/16', communities: ['100:6532'] }], 4);
    rib.setCommunityRules(rules);
    rib.setLocalRoutes(originatedRoutes([{ cidr: '192.168.1.0/26', state: 'confirmed' }], [], rules).routes);
    rib.flush();
    expect(rec.table('tor')['192.168.1.0/26']).toMatchObject({ communities: [c(100, 6532)], asPath: [{ type: 2, asns: [AS] }], nextHop: ME });
  });
});
