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
   *
   * Only a message that straddles chunks is copied (the leftover plus the
   * start of the new chunk), never the whole new chunk.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let p = 0;
    if (this.pending !== null) {
      p = this.completePending(chunk, out);
      if (p < 0) return out;
    }
    while (chunk.length - p >= HEADER_LENGTH) {
      const length = checkHeader(chunk, p, this.maxLength);
      if (chunk.length - p < length) break;
      out.push(chunk.subarray(p, p + length));
      p += length;
    }
    // Copy a small remainder so a large chunk is not kept alive by it.
    if (p < chunk.length) this.pending = Buffer.from(chunk.subarray(p));
    return out;
  }

  /**
   * Finish the message begun in `pending` with the start of `chunk`: returns
   * the offset in `chunk` after it, or -1 when `chunk` did not complete it
   * (then everything is pending).
   */
  private completePending(chunk: Buffer, out: Buffer[]): number {
    const pend = this.pending!;
    if (pend.length + chunk.length < HEADER_LENGTH) {
      this.pending = Buffer.concat([pend, chunk]);
      return -1;
    }
    const header = pend.length >= HEADER_LENGTH ? pend : Buffer.concat([pend, chunk.subarray(0, HEADER_LENGTH - pend.length)]);
    const length = checkHeader(header, 0, this.maxLength);
    const need = length - pend.length;
    if (chunk.length < need) {
      this.pending = Buffer.concat([pend, chunk]);
      return -1;
    }
    out.push(Buffer.concat([pend, chunk.subarray(0, need)], length));
    this.pending = null;
    return need;
  }
}
