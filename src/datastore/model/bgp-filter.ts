/**
 * BGPFilter (/calico/resources/v3/projectcalico.org/bgpfilters/<name>), the
 * v3 API of api/pkg/apis/projectcalico/v3/bgpfilter.go, parsed strictly:
 * an unknown field or value, or a rule the agent cannot evaluate as BIRD
 * would, is a problem naming `BGPFilter/<name>` and the field, and the whole
 * filter is refused. The cache then keeps the filter's last good version in
 * force (src/datastore/cache.ts): what calico-node does too, since a filter
 * confd cannot render fails the whole bird.cfg and BIRD keeps running its
 * previous configuration. A filter that never parsed is not applied, as confd
 * skips a filter name it cannot read (bgp_processor.go buildImportFilter);
 * the peers naming it say so in the status.
 *
 * Rules the agent does not evaluate (docs/BGPFILTER.md): `interface` (BIRD's
 * `ifname` of the route's resolved next hop), `priority` and `setPriority`,
 * and operations on import rules (paths are kept as received, to be
 * re-evaluated on an edit). Refusing them is deliberate: applying the rest of
 * such a filter would accept or reject routes differently from calico-node.
 */
import { parsePrefix } from '../../bgp/prefix.js';
import { parsePrefix6 } from '../../bgp/prefix6.js';
import { parseCommunity } from '../../bgp/rib/calico-policy.js';
import type { BgpFilter, BgpFilterRule, CidrMatch, FilterOperation, MatchOperator, RuleList } from '../../calico/bgp-filter.js';
import { FieldReader, parseCidr, type Obj } from './fields.js';

export interface BGPFilterResource extends BgpFilter {
  kind: 'BGPFilter';
}

const SPEC_FIELDS = ['exportV4', 'importV4', 'exportV6', 'importV6'] as const;
const RULE_FIELDS = [
  'cidr', 'prefixLength', 'source', 'interface', 'matchOperator', 'peerType', 'communities', 'asPathPrefix', 'priority', 'action', 'operations',
];
/** Valid v3 fields whose BIRD meaning the agent does not reproduce. */
const UNSUPPORTED: Record<string, string> = {
  interface: "matches BIRD's ifname of the route's resolved next hop, which this agent does not track",
  priority: "matches bgp_local_pref as Calico's route priorities set it, which this agent does not implement",
};
const OPERATORS: readonly MatchOperator[] = ['Equal', 'NotEqual', 'In', 'NotIn'];

export function parseBGPFilterSpec(r: FieldReader, spec: Obj, name: string): BGPFilterResource {
  const out: BGPFilterResource = { kind: 'BGPFilter', name, importV4: [], exportV4: [], importV6: [], exportV6: [] };
  for (const k of Object.keys(spec)) {
    if (!(SPEC_FIELDS as readonly string[]).includes(k)) r.fail(`spec.${k}`, `is not a BGPFilter field (one of ${SPEC_FIELDS.join(', ')})`);
  }
  for (const list of SPEC_FIELDS) {
    const rules = r.array(spec[list], `spec.${list}`) ?? [];
    rules.forEach((raw, i) => {
      const rule = parseRule(r, raw, `spec.${list}[${i}]`, list);
      if (rule) out[list].push(rule);
    });
  }
  return out;
}

function parseRule(r: FieldReader, raw: unknown, field: string, list: RuleList): BgpFilterRule | undefined {
  const o = r.object(raw, field, true);
  if (!o) return undefined;
  const family = list.endsWith('V4') ? 4 : 6;
  for (const k of Object.keys(o)) {
    if (!RULE_FIELDS.includes(k)) r.fail(`${field}.${k}`, `is not a BGPFilter rule field (one of ${RULE_FIELDS.join(', ')})`);
    else if (k in UNSUPPORTED && o[k] !== undefined && o[k] !== null && o[k] !== '') r.fail(`${field}.${k}`, `is not supported: ${UNSUPPORTED[k]}`);
  }
  const action = r.oneOf(o.action, `${field}.action`, ['Accept', 'Reject'] as const);
  if (action === undefined) {
    if (o.action === undefined || o.action === null || o.action === '') r.fail(`${field}.action`, 'is required (Accept or Reject)');
    return undefined;
  }
  const rule: BgpFilterRule = { action };
  const cidrText = r.string(o.cidr, `${field}.cidr`) || undefined;
  const op = r.oneOf(o.matchOperator === '' ? undefined : o.matchOperator, `${field}.matchOperator`, OPERATORS);
  // bgpfilter.go's CEL rules: cidr and matchOperator both or neither; prefixLength needs a cidr.
  if (cidrText !== undefined && op === undefined && (o.matchOperator === undefined || o.matchOperator === '')) r.fail(`${field}.matchOperator`, 'is required when cidr is set');
  if (cidrText === undefined && op !== undefined) r.fail(`${field}.cidr`, 'is required when matchOperator is set');
  if (o.prefixLength !== undefined && o.prefixLength !== null && cidrText === undefined) r.fail(`${field}.prefixLength`, 'needs cidr');
  if (cidrText !== undefined && op !== undefined) rule.cidr = cidrMatch(r, cidrText, op, o.prefixLength, `${field}`, family);
  const source = r.string(o.source, `${field}.source`);
  if (source) {
    if (source !== 'RemotePeers') r.fail(`${field}.source`, `"${source}" is not RemotePeers`);
    else rule.source = 'RemotePeers';
  }
  const peerType = o.peerType === '' ? undefined : r.oneOf(o.peerType, `${field}.peerType`, ['eBGP', 'iBGP'] as const);
  if (peerType) rule.peerType = peerType;
  const comms = r.object(o.communities, `${field}.communities`);
  if (comms) {
    for (const k of Object.keys(comms)) if (k !== 'values') r.fail(`${field}.communities.${k}`, 'is not a field (values)');
    const values = r.array(comms.values, `${field}.communities.values`) ?? [];
    if (values.length !== 1) r.fail(`${field}.communities.values`, `must hold exactly one community, not ${values.length}`);
    else {
      const text = r.string(values[0], `${field}.communities.values[0]`);
      const c = text === undefined ? null : parseCommunity(text);
      if (text !== undefined && c === null) r.fail(`${field}.communities.values[0]`, `"${text}" is neither aa:nn (16-bit parts) nor aa:nn:mm (32-bit parts)`);
      if (c) rule.community = c;
    }
  }
  const ops = r.array(o.operations, `${field}.operations`);
  if (ops && ops.length > 0) {
    if (action !== 'Accept') r.fail(`${field}.operations`, 'may only be used with action Accept');
    else if (list.startsWith('import')) {
      r.fail(`${field}.operations`, 'is not supported on import rules: this agent keeps paths as received to re-evaluate them on a filter edit');
    } else if (ops.length > 10) r.fail(`${field}.operations`, `holds ${ops.length} operations, at most 10`);
    else {
      const parsed = ops.map((x, j) => parseOperation(r, x, `${field}.operations[${j}]`));
      if (parsed.every((x): x is FilterOperation => x !== undefined)) rule.operations = parsed;
    }
  }
  const asPath = r.array(o.asPathPrefix, `${field}.asPathPrefix`);
  if (asPath && asPath.length > 0) {
    const asns = asPath.map((x, j) => r.asNumber(x, `${field}.asPathPrefix[${j}]`));
    if (asns.every((x): x is number => x !== undefined)) rule.asPathPrefix = asns;
  }
  return rule;
}

/** One BGPFilterOperation: exactly one of addCommunity, prependASPath, setPriority (the last is not supported). */
function parseOperation(r: FieldReader, raw: unknown, field: string): FilterOperation | undefined {
  const o = r.object(raw, field, true);
  if (!o) return undefined;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null);
  if (keys.length !== 1) return r.fail(field, `must set exactly one of addCommunity, prependASPath, setPriority, not ${keys.length}`);
  const k = keys[0];
  if (k === 'setPriority') return r.fail(`${field}.setPriority`, "is not supported: Calico's route priorities (bgp_local_pref) are not implemented by this agent");
  if (k === 'addCommunity') {
    const a = r.object(o.addCommunity, `${field}.addCommunity`, true);
    const text = a && r.string(a.value, `${field}.addCommunity.value`, true);
    if (!text) return undefined;
    const c = parseCommunity(text);
    if (!c) return r.fail(`${field}.addCommunity.value`, `"${text}" is neither aa:nn (16-bit parts) nor aa:nn:mm (32-bit parts)`);
    return { addCommunity: c };
  }
  if (k === 'prependASPath') {
    const a = r.object(o.prependASPath, `${field}.prependASPath`, true);
    const list = a && r.array(a.prefix, `${field}.prependASPath.prefix`);
    if (!list || list.length < 1 || list.length > 10) return r.fail(`${field}.prependASPath.prefix`, 'must hold 1 to 10 AS numbers');
    const asns = list.map((x, j) => r.asNumber(x, `${field}.prependASPath.prefix[${j}]`));
    return asns.every((x): x is number => x !== undefined) ? { prependASPath: asns } : undefined;
  }
  return r.fail(`${field}.${k}`, 'is not an operation (addCommunity, prependASPath, setPriority)');
}

function cidrMatch(r: FieldReader, text: string, operator: MatchOperator, lengths: unknown, field: string, family: 4 | 6): CidrMatch | undefined {
  const c = parseCidr(text);
  if (!c || c.ipVersion !== family) return r.fail(`${field}.cidr`, `"${text}" is not an IPv${family} CIDR`);
  let key: number;
  try {
    // BIRD refuses a prefix with host bits set in its configuration, so confd's render would fail.
    key = family === 4 ? parsePrefix(c.cidr) : parsePrefix6(c.cidr);
  } catch (err) {
    return r.fail(`${field}.cidr`, (err as Error).message);
  }
  const m: CidrMatch = { key, text: c.cidr, operator };
  const pl = r.object(lengths, `${field}.prefixLength`);
  if (pl) {
    const maxLen = family === 4 ? 32 : 128;
    for (const k of Object.keys(pl)) if (k !== 'min' && k !== 'max') r.fail(`${field}.prefixLength.${k}`, 'is not a field (min, max)');
    const min = r.int(pl.min, `${field}.prefixLength.min`, 0, maxLen);
    const max = r.int(pl.max, `${field}.prefixLength.max`, 0, maxLen);
    // template_funcs.go filterMatchPrefixLength: {max(cidr length, min), min(32|128, max)}.
    const lo = Math.max(c.prefixLen, min ?? 0);
    const hi = Math.min(maxLen, max ?? maxLen);
    if (lo > hi) return r.fail(`${field}.prefixLength`, `{${lo},${hi}} is an empty range for ${c.cidr} (BIRD refuses it)`);
    m.lengths = { min: lo, max: hi };
  }
  return m;
}
