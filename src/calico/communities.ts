/**
 * Calico's BGP communities (BGPConfiguration `communities` and
 * `prefixAdvertisements`), the one copy the datastore and the RIB use.
 *
 * - A value is standard `aa:nn` (RFC 1997, each part 16 bits) or large
 *   `aa:nn:mm` (RFC 8092, each part 32 bits): libcalico-go's
 *   validateCommunityValue.
 * - A prefix advertisement's entry is a value, else the name of one of the
 *   same resource's `communities` (confd client.go
 *   getPrefixAdvertisementsKVPair); each advertisement's values are made
 *   unique and sorted as strings, as confd's getCommunitiesArray does.
 * - confd renders them into BIRD's `apply_communities()`, which every peer's
 *   export filter (`calico_export_to_bgp_peers`, mesh peers included) calls
 *   before it accepts: so every exported route inside an advertisement's cidr
 *   takes its communities, whether the node's own or re-advertised.
 */

export type Community = { standard: number } | { large: [number, number, number] };

/** A value as written: "aa:nn" or "aa:nn:mm"; null when it is neither (or a part is out of range). */
export function parseCommunity(text: string): Community | null {
  const parts = text.trim().split(':');
  if (!parts.every((p) => /^\d+$/.test(p))) return null;
  const n = parts.map(Number);
  if (n.length === 2 && n[0] <= 0xffff && n[1] <= 0xffff) return { standard: (n[0] * 65536 + n[1]) >>> 0 };
  if (n.length === 3 && n.every((x) => x <= 0xffffffff)) return { large: [n[0], n[1], n[2]] };
  return null;
}

/** The `{name, value}` list and the advertisements of one BGPConfiguration, as read from etcd. */
export interface CommunityConfig {
  communities?: { name: string; value: string }[];
  prefixAdvertisements?: { cidr: string; communities: string[] }[];
}

/** A prefix advertisement with its entries resolved to values (unique, sorted as confd sorts them). */
export interface ResolvedAdvertisement {
  cidr: string;
  communities: string[];
}

export interface CommunityProblem {
  field: string;
  message: string;
}

/**
 * Resolve names to values. An unknown name or a bad value is a problem naming
 * its field and is left out; the other entries and advertisements apply.
 */
export function resolvePrefixAdvertisements(cfg: CommunityConfig): { advertisements: ResolvedAdvertisement[]; problems: CommunityProblem[] } {
  const problems: CommunityProblem[] = [];
  const named = new Map<string, string>();
  (cfg.communities ?? []).forEach((c, i) => {
    if (parseCommunity(c.value) === null) {
      problems.push({ field: `spec.communities[${i}].value`, message: `${JSON.stringify(c.value)} is neither aa:nn (16-bit parts) nor aa:nn:mm (32-bit parts): community ${JSON.stringify(c.name)} is not used` });
    } else if (!named.has(c.name)) named.set(c.name, c.value.trim());
  });
  const advertisements: ResolvedAdvertisement[] = [];
  (cfg.prefixAdvertisements ?? []).forEach((ad, i) => {
    const values = new Set<string>();
    ad.communities.forEach((entry, j) => {
      const field = `spec.prefixAdvertisements[${i}].communities[${j}]`;
      // confd: what looks like a value is one (digits and colons); anything else is a name.
      if (/^\d+(:\d+){1,2}$/.test(entry.trim())) {
        if (parseCommunity(entry) === null) problems.push({ field, message: `${JSON.stringify(entry)} is out of range (aa:nn takes 16-bit parts, aa:nn:mm 32-bit ones): left out` });
        else values.add(entry.trim());
        return;
      }
      const v = named.get(entry);
      if (v === undefined) problems.push({ field, message: `${JSON.stringify(entry)} is neither a community value nor the name of one in spec.communities: left out` });
      else values.add(v);
    });
    advertisements.push({ cidr: ad.cidr, communities: [...values].sort() });
  });
  return { advertisements, problems };
}
