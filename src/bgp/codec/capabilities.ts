/**
 * OPEN capabilities (RFC 5492): one decode and one encode per code.
 *
 * Implemented: multiprotocol (RFC 4760 §8), route refresh (RFC 2918, and the
 * pre-standard code 128), extended message (RFC 8654), graceful restart
 * (RFC 4724 §3, N bit RFC 8538), 4-octet AS (RFC 6793), ADD-PATH (RFC 7911 §4),
 * enhanced route refresh (RFC 7313), FQDN / hostname
 * (draft-walton-bgp-hostname-capability, as BIRD and FRR send it). Anything
 * else, or a known code whose value does not parse, is kept as bytes.
 */
import { ERR_OPEN } from './constants.js';
import { BgpError } from './errors.js';
import type { Capability } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function unknown(code: number, b: Uint8Array, start: number, end: number): Capability {
  return { code, name: 'unknown', data: b.slice(start, end) };
}

/** Decode one capability value `b[start, end)` of type `code`. */
export function decodeCapability(code: number, b: Uint8Array, start: number, end: number): Capability {
  const len = end - start;
  switch (code) {
    case 1:
      if (len !== 4) throw new BgpError(ERR_OPEN, 0, undefined, `multiprotocol capability length ${len}`);
      if (b[start + 2] !== 0) return unknown(code, b, start, end); // reserved octet set: keep as sent
      return { code: 1, name: 'multiprotocol', afi: (b[start] << 8) | b[start + 1], safi: b[start + 3] };
    case 2:
    case 6:
    case 70:
    case 128:
      if (len !== 0) return unknown(code, b, start, end);
      return code === 2
        ? { code: 2, name: 'route-refresh' }
        : code === 6
          ? { code: 6, name: 'extended-message' }
          : code === 70
            ? { code: 70, name: 'enhanced-route-refresh' }
            : { code: 128, name: 'route-refresh-old' };
    case 64: {
      // RFC 4724 §3: flags(4 bits) + restart time(12 bits), then (AFI, SAFI, flags) per family.
      if (len < 2 || (len - 2) % 4 !== 0) return unknown(code, b, start, end);
      if ((b[start] & 0x30) !== 0) return unknown(code, b, start, end); // reserved flag bits: keep as sent
      const families: { afi: number; safi: number; forwardingState: boolean }[] = [];
      for (let p = start + 2; p < end; p += 4) {
        if ((b[p + 3] & 0x7f) !== 0) return unknown(code, b, start, end);
        families.push({ afi: (b[p] << 8) | b[p + 1], safi: b[p + 2], forwardingState: (b[p + 3] & 0x80) !== 0 });
      }
      return {
        code: 64,
        name: 'graceful-restart',
        restartState: (b[start] & 0x80) !== 0,
        notification: (b[start] & 0x40) !== 0,
        restartTime: ((b[start] & 0x0f) << 8) | b[start + 1],
        families,
      };
    }
    case 65:
      if (len !== 4) throw new BgpError(ERR_OPEN, 0, undefined, `4-octet AS capability length ${len}`);
      return {
        code: 65,
        name: 'as4',
        asn: ((b[start] << 24) | (b[start + 1] << 16) | (b[start + 2] << 8) | b[start + 3]) >>> 0,
      };
    case 69: {
      if (len % 4 !== 0) return unknown(code, b, start, end);
      const families: { afi: number; safi: number; sendReceive: 1 | 2 | 3 }[] = [];
      for (let p = start; p < end; p += 4) {
        const sr = b[p + 3];
        if (sr < 1 || sr > 3) return unknown(code, b, start, end);
        families.push({ afi: (b[p] << 8) | b[p + 1], safi: b[p + 2], sendReceive: sr as 1 | 2 | 3 });
      }
      return { code: 69, name: 'add-path', families };
    }
    case 73: {
      // hostname length(1) hostname, domain length(1) domain; BIRD sends an empty domain.
      if (len < 1) return unknown(code, b, start, end);
      const hl = b[start];
      if (1 + hl + 1 > len) return unknown(code, b, start, end);
      const dl = b[start + 1 + hl];
      if (2 + hl + dl !== len) return unknown(code, b, start, end);
      const hostBytes = b.subarray(start + 1, start + 1 + hl);
      const domainBytes = b.subarray(start + 2 + hl, end);
      const hostname = utf8.decode(hostBytes);
      const domain = utf8.decode(domainBytes);
      // Keep as bytes anything that would not re-encode to the same octets.
      if (utf8Encoder.encode(hostname).length !== hl || utf8Encoder.encode(domain).length !== dl) {
        return unknown(code, b, start, end);
      }
      return { code: 73, name: 'fqdn', hostname, domain };
    }
    default:
      return unknown(code, b, start, end);
  }
}

/** The value octets of a capability. */
export function encodeCapabilityValue(cap: Capability): Uint8Array {
  switch (cap.name) {
    case 'multiprotocol':
      return Uint8Array.of(cap.afi >> 8, cap.afi & 255, 0, cap.safi);
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
    case 'route-refresh-old':
      return new Uint8Array(0);
    case 'graceful-restart': {
      const out = new Uint8Array(2 + 4 * cap.families.length);
      out[0] = (cap.restartState ? 0x80 : 0) | (cap.notification ? 0x40 : 0) | ((cap.restartTime >> 8) & 0x0f);
      out[1] = cap.restartTime & 255;
      cap.families.forEach((f, i) => {
        out.set([f.afi >> 8, f.afi & 255, f.safi, f.forwardingState ? 0x80 : 0], 2 + 4 * i);
      });
      return out;
    }
    case 'as4':
      return Uint8Array.of(cap.asn >>> 24, (cap.asn >>> 16) & 255, (cap.asn >>> 8) & 255, cap.asn & 255);
    case 'add-path': {
      const out = new Uint8Array(4 * cap.families.length);
      cap.families.forEach((f, i) => out.set([f.afi >> 8, f.afi & 255, f.safi, f.sendReceive], 4 * i));
      return out;
    }
    case 'fqdn': {
      const host = utf8Encoder.encode(cap.hostname).subarray(0, 255);
      const domain = utf8Encoder.encode(cap.domain).subarray(0, 255);
      const out = new Uint8Array(2 + host.length + domain.length);
      out[0] = host.length;
      out.set(host, 1);
      out[1 + host.length] = domain.length;
      out.set(domain, 2 + host.length);
      return out;
    }
    case 'unknown':
      return cap.data;
  }
}
