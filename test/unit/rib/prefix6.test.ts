/**
 * The IPv6 prefix interner (src/bgp/prefix6.ts): one id per prefix whatever
 * the order or the length, across table growth, with consecutive prefixes
 * grouped into adjacent slots (the home function) and random ones mixed in.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix6, parsePrefix6, prefix6Key, prefix6Length, prefix6Word } from '../../../src/bgp/prefix6.js';

describe('prefix6 interning', () => {
  it('gives each prefix one id and every id its prefix back, for runs of consecutive prefixes of every length and random ones', () => {
    let seed = 7;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const made: [number, number, number, number, number][] = [];
    for (const len of [0, 1, 31, 32, 33, 63, 64, 65, 96, 97, 120, 122, 127, 128]) {
      const base = [0xfd000000 + len, rand(), rand(), rand()];
      for (let j = 0; j < 300; j++) {
        // Consecutive prefixes of this length: step 1 in the prefix's last bit.
        const w = [...base];
        if (len > 0) {
          const last = (len - 1) >> 5;
          w[last] = (w[last] + j * 2 ** (32 * (last + 1) - len)) >>> 0;
        }
        made.push([w[0], w[1], w[2], w[3], len]);
      }
      for (let j = 0; j < 300; j++) made.push([rand(), rand(), rand(), rand(), len]);
    }
    const ids = made.map((m) => prefix6Key(...m));
    const again = [...made].reverse().map((m) => prefix6Key(...m)).reverse();
    expect(again).toEqual(ids);
    const byText = new Map<string, number>();
    for (const [i, id] of ids.entries()) {
      expect(id).toBeLessThan(0);
      expect(prefix6Length(id)).toBe(made[i][4]);
      const text = formatPrefix6(id);
      expect(parsePrefix6(text)).toBe(id);
      if (byText.has(text)) expect(byText.get(text)).toBe(id);
      byText.set(text, id);
      // Host bits are cleared: the words read back are the masked input.
      const len = made[i][4];
      for (const k of [0, 1, 2, 3] as const) {
        const keep = Math.max(0, Math.min(32, len - 32 * k));
        const mask = keep === 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
        expect(prefix6Word(id, k)).toBe((made[i][k] & mask) >>> 0);
      }
    }
    expect(new Set(ids).size).toBe(byText.size);
  });
});
