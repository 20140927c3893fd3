import { describe, expect, it } from 'vitest';
import { parseSelector, SelectorError } from '../../../src/datastore/selector.js';

// Examples from Calico's selector documentation (reference/resources/networkpolicy
// "Selectors") and libcalico-go's selector tests, against a few label sets.
const labels = {
  a: { app: 'web', tier: 'frontend', 'projectcalico.org/name': 'n1', rack: 'r1' },
  b: { app: 'db', tier: 'backend', rack: 'r2' },
  c: { 'route-reflector': 'true', rack: 'r1' },
  none: {},
};

const table: [string, Record<keyof typeof labels, boolean>][] = [
  ['all()', { a: true, b: true, c: true, none: true }],
  ['', { a: true, b: true, c: true, none: true }],
  ['global()', { a: true, b: true, c: true, none: true }],
  ['has(app)', { a: true, b: true, c: false, none: false }],
  ['!has(app)', { a: false, b: false, c: true, none: true }],
  ["app == 'web'", { a: true, b: false, c: false, none: false }],
  ['app == "web"', { a: true, b: false, c: false, none: false }],
  ["app != 'web'", { a: false, b: true, c: true, none: true }],
  ["app in {'web', 'db'}", { a: true, b: true, c: false, none: false }],
  ["app not in {'web'}", { a: false, b: true, c: true, none: true }],
  ['app in {}', { a: false, b: false, c: false, none: false }],
  ["app == 'web' && tier == 'frontend'", { a: true, b: false, c: false, none: false }],
  ["app == 'web' || has(route-reflector)", { a: true, b: false, c: true, none: false }],
  ["!(app == 'web' || app == 'db')", { a: false, b: false, c: true, none: true }],
  ["has(rack) && !(rack == 'r2')", { a: true, b: false, c: true, none: false }],
  ["route-reflector == 'true'", { a: false, b: false, c: true, none: false }],
  ["projectcalico.org/name == 'n1'", { a: true, b: false, c: false, none: false }],
  // && binds tighter than ||
  ["app == 'db' || app == 'web' && tier == 'backend'", { a: false, b: true, c: false, none: false }],
  ["(app == 'db' || app == 'web') && tier == 'backend'", { a: false, b: true, c: false, none: false }],
  ["app starts with 'w'", { a: true, b: false, c: false, none: false }],
  ["app ends with 'b'", { a: true, b: true, c: false, none: false }],
  ["tier contains 'end'", { a: true, b: true, c: false, none: false }],
  ['!!has(app)', { a: true, b: true, c: false, none: false }],
];

describe('Calico selectors', () => {
  for (const [src, want] of table) {
    it(`${JSON.stringify(src)}`, () => {
      const sel = parseSelector(src);
      for (const [name, l] of Object.entries(labels)) {
        expect(sel.matches(l), `${src} on ${name}`).toBe(want[name as keyof typeof labels]);
      }
    });
  }

  const bad = [
    "app == web",
    "app = 'web'",
    "app == 'web",
    'has(app',
    "app in {'a' 'b'}",
    "app == 'a' &&",
    "(app == 'a'",
    "app not {'a'}",
    '&& x',
    "app == 'a' )",
    'all',
    "app == 'a' # b",
  ];
  for (const src of bad) {
    it(`rejects ${JSON.stringify(src)}`, () => {
      expect(() => parseSelector(src)).toThrow(SelectorError);
    });
  }

  it('names the offset of the problem', () => {
    expect(() => parseSelector("app == 'x' && tier")).toThrow(/offset 18/);
  });
});
