/**
 * IPv6 addresses as bytes <-> text in the RFC 5952 canonical form (lower
 * case, longest run of two or more zero groups as "::"). IPv6 is off the
 * Calico IPIP hot path, so strings are fine here.
 */

export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  // RFC 5952 §4.2: compress the longest run (first on ties), never a single group.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parse an IPv6 address (hex groups, "::", optional trailing dotted quad) to 16 bytes; throws on bad input. */
export function parseIpv6(text: string): Uint8Array {
  const bad = (): never => {
    throw new Error(`invalid IPv6 address "${text}"`);
  };
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.indexOf('.', lastColon) >= 0) {
    // Embedded IPv4 (RFC 4291 §2.2 form 3): rewrite the dotted quad as two hex groups.
    const quad = body.slice(lastColon + 1).split('.');
    if (quad.length !== 4) bad();
    const o = quad.map((q) => (/^\d{1,3}$/.test(q) && Number(q) < 256 ? Number(q) : bad()));
    body = `${body.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const parseGroups = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : bad()));
  const halves = body.split('::');
  if (halves.length > 2) bad();
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]);
    const rest = parseGroups(halves[1]);
    const fill = 8 - head.length - rest.length;
    if (fill < 1) bad();
    groups = head.concat(new Array<number>(fill).fill(0), rest);
  } else {
    groups = parseGroups(body);
  }
  if (groups.length !== 8) bad();
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** "2001:db8::/32" -> {bytes, length}; throws on bad input. Host bits must be zero unless `lenient`. */
export function parseIpv6Prefix(text: string, lenient = false): { bytes: Uint8Array; length: number } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`invalid IPv6 prefix "${text}"`);
  const bytes = parseIpv6(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > 128) throw new Error(`invalid IPv6 prefix "${text}"`);
  const length = Number(lenText);
  for (let bit = length; bit < 128; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) {
      if (!lenient) throw new Error(`invalid IPv6 prefix "${text}": host bits set`);
      bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
    }
  }
  return { bytes, length };
}
