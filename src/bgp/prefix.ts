/**
 * IPv4 addresses and prefixes as numbers.
 *
 * A prefix key is `address * 64 + length` with the address an unsigned 32-bit
 * integer and host bits zeroed: it fits a double exactly (< 2^38), so it is a
 * cheap `Map` key with no per-prefix string or object. Strings are for display
 * and configuration only.
 */

export type PrefixKey = number;

/** Parse a dotted quad to an unsigned 32-bit integer; throws on bad input. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address "${text}"`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) throw new Error(`invalid IPv4 address "${text}"`);
    const octet = Number(part);
    if (octet > 255) throw new Error(`invalid IPv4 address "${text}"`);
    value = value * 256 + octet;
  }
  return value;
}

export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Network mask for a length, as an unsigned 32-bit integer. */
export function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export function prefixKey(address: number, length: number): PrefixKey {
  return ((address & maskOf(length)) >>> 0) * 64 + length;
}

export function keyAddress(key: PrefixKey): number {
  return Math.floor(key / 64);
}

export function keyLength(key: PrefixKey): number {
  return key % 64;
}

/** "10.8.94.64/26" -> key. Host bits must be zero unless `lenient` (then they are cleared). */
export function parsePrefix(text: string, lenient = false): PrefixKey {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`invalid IPv4 prefix "${text}": missing /length`);
  const address = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) {
    throw new Error(`invalid IPv4 prefix "${text}": bad length`);
  }
  const length = Number(lenText);
  if (!lenient && ((address & ~maskOf(length)) >>> 0) !== 0) {
    throw new Error(`invalid IPv4 prefix "${text}": host bits set`);
  }
  return prefixKey(address, length);
}

export function formatPrefix(key: PrefixKey): string {
  return `${formatIpv4(keyAddress(key))}/${keyLength(key)}`;
}

/** True when `address` (uint32) lies inside the prefix `key`. */
export function prefixContains(key: PrefixKey, address: number): boolean {
  const length = keyLength(key);
  return ((address & maskOf(length)) >>> 0) === keyAddress(key);
}

/** True when prefix `inner` lies inside (or equals) prefix `outer`. */
export function prefixCovers(outer: PrefixKey, inner: PrefixKey): boolean {
  return keyLength(inner) >= keyLength(outer) && prefixContains(outer, keyAddress(inner));
}
