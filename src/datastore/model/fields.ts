/**
 * Field readers for validating Calico resources: each reader checks one field,
 * records a problem under its dotted path ("spec.peerIP") and returns the
 * typed value or undefined. Hand-written rather than a schema library because
 * 50k IPAM blocks are validated on every full list, and because the error text
 * must read like Calico's ("\"10.0.0\" is not an IP address").
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface FieldProblem {
  field: string;
  message: string;
}

/** A resource that failed validation: names the etcd key and the field. */
export class ValidationError extends Error {
  constructor(
    readonly key: string,
    readonly problems: FieldProblem[],
  ) {
    super(problems.map((p) => `${key}: ${p.field ? `${p.field}: ` : ''}${p.message}`).join('; '));
    this.name = 'ValidationError';
  }
}

export type Obj = Record<string, unknown>;

export class FieldReader {
  readonly problems: FieldProblem[] = [];

  fail(field: string, message: string): undefined {
    this.problems.push({ field, message });
    return undefined;
  }

  object(v: unknown, field: string, required = false): Obj | undefined {
    if (v === undefined || v === null) return required ? this.fail(field, 'is required') : undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(field, `must be an object, not ${show(v)}`);
    return v as Obj;
  }

  string(v: unknown, field: string, required = false): string | undefined {
    if (v === undefined || v === null || (required && v === '')) return required ? this.fail(field, 'is required') : undefined;
    if (typeof v !== 'string') return this.fail(field, `must be a string, not ${show(v)}`);
    return v;
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(field, `must be true or false, not ${show(v)}`);
    return v;
  }

  /** Integer in [min, max]; Calico's numorstring types also accept numeric strings. */
  int(v: unknown, field: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.fail(field, `must be an integer, not ${show(v)}`);
    if (n < min || n > max) return this.fail(field, `${n} is out of range ${min}..${max}`);
    return n;
  }

  /** AS number: plain or asdot ("1.10") notation, as numorstring.ASNumber accepts. */
  asNumber(v: unknown, field: string): number | undefined {
    if (typeof v === 'string' && /^\d+\.\d+$/.test(v)) {
      const [hi, lo] = v.split('.').map(Number);
      if (hi > 0xffff || lo > 0xffff) return this.fail(field, `"${v}" is not a valid AS number`);
      return hi * 65536 + lo;
    }
    if (v === 0 || v === '0') return this.fail(field, '0 is not a valid AS number');
    return this.int(v, field, 1, 0xffffffff);
  }

  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
    const s = this.string(v, field);
    if (s === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(s)) return this.fail(field, `"${s}" is not one of ${allowed.join(', ')}`);
    return s as T;
  }

  ip(v: unknown, field: string, required = false): string | undefined {
    const s = this.string(v, field, required);
    if (s === undefined) return undefined;
    if (!isIPv4(s) && !isIPv6(s)) return this.fail(field, `"${s}" is not an IP address`);
    return s;
  }

  /** "10.0.0.0/16" (or IPv6); `allowBareIp` accepts "10.0.0.1" as a /32 (node addresses). */
  cidr(v: unknown, field: string, opts: { required?: boolean; allowBareIp?: boolean } = {}): ParsedCidr | undefined {
    const s = this.string(v, field, opts.required);
    if (s === undefined) return undefined;
    const c = parseCidr(s, opts.allowBareIp);
    if (!c) return this.fail(field, `"${s}" is not a CIDR`);
    return c;
  }

  /** Go duration ("120s", "1m30s", "2h"), returned in whole seconds. */
  duration(v: unknown, field: string): number | undefined {
    const s = this.string(v, field);
    if (s === undefined) return undefined;
    const secs = parseGoDuration(s);
    if (secs === undefined) return this.fail(field, `"${s}" is not a duration (e.g. "120s", "2m")`);
    return secs;
  }

  stringMap(v: unknown, field: string): Record<string, string> {
    const o = this.object(v, field);
    if (!o) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (typeof val !== 'string') this.fail(`${field}.${k}`, `must be a string, not ${show(val)}`);
      else out[k] = val;
    }
    return out;
  }

  array(v: unknown, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail(field, `must be a list, not ${show(v)}`);
    return v;
  }
}

export interface ParsedCidr {
  /** As written, normalised to "addr/len". */
  cidr: string;
  address: string;
  prefixLen: number;
  ipVersion: 4 | 6;
}

export function parseCidr(s: string, allowBareIp = false): ParsedCidr | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const lenStr = slash < 0 ? undefined : s.slice(slash + 1);
  const version = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (lenStr === undefined) {
    if (!allowBareIp) return undefined;
    return { cidr: `${addr}/${max}`, address: addr, prefixLen: max, ipVersion: version };
  }
  if (!/^\d{1,3}$/.test(lenStr)) return undefined;
  const len = Number(lenStr);
  if (len > max) return undefined;
  return { cidr: `${addr}/${len}`, address: addr, prefixLen: len, ipVersion: version };
}


const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  if (!s) return undefined;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    i = re.lastIndex;
  }
  return Math.round(total);
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}
