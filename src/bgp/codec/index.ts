/**
 * The BGP-4 message codec: bytes <-> typed messages, pure (no sockets,
 * timers or logging). See types.ts for the message model.
 */
export * from './types.js';
export * from './constants.js';
export { BgpError, notificationFor, notificationName, strongerAction, type ErrorAction } from './errors.js';
export { Framer } from './framer.js';
export { checkHeader, writeHeader } from './header.js';
export { decodeMessage, encodeMessage, KEEPALIVE_BYTES } from './message.js';
export { decodeOpen, encodeOpen } from './open.js';
export { decodeUpdate, encodeUpdate, maxMessageLength } from './update.js';
export { encodeAttributes, attributeName, displayAttributes, originText, ATTRIBUTE_TABLE, type AttributeRow } from './attributes/table.js';
export { formatAsPath, mergeAs4Path, pathLength } from './attributes/as-path.js';
export { packUpdates, endOfRib, isEndOfRib } from './pack.js';
export { encodeAttributes6, packUpdates6 } from './pack6.js';
export { negotiate, type Negotiated } from './negotiate.js';
export { messageToJson, messageFromJson, attributesToJson, attributesFromJson } from './json.js';
export { formatIpv6, parseIpv6, parseIpv6Prefix } from './ipv6.js';
export { decodeIpv4Prefixes, ipv4PrefixesLength, ipv6Count, ipv6Keys, writeIpv4Prefix } from './nlri.js';
