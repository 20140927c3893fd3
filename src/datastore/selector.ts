/**
 * Calico's label selector language (libcalico-go lib/selector), as BGPPeer
 * `nodeSelector` / `peerSelector` and IPPool `nodeSelector` use it:
 *
 *   all()  has(k)  k == 'v'  k != 'v'  k in {'a','b'}  k not in {...}
 *   k contains 's'  k starts with 's'  k ends with 's'  !e  e && e  e || e  (e)
 *
 * Strings take single or double quotes. `!` binds tightest, then `&&`, then
 * `||`. As in Calico, `k != 'v'` and `k not in {...}` are true when the label
 * is absent, and the empty selector means all().
 *
 * Parsing happens once per resource (at validation); evaluation is a closure
 * walk, cheap enough to run against every node on each change.
 */

export type Labels = Readonly<Record<string, string>>;

export type SelectorAst =
  | { op: 'all' }
  | { op: 'has'; key: string }
  | { op: 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith'; key: string; value: string }
  | { op: 'in' | 'notIn'; key: string; values: ReadonlySet<string> }
  | { op: 'not'; expr: SelectorAst }
  | { op: 'and' | 'or'; left: SelectorAst; right: SelectorAst };

export class SelectorError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'SelectorError';
  }
}

export interface Selector {
  readonly source: string;
  readonly ast: SelectorAst;
  matches(labels: Labels): boolean;
}

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'punct'; v: string; pos: number }
  | { t: 'eof'; pos: number };

// Calico label keys: an optional DNS-prefix and a name of [A-Za-z0-9_.\-/].
const IDENT = /[A-Za-z0-9_.\-/]/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      out.push({ t: 'punct', v: two, pos: i });
      i += 2;
      continue;
    }
    if ('!(){},'.includes(c)) {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new SelectorError(`unterminated string starting at offset ${i}`, i);
      out.push({ t: 'string', v: src.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (IDENT.test(c)) {
      const start = i;
      while (i < src.length && IDENT.test(src[i])) i++;
      out.push({ t: 'ident', v: src.slice(start, i), pos: start });
      continue;
    }
    throw new SelectorError(`unexpected character ${JSON.stringify(c)} at offset ${i}`, i);
  }
  out.push({ t: 'eof', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i];
  }
  private next(): Token {
    return this.toks[this.i++];
  }
  private isPunct(v: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.v === v;
  }
  private expectPunct(v: string): void {
    const t = this.next();
    if (t.t !== 'punct' || t.v !== v) throw new SelectorError(`expected '${v}' at offset ${t.pos}, found ${describe(t)}`, t.pos);
  }
  private expectString(): string {
    const t = this.next();
    if (t.t !== 'string') throw new SelectorError(`expected a quoted string at offset ${t.pos}, found ${describe(t)}`, t.pos);
    return t.v;
  }

  parseAll(): SelectorAst {
    if (this.peek().t === 'eof') return { op: 'all' };
    const e = this.parseOr();
    const t = this.peek();
    if (t.t !== 'eof') throw new SelectorError(`unexpected ${describe(t)} at offset ${t.pos}`, t.pos);
    return e;
  }

  private parseOr(): SelectorAst {
    let left = this.parseAnd();
    while (this.isPunct('||')) {
      this.next();
      left = { op: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): SelectorAst {
    let left = this.parseUnary();
    while (this.isPunct('&&')) {
      this.next();
      left = { op: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): SelectorAst {
    if (this.isPunct('!')) {
      this.next();
      return { op: 'not', expr: this.parseUnary() };
    }
    if (this.isPunct('(')) {
      this.next();
      const e = this.parseOr();
      this.expectPunct(')');
      return e;
    }
    const t = this.next();
    if (t.t !== 'ident') throw new SelectorError(`expected a label or function at offset ${t.pos}, found ${describe(t)}`, t.pos);
    if ((t.v === 'all' || t.v === 'global') && this.isPunct('(')) {
      this.next();
      this.expectPunct(')');
      return { op: 'all' };
    }
    if (t.v === 'has' && this.isPunct('(')) {
      this.next();
      const k = this.next();
      if (k.t !== 'ident') throw new SelectorError(`expected a label name in has() at offset ${k.pos}`, k.pos);
      this.expectPunct(')');
      return { op: 'has', key: k.v };
    }
    const key = t.v;
    const o = this.next();
    if (o.t === 'punct' && o.v === '==') return { op: 'eq', key, value: this.expectString() };
    if (o.t === 'punct' && o.v === '!=') return { op: 'ne', key, value: this.expectString() };
    if (o.t === 'ident' && o.v === 'in') return { op: 'in', key, values: this.parseSet() };
    if (o.t === 'ident' && o.v === 'not') {
      const n = this.next();
      if (n.t !== 'ident' || n.v !== 'in') throw new SelectorError(`expected 'in' after 'not' at offset ${n.pos}`, n.pos);
      return { op: 'notIn', key, values: this.parseSet() };
    }
    if (o.t === 'ident' && o.v === 'contains') return { op: 'contains', key, value: this.expectString() };
    if (o.t === 'ident' && (o.v === 'starts' || o.v === 'ends')) {
      const w = this.next();
      if (w.t !== 'ident' || w.v !== 'with') throw new SelectorError(`expected 'with' after '${o.v}' at offset ${w.pos}`, w.pos);
      return { op: o.v === 'starts' ? 'startsWith' : 'endsWith', key, value: this.expectString() };
    }
    throw new SelectorError(`expected an operator after label '${key}' at offset ${o.pos}, found ${describe(o)}`, o.pos);
  }

  private parseSet(): Set<string> {
    this.expectPunct('{');
    const values = new Set<string>();
    if (this.isPunct('}')) {
      this.next();
      return values;
    }
    for (;;) {
      values.add(this.expectString());
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.expectPunct('}');
      return values;
    }
  }
}

function describe(t: Token): string {
  if (t.t === 'eof') return 'end of selector';
  if (t.t === 'string') return `string ${JSON.stringify(t.v)}`;
  return `'${t.v}'`;
}

export function evaluate(ast: SelectorAst, labels: Labels): boolean {
  switch (ast.op) {
    case 'all':
      return true;
    case 'has':
      return Object.prototype.hasOwnProperty.call(labels, ast.key);
    case 'eq':
      return labels[ast.key] === ast.value;
    case 'ne':
      return labels[ast.key] !== ast.value;
    case 'contains': {
      const v = labels[ast.key];
      return v !== undefined && v.includes(ast.value);
    }
    case 'startsWith': {
      const v = labels[ast.key];
      return v !== undefined && v.startsWith(ast.value);
    }
    case 'endsWith': {
      const v = labels[ast.key];
      return v !== undefined && v.endsWith(ast.value);
    }
    case 'in': {
      const v = labels[ast.key];
      return v !== undefined && ast.values.has(v);
    }
    case 'notIn': {
      const v = labels[ast.key];
      return v === undefined || !ast.values.has(v);
    }
    case 'not':
      return !evaluate(ast.expr, labels);
    case 'and':
      return evaluate(ast.left, labels) && evaluate(ast.right, labels);
    case 'or':
      return evaluate(ast.left, labels) || evaluate(ast.right, labels);
  }
}

/** Parse a selector; throws SelectorError naming the offset of the problem. */
export function parseSelector(source: string): Selector {
  const ast = new Parser(tokenize(source)).parseAll();
  return { source, ast, matches: (labels) => evaluate(ast, labels) };
}
