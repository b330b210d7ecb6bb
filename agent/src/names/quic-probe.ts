// Is a UDP payload a QUIC client's first datagram? RFC 9000 §17.2 (long
// header), §14.1 (a client pads every datagram carrying an Initial to at
// least 1200 bytes), §17.2.1 (Version Negotiation: a long header with version
// 0) and §15 (versions); the Initial packet type is 0 in v1 and 1 in v2
// (RFC 9369 §3.2). A known version must open with an Initial; an unknown one
// is QUIC only once the server answers it with Version Negotiation. Anything
// else whose first byte merely has the high bits set (LLMNR, NetBIOS, IKE, …)
// is a look-alike: counted as `quic.not_quic`, never named QUIC.

import { u32be } from '../util/bytes.js';
import { QuicVersion } from './quic-keys.js';

export const QuicProbe = {
  NOT_QUIC: 0,
  /** A long-header Initial of a version we can open, in a datagram of at least 1200 bytes. */
  INITIAL: 1,
  /** A long header of a version we do not know, in a big enough datagram: QUIC if the server answers with Version Negotiation. */
  UNKNOWN_VERSION: 2,
} as const;

export const MIN_INITIAL_DATAGRAM = 1200;
const LONG_HEADER = 0x80;
const LONG_HEADER_MIN = 7; // first byte, version, DCID length, SCID length
const TYPE_SHIFT = 4;
const TYPE_MASK = 0x03;
const INITIAL_TYPE = { [QuicVersion.V1]: 0b00, [QuicVersion.V2]: 0b01 } as Record<number, number>;

/** The first datagram of a client: QuicProbe.*. `datagramLen` is the UDP payload's length on the wire. */
export function probeQuicInitial(buf: Uint8Array, off: number, len: number, datagramLen: number): number {
  if (len < LONG_HEADER_MIN || (buf[off] & LONG_HEADER) === 0 || datagramLen < MIN_INITIAL_DATAGRAM) {
    return QuicProbe.NOT_QUIC;
  }
  const version = u32be(buf, off + 1);
  if (version === QuicVersion.NEGOTIATION) return QuicProbe.NOT_QUIC; // only servers send version 0
  const initial = INITIAL_TYPE[version];
  if (initial === undefined) return QuicProbe.UNKNOWN_VERSION;
  return ((buf[off] >> TYPE_SHIFT) & TYPE_MASK) === initial ? QuicProbe.INITIAL : QuicProbe.NOT_QUIC;
}

/** A server's Version Negotiation packet (RFC 9000 §17.2.1): long header, version 0. */
export function isVersionNegotiation(buf: Uint8Array, off: number, len: number): boolean {
  return len >= LONG_HEADER_MIN && (buf[off] & LONG_HEADER) !== 0 && u32be(buf, off + 1) === QuicVersion.NEGOTIATION;
}

/** Does the payload's first byte look like a long header (what a look-alike has in common with QUIC)? */
export function looksLikeLongHeader(buf: Uint8Array, off: number, len: number): boolean {
  return len > 0 && (buf[off] & 0xc0) === 0xc0;
}
