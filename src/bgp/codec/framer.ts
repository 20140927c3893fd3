/**
 * Cuts a TCP byte stream into whole BGP messages (RFC 4271 §4.1).
 *
 * The header is checked only once all 19 octets are present, so any split
 * of the same stream yields the same messages and the same error.
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './header.js';

export class Framer {
  private maxLength: number;
  private pending: Buffer | null = null;

  constructor(maxLength: number = MAX_MESSAGE_LENGTH) {
    this.maxLength = maxLength;
  }

  /** Raise the limit to 65535 once extended messages are negotiated (RFC 8654). */
  setMaxLength(n: number): void {
    this.maxLength = n;
  }

  /** Octets received but not yet part of a whole message. */
  get buffered(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  /**
   * Append `chunk` and return every whole message now available (views of
   * the stream's bytes); the remainder waits for the next chunk. Throws a
   * BgpError (1/1, 1/2, 1/3) on a bad header; the framer is then unusable.
   */
  push(chunk: Buffer): Buffer[] {
    let buf: Buffer;
    if (this.pending === null) buf = chunk;
    else {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const out: Buffer[] = [];
    let p = 0;
    while (buf.length - p >= HEADER_LENGTH) {
      const length = checkHeader(buf, p, this.maxLength);
      if (buf.length - p < length) break;
      out.push(buf.subarray(p, p + length));
      p += length;
    }
    // Copy a small remainder so a large chunk is not kept alive by it.
    if (p < buf.length) this.pending = Buffer.from(buf.subarray(p));
    return out;
  }
}
