/**
 * `agent decode`: the wire-level debugging tool. Reads BGP messages as hex
 * (`--hex`, or one hex message per line on stdin) or raw bytes (`--file`,
 * cut into messages by the framer) and prints one JSON object per message.
 * A malformed message prints {"error":{code,subcode,name,action}} and the
 * command exits 1 (RFC 4271 §6 code/subcode, RFC 7606 action).
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import {
  BgpError,
  ERR_UPDATE,
  Framer,
  UPDATE_MALFORMED_AS_PATH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  decodeMessage,
  familyKey,
  messageToJson,
  notificationName,
  type DecodeContext,
} from '../../bgp/codec/index.js';


export interface DecodeArgs {
  hex?: string;
  file?: string;
  as4: boolean;
  addPath: boolean;
  extendedMessage: boolean;
  mergeAs4: boolean;
  pretty: boolean;
}

export function contextFor(args: Pick<DecodeArgs, 'as4' | 'addPath' | 'extendedMessage' | 'mergeAs4'>): DecodeContext {
  return {
    as4: args.as4,
    // --add-path: path identifiers on IPv4 and IPv6 unicast NLRI (RFC 7911).
    addPath: new Set(args.addPath ? [familyKey(1, 1), familyKey(2, 1)] : []),
    extendedMessage: args.extendedMessage,
    // A debugging tool shows AS4_PATH / AS4_AGGREGATOR as sent unless asked to merge (RFC 6793 §4.2.3).
    keepAs4: !args.mergeAs4,
  };
}

function errorJson(err: BgpError): Record<string, unknown> {
  return {
    code: err.code,
    subcode: err.subcode,
    name: notificationName(err.code, err.subcode),
    action: err.action ?? 'session-reset',
    ...(err.detail ? { detail: err.detail } : {}),
    ...(err.data.length ? { data: Buffer.from(err.data).toString('hex') } : {}),
  };
}

/** Decode one message to its output object; `ok` is false for a malformed message. */
export function decodeOne(bytes: Uint8Array, ctx: DecodeContext): { ok: boolean; out: Record<string, unknown>; hint?: string } {
  const first = decodeRaw(bytes, ctx);
  const hint = as4Hint(bytes, ctx, first);
  if (!hint) return first;
  const error = first.out.error as Record<string, unknown> | undefined;
  // A clean decode with an implausible AS_PATH is shown, but as failed: the numbers in it are wrong.
  return { ok: false, out: error ? { ...first.out, error: { ...error, hint } } : { ...first.out, hint }, hint };
}

function decodeRaw(bytes: Uint8Array, ctx: DecodeContext): { ok: boolean; out: Record<string, unknown>; asPathSuspect: boolean } {
  try {
    const msg = decodeMessage(bytes, ctx);
    const json = messageToJson(msg);
    if (msg.type === 'UPDATE' && msg.treatAsWithdraw) {
      // RFC 7606 treat-as-withdraw: malformed, but the session would go on; show both.
      const { code, subcode, reason } = msg.treatAsWithdraw;
      return { ok: false, out: { error: { code, subcode, name: notificationName(code, subcode), action: 'treat-as-withdraw', detail: reason }, message: json }, asPathSuspect: subcode === UPDATE_MALFORMED_AS_PATH };
    }
    // AS 0 is never a real hop (RFC 7607): the halves of 4-octet numbers read as 2-octet ones.
    const zeroAs = msg.type === 'UPDATE' && (msg.attributes.asPath ?? []).some((seg) => seg.asns.includes(0));
    return { ok: true, out: json, asPathSuspect: zeroAs };
  } catch (err) {
    if (err instanceof BgpError) return { ok: false, out: { error: errorJson(err) }, asPathSuspect: err.code === ERR_UPDATE && err.subcode === UPDATE_MALFORMED_AS_PATH };
    throw err;
  }
}

/**
 * Whether AS numbers are 2 or 4 octets is negotiated (RFC 6793 §3), not
 * written in the UPDATE, so decoding with the wrong `--as4` shows as a
 * malformed AS_PATH (or one full of AS 0). When the AS_PATH is the trouble
 * and the other width decodes the message cleanly, say which flag to use.
 */
function as4Hint(bytes: Uint8Array, ctx: DecodeContext, first: { asPathSuspect: boolean }): string | undefined {
  if (!first.asPathSuspect) return undefined;
  const other = decodeRaw(bytes, { ...ctx, as4: !ctx.as4 });
  if (!other.ok || other.asPathSuspect) return undefined;
  return ctx.as4
    ? 'the AS_PATH decodes cleanly with 2-octet AS numbers: try without --as4 (the session did not negotiate 4-octet AS, RFC 6793)'
    : 'the AS_PATH decodes cleanly with 4-octet AS numbers: try --as4 (the session negotiated them, RFC 6793)';
}

/** Parse one line of hex ("ffff..", with optional 0x, spaces or colons); null when it is not hex. */
export function parseHexLine(line: string): Buffer | null {
  const clean = line.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(clean)) return null;
  return Buffer.from(clean, 'hex');
}

/** Everything `agent decode` prints for the given input; `failed` means exit 1. */
export function runDecode(args: DecodeArgs, stdinText: () => string): { lines: string[]; errors: string[]; failed: boolean } {
  const ctx = contextFor(args);
  const lines: string[] = [];
  const errors: string[] = [];
  let failed = false;
  const print = (obj: unknown): void => {
    lines.push(args.pretty ? JSON.stringify(obj, null, 2) : JSON.stringify(obj));
  };
  let count = 0;
  const one = (bytes: Uint8Array): void => {
    const { ok, out, hint } = decodeOne(bytes, ctx);
    count++;
    if (!ok) failed = true;
    if (hint) errors.push(`agent decode: message ${count}: ${hint}`);
    print(out);
  };

  if (args.file !== undefined) {
    let data: Buffer;
    try {
      data = readFileSync(args.file);
    } catch (err) {
      return { lines, errors: [`agent decode: cannot read ${args.file}: ${(err as Error).message}`], failed: true };
    }
    const framer = new Framer(args.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH);
    try {
      for (const m of framer.push(data)) one(m);
      if (framer.buffered > 0) {
        errors.push(`agent decode: ${framer.buffered} trailing octets are not a whole message`);
        failed = true;
      }
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      print({ error: errorJson(err) });
      failed = true;
    }
    return { lines, errors, failed };
  }

  const inputs = args.hex !== undefined ? [args.hex] : stdinText().split('\n');
  inputs.forEach((line, i) => {
    if (line.trim() === '' && args.hex === undefined) return;
    const bytes = parseHexLine(line);
    if (bytes === null) {
      errors.push(`agent decode: ${args.hex !== undefined ? '--hex' : `line ${i + 1}`} is not hex`);
      failed = true;
      return;
    }
    one(bytes);
  });
  return { lines, errors, failed };
}

export const decodeCommand: CommandModule<object, DecodeArgs> = {
  command: 'decode',
  describe: 'Decode BGP messages (hex on stdin, one per line; --hex; or raw --file) to JSON, one object per message',
  builder: (y) =>
    y
      .option('hex', { type: 'string', describe: 'One message as hex (header included)' })
      .option('file', { type: 'string', describe: 'Raw bytes: one or more whole messages back to back' })
      .option('as4', { type: 'boolean', default: false, describe: '4-octet AS numbers were negotiated (RFC 6793)' })
      .option('add-path', { type: 'boolean', default: false, describe: 'NLRI carry ADD-PATH path ids, IPv4 and IPv6 unicast (RFC 7911)' })
      .option('extended-message', { type: 'boolean', default: false, describe: 'Messages up to 65535 octets (RFC 8654)' })
      .option('merge-as4', { type: 'boolean', default: false, describe: 'Merge AS4_PATH/AS4_AGGREGATOR into AS_PATH/AGGREGATOR (RFC 6793 §4.2.3)' })
      .option('pretty', { type: 'boolean', default: false, describe: 'Indent the JSON' })
      .conflicts('hex', 'file')
      .example('$0 decode --as4 --hex ffffffffffffffffffffffffffffffff001304', 'a KEEPALIVE')
      .example('$0 decode --file proto-fixtures/update/bird2-ipv4-26-full.bin --as4', 'raw bytes') as never,
  handler: (args) => {
    const { lines, errors, failed } = runDecode(args, () => readFileSync(0, 'utf8'));
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    if (errors.length) process.stderr.write(errors.join('\n') + '\n');
    if (failed) process.exitCode = 1;
  },
};
