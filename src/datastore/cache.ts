/**
 * The agent's copy of the Calico datastore: validated resources by kind, the
 * mod revision of every key seen (so a re-list can emit only differences),
 * and the resources skipped as invalid.
 *
 * Rule (docs/ARCHITECTURE.md, rules of the house: one bad resource never stops the rest): a bad value is
 * recorded and skipped; if the key held a good value before, that last good
 * value stays in force until the key is fixed or deleted.
 */
import { parseKey, type ParsedKey } from './keys.js';
import { ValidationError } from './model/fields.js';
import {
  decodeKv,
  type BGPConfigurationResource,
  type BGPFilterResource,
  type BGPPeerResource,
  type BlockAffinityValue,
  type IPAMBlockValue,
  type IPPoolResource,
  type NodeResource,
} from './model/resources.js';
import type { ResourceView } from './desired-state.js';

export interface KvChange {
  type: 'put' | 'delete';
  key: string;
  /** Raw etcd value (puts only). */
  value?: string;
  modRevision: number;
}

/** What a change touched, so the Datastore recomputes only affected sections. */
export type Touched =
  | { kind: 'Node' | 'BGPConfiguration' | 'BGPPeer' | 'IPPool' | 'BGPFilter'; name: string }
  | { kind: 'IPAMBlock'; cidr: string }
  | { kind: 'BlockAffinity'; node: string; cidr: string };

export interface SkippedResource {
  key: string;
  error: string;
  /** "BGPFilter/tor-policy" for a resource key (how status names it). */
  label?: string;
}

export class ResourceCache implements ResourceView {
  readonly nodes = new Map<string, NodeResource>();
  readonly bgpConfigs = new Map<string, BGPConfigurationResource>();
  readonly bgpPeers = new Map<string, BGPPeerResource>();
  readonly ipPools = new Map<string, IPPoolResource>();
  readonly bgpFilters = new Map<string, BGPFilterResource>();
  readonly blocks = new Map<string, IPAMBlockValue>();
  readonly affinities = new Map<string, Map<string, BlockAffinityValue>>();
  /** Mod revision of every key this cache has applied (good or bad). */
  readonly revisions = new Map<string, number>();
  readonly skipped = new Map<string, SkippedResource>();

  /**
   * Apply one change. Returns what it touched, or undefined when the key is
   * not one this agent reads or nothing in force changed (a bad value over a
   * good one keeps the good one).
   */
  apply(change: KvChange): Touched | undefined {
    const parsed = parseKey(change.key);
    if (!parsed) return undefined;
    if (change.type === 'delete') {
      this.revisions.delete(change.key);
      this.skipped.delete(change.key);
      return this.remove(parsed);
    }
    this.revisions.set(change.key, change.modRevision);
    let value;
    try {
      value = decodeKv(change.key, change.value ?? '', parsed);
    } catch (err) {
      // The key is the entry's own field: the message says only what is wrong (status names the key once).
      const message =
        err instanceof ValidationError
          ? err.problems.map((p) => `${p.field ? `${p.field}: ` : ''}${p.message}`).join('; ')
          : (err as Error).message;
      const label = parsed.type === 'resource' ? `${parsed.kind}/${parsed.name}` : undefined;
      this.skipped.set(change.key, { key: change.key, error: message, ...(label ? { label } : {}) });
      return undefined;
    }
    this.skipped.delete(change.key);
    if (!value) return undefined;
    switch (value.kind) {
      case 'Node':
        this.nodes.set(value.name, value);
        return { kind: 'Node', name: value.name };
      case 'BGPConfiguration':
        this.bgpConfigs.set(value.name, value);
        return { kind: 'BGPConfiguration', name: value.name };
      case 'BGPPeer':
        this.bgpPeers.set(value.name, value);
        return { kind: 'BGPPeer', name: value.name };
      case 'IPPool':
        this.ipPools.set(value.name, value);
        return { kind: 'IPPool', name: value.name };
      case 'BGPFilter':
        this.bgpFilters.set(value.name, value);
        return { kind: 'BGPFilter', name: value.name };
      case 'IPAMBlock':
        this.blocks.set(value.cidr.cidr, value);
        return { kind: 'IPAMBlock', cidr: value.cidr.cidr };
      case 'BlockAffinity': {
        let m = this.affinities.get(value.node);
        if (!m) this.affinities.set(value.node, (m = new Map()));
        m.set(value.cidr.cidr, value);
        return { kind: 'BlockAffinity', node: value.node, cidr: value.cidr.cidr };
      }
    }
  }

  private remove(k: ParsedKey): Touched | undefined {
    switch (k.type) {
      case 'resource': {
        const map = { Node: this.nodes, BGPConfiguration: this.bgpConfigs, BGPPeer: this.bgpPeers, IPPool: this.ipPools, BGPFilter: this.bgpFilters }[k.kind] as Map<string, unknown>;
        return map.delete(k.name) ? { kind: k.kind, name: k.name } : undefined;
      }
      case 'block':
        return this.blocks.delete(k.cidr) ? { kind: 'IPAMBlock', cidr: k.cidr } : undefined;
      case 'affinity': {
        const m = this.affinities.get(k.node);
        if (!m?.delete(k.cidr)) return undefined;
        if (!m.size) this.affinities.delete(k.node);
        return { kind: 'BlockAffinity', node: k.node, cidr: k.cidr };
      }
    }
  }

  /**
   * Changes that turn this cache into `listed` (a full list at one revision):
   * puts for new or re-written keys, deletes for keys gone. Keys whose mod
   * revision is unchanged produce nothing, so a re-list after a lost watch or
   * a compaction emits no duplicates.
   */
  differenceFrom(listed: Map<string, { value: string; modRevision: number }>): KvChange[] {
    const out: KvChange[] = [];
    for (const [key, kv] of listed) {
      if (this.revisions.get(key) !== kv.modRevision) out.push({ type: 'put', key, value: kv.value, modRevision: kv.modRevision });
    }
    for (const [key, rev] of this.revisions) {
      if (!listed.has(key)) out.push({ type: 'delete', key, modRevision: rev });
    }
    return out;
  }
}
