/**
 * calicoctl's strictness for `agent datastore apply` (issue 23): only Calico's
 * kinds, spelled as calicoctl spells them; unknown fields refused by name
 * (calicoctl decodes strictly, so `peerIp` or `nodeSelecter` is an error, not
 * a silently ignored field); metadata.name a DNS-1123 subdomain. The agent's
 * watcher stays lenient (a newer Calico's field must not stop a running
 * agent); this is for what an operator writes.
 *
 * The field lists are those of Calico's v3 API (api/pkg/apis/projectcalico/v3:
 * node.go, bgpconfig.go, bgppeer.go, ippool.go), plus this agent's own two
 * IPAM kinds (src/datastore/admin.ts) and the BGPConfiguration `bfd` timers
 * it reads (docs/BFD.md).
 */

export const MANIFEST_KINDS = ['Node', 'BGPConfiguration', 'BGPPeer', 'IPPool', 'BGPFilter', 'IPAMBlock', 'BlockAffinity'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

const OBJECT_META = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];

/** Known fields per object path; a nested object listed here is checked too, others (selectors' values, lists) are not. */
const SCHEMA: Record<ManifestKind, Record<string, readonly string[]>> = {
  Node: {
    spec: ['bgp', 'ipv4VXLANTunnelAddr', 'vxlanTunnelMACAddr', 'ipv6VXLANTunnelAddr', 'vxlanTunnelMACAddrV6', 'orchRefs', 'wireguard', 'addresses', 'interfaceName'],
    'spec.bgp': ['asNumber', 'ipv4Address', 'ipv6Address', 'ipv4IPIPTunnelAddr', 'routeReflectorClusterID'],
  },
  BGPConfiguration: {
    spec: [
      'logSeverityScreen', 'nodeToNodeMeshEnabled', 'asNumber', 'serviceLoadBalancerIPs', 'serviceExternalIPs', 'serviceClusterIPs',
      'communities', 'prefixAdvertisements', 'listenPort', 'nodeMeshPassword', 'nodeMeshMaxRestartTime', 'bindMode',
      'localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6', 'ignoredInterfaces', 'programClusterRoutes', 'bfd',
    ],
    'spec.nodeMeshPassword': ['secretKeyRef'],
    'spec.bfd': ['minTxMs', 'minRxMs', 'multiplier'],
  },
  BGPPeer: {
    spec: [
      'node', 'nodeSelector', 'peerIP', 'asNumber', 'localASNumber', 'peerSelector', 'keepOriginalNextHop', 'nextHopMode', 'password', 'sourceAddress',
      'failureDetectionMode', 'restartMode', 'maxRestartTime', 'birdGatewayMode', 'numAllowedLocalASNumbers', 'ttlSecurity', 'filters',
      'reachableBy', 'keepaliveTime', 'localWorkloadSelector', 'reversePeering', 'externalNetwork',
    ],
    'spec.password': ['secretKeyRef'],
  },
  IPPool: {
    spec: ['cidr', 'vxlanMode', 'ipipMode', 'natOutgoing', 'disabled', 'disableBGPExport', 'blockSize', 'nodeSelector', 'allowedUses', 'assignmentMode', 'namespaceSelector', 'ipip', 'nat-outgoing'],
  },
  // Its rules are checked field by field when decoded (src/datastore/model/bgp-filter.ts).
  BGPFilter: {
    spec: ['exportV4', 'importV4', 'exportV6', 'importV6'],
  },
  IPAMBlock: {
    spec: ['cidr', 'affinity', 'strictAffinity', 'allocations', 'unallocated', 'attributes', 'deleted', 'sequenceNumber', 'sequenceNumberForAllocation'],
  },
  BlockAffinity: {
    spec: ['node', 'cidr', 'state', 'deleted', 'type'],
  },
};

/** DNS-1123 subdomain, as Kubernetes and calicoctl require of metadata.name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkName(name: string): string | undefined {
  if (name.length > 253) return `"${name.slice(0, 40)}...": longer than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123)`;
  }
  return undefined;
}

/** The kind exactly as calicoctl spells it, or an error suggesting the spelling meant. */
export function manifestKind(kind: string): { kind: ManifestKind } | { error: string } {
  const exact = MANIFEST_KINDS.find((k) => k === kind);
  if (exact) return { kind: exact };
  const lower = kind.toLowerCase().replace(/s$/, '');
  const meant = MANIFEST_KINDS.find((k) => k.toLowerCase() === lower);
  return {
    error: `kind "${kind}" is not a Calico kind${meant ? ` (calicoctl spells it ${meant})` : ''}; one of ${MANIFEST_KINDS.join(', ')}`,
  };
}

/** Edit distance, for "did you mean" on a misspelt field (small strings only). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggestion(field: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = k.toLowerCase() === field.toLowerCase() ? 0 : distance(field, k);
    if (dd < bestD) {
      bestD = dd;
      best = k;
    }
  }
  return best !== undefined && bestD <= 2 ? ` (did you mean ${best}?)` : '';
}

/** Unknown fields of a manifest, each as "field: unknown field (did you mean X?)", once per field. */
export function unknownFields(kind: ManifestKind, manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const check = (path: string, value: unknown, known: readonly string[]): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const f of Object.keys(value as object)) {
      if (!known.includes(f)) problems.push(`${path ? `${path}.` : ''}${f}: unknown field${suggestion(f, known)}`);
    }
  };
  const top = kind === 'Node' ? ['apiVersion', 'kind', 'metadata', 'spec', 'status'] : ['apiVersion', 'kind', 'metadata', 'spec'];
  check('', manifest, top);
  check('metadata', manifest.metadata, OBJECT_META);
  for (const [path, known] of Object.entries(SCHEMA[kind])) {
    let v: unknown = manifest;
    for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    check(path, v, known);
  }
  return problems;
}
