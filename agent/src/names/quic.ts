// QUIC client Initial packets (RFC 9000 §17.2, §17.2.2), opened with the
// Initial keys anyone can derive from the client's first Destination
// Connection ID (RFC 9001 §5.2; quic-keys.ts), header protection removed (RFC 9001 §5.4),
// decrypted with AES-128-GCM (RFC 9001 §5.3), and their CRYPTO frames put
// back in order into the TLS ClientHello. QUIC v2 (RFC 9369) differs in the
// version number, the salt, the HKDF labels and the long-header type bits.
//
// One assembler per UDP flow, fed the client's datagrams. A ClientHello may
// span several Initial packets (Chromium's post-quantum one takes two) that
// arrive in any order, coalesced with other packets or alone.

import { createDecipheriv } from 'node:crypto';
import type { Anomalies, AnomalyName } from '../decode/anomaly.js';
import { u32be } from '../util/bytes.js';
import { aes128EncryptBlock } from './aes.js';
import type { QuicAhead } from './quic-ahead.js';
import { initialKeys, type OpenKeys, VERSIONS } from './quic-keys.js';
import { TcpStreamAssembler } from './stream.js';
import { parseClientHelloMessage } from './tls.js';
import type { ClientHelloInfo, Outcome } from './types.js';

/** Frame types allowed in an Initial packet (RFC 9000 §12.4 Table 3). */
const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  ACK_ECN: 0x03,
  CRYPTO: 0x06,
  CONNECTION_CLOSE: 0x1c,
} as const;

/** CRYPTO bytes kept per flow: a ClientHello is a few KB; more is not a client we can read. */
export const MAX_CRYPTO = 65_536;
const MAX_CID = 20;
const SAMPLE = 16;
/** The header protection mask of the packet being opened (RFC 9001 §5.4.1), reused. */
const MASK = new Uint8Array(16);
const TAG = 16;

// ---- Variable-length integers (RFC 9000 §16) ----

/** Bytes taken by the last varint() read. */
let varintLen = 0;

/**
 * The varint at b[p], or -1 when it runs past `end`. Values above 2^53 lose
 * precision; every use compares them with bounds far lower.
 */
function varint(b: Uint8Array, p: number, end: number): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: for p >= end the check below answers -1 too (n >= 1)
  if (p >= end) return -1;
  const n = 1 << (b[p] >> 6);
  if (p + n > end) return -1;
  let v = b[p] & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[p + i];
  varintLen = n;
  return v;
}

/** RFC 9000 Appendix A.3: the full packet number closest to the next one expected. */
function decodePacketNumber(largest: number, truncated: number, bits: number): number {
  const expected = largest + 1;
  const win = 2 ** bits;
  const candidate = expected - (expected % win) + truncated;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: numbers start below 2^32 and grow 2^31 a packet at most, far from 2^62
  const belowMax = candidate < 2 ** 62 - win;
  // Stryker disable next-line EqualityOperator: candidate === win means expected >= win, never above expected + win / 2
  const atLeastWin = candidate >= win;
  if (candidate <= expected - win / 2 && belowMax) return candidate + win;
  if (candidate > expected + win / 2 && atLeastWin) return candidate - win;
  return candidate;
}

/** Where locateFirstInitial() found the packet: its version, Connection IDs and packet number offsets, and its end. */
export const located = { version: 0, dcidOff: 0, dcidLen: 0, scidOff: 0, scidLen: 0, pnOff: 0, end: 0 };

/**
 * Does the UDP payload buf[off, off + len) start with a client Initial of a
 * version we can open, long enough to sample? Then `located` says where its
 * parts are. The header is read by the rules addDatagram() reads it by.
 */
export function locateFirstInitial(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  // Every read below is bounded by `end` again further on, so a looser bound here (or on the
  // Connection IDs' and the token's ends) refuses the same datagrams one step later.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: see above
  if (len < 7 || (buf[off] & 0x80) === 0) return false;
  const version = u32be(buf, off + 1);
  const spec = VERSIONS.get(version);
  if (spec === undefined || ((buf[off] >> 4) & 0b11) !== spec.initial) return false;
  const dcidLen = buf[off + 5];
  let q = off + 6 + dcidLen;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the end bound, as above
  if (dcidLen > MAX_CID || q >= end) return false;
  const scidLen = buf[q];
  q += 1 + scidLen;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the end bound, as above
  if (scidLen > MAX_CID || q > end) return false;
  const tokenLen = varint(buf, q, end);
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator: the end bound, as above
  if (tokenLen < 0 || tokenLen > end - q - varintLen) return false;
  q += varintLen + tokenLen;
  const length = varint(buf, q, end);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a Length below 0 or at 0 is refused below as too short to sample
  if (length < 0 || length > end - q - varintLen) return false;
  q += varintLen;
  if (length < 4 + SAMPLE) return false;
  located.version = version;
  located.dcidOff = off + 6;
  located.dcidLen = dcidLen;
  located.scidOff = off + 7 + dcidLen;
  located.scidLen = scidLen;
  located.pnOff = q;
  located.end = q + length;
  return true;
}

/** The packet number of the last packet openInitialPacket() opened. */
export let openedPn = 0;

/**
 * Remove header protection (RFC 9001 §5.4, on a copy of the header), then
 * decrypt and authenticate one Initial packet under `k` (RFC 9001 §5.3).
 * `pnOff` is where the packet number starts (at least 4 + 16 bytes before
 * `end`); `largestPn` the largest packet number opened before on the flow
 * (-1: none). The plaintext, or why not (its number in `openedPn`).
 */
export function openInitialPacket(
  buf: Uint8Array,
  start: number,
  pnOff: number,
  end: number,
  k: OpenKeys,
  largestPn: number,
): Buffer | AnomalyName {
  const mask = MASK;
  aes128EncryptBlock(k.hp, buf, pnOff + 4, mask);
  const first = buf[start] ^ (mask[0] & 0x0f);
  const pnLen = (first & 0x03) + 1;
  const header = Buffer.from(buf.subarray(start, pnOff + pnLen)); // the AAD, unprotected in a copy
  header[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLen; i++) {
    header[pnOff - start + i] ^= mask[1 + i];
    truncated = truncated * 256 + header[pnOff - start + i];
  }
  const pn = decodePacketNumber(largestPn, truncated, pnLen * 8);
  const nonce = Buffer.from(k.iv);
  // Stryker disable next-line EqualityOperator: a ninth byte of a packet number below 2^53 is 0, and XOR with 0 changes nothing
  for (let i = 0, v = pn; i < 8; i++, v = Math.floor(v / 256)) nonce[11 - i] ^= v % 256;
  try {
    const d = createDecipheriv('aes-128-gcm', k.key, nonce);
    d.setAAD(header);
    d.setAuthTag(buf.subarray(end - TAG, end));
    const plain = Buffer.concat([d.update(buf.subarray(pnOff + pnLen, end - TAG)), d.final()]);
    openedPn = pn;
    return plain;
  } catch {
    return 'quic.decrypt_failed';
  }
}

export class QuicInitialAssembler {
  /** Version of the first long-header packet seen (also an unknown one); null before. */
  version: number | null = null;
  /** The decision, once made; addDatagram() returns null afterwards. */
  outcome: Outcome<ClientHelloInfo> | null = null;
  /** Client Initial packets decrypted. */
  packets = 0;
  private dcid: Buffer | null = null;
  private readonly keys = new Map<number, OpenKeys>();
  // Stryker disable next-line UnaryOperator: until a number above 1 arrives, expected <= 2 and every candidate is below one window: no branch either way
  private largestPn = -1;
  private readonly crypto = new TcpStreamAssembler(MAX_CRYPTO);
  /**
   * The flow's first CRYPTO frame, at offset 0, read where it lies
   * (firstBuf[firstOff, firstOff + firstLen), the plaintext of this
   * datagram's packet) while no other frame came: a client that sends its
   * whole ClientHello in one frame (curl, ngtcp2, quic-go) is read with no
   * copy. Put into `crypto` as soon as another frame comes or the ClientHello
   * needs more; never kept past addDatagram().
   */
  private firstBuf: Uint8Array | null = null;
  private firstOff = 0;
  private firstLen = 0;
  /** keys.get(borrowedVersion) are views of the look-ahead's ring slot (valid until its next take): copied if the flow needs them later. */
  private borrowedVersion = -1;

  /** `ahead`: Initial packets opened ahead of the pipeline by another thread (quic-ahead.ts), if any. */
  constructor(private readonly ahead: QuicAhead | null = null) {
    this.crypto.start(0xffffffff); // CRYPTO offset 0 is "sequence number" 0
  }

  /**
   * One client-to-server UDP payload. 'need' while Initial packets came but
   * the ClientHello is incomplete (bytes: CRYPTO bytes still missing, at
   * least); 'done' or 'invalid' once decided (then null for every later
   * datagram); null when the datagram held no client Initial (1-RTT, 0-RTT
   * or Handshake packets only). Never throws.
   */
  addDatagram(buf: Uint8Array, off: number, len: number, anomalies: Anomalies): Outcome<ClientHelloInfo> | null {
    if (this.outcome) return null;
    off = Math.max(0, off || 0); // a negative or NaN offset reads from 0
    len = Math.max(0, Math.min(len, buf.length - off)); // never read outside buf
    const end = off + len;
    let initials = 0;
    let firstDcid: Uint8Array | null = null;
    // Coalesced packets (RFC 9000 §12.2): walk the long headers by their Length; a short
    // header (or padding after the last packet) runs to the end of the datagram.
    for (let p = off; p < end && buf[p] & 0x80; ) {
      if (end - p < 7) return this.fail(anomalies, 'quic.bad_header', initials);
      const first = buf[p];
      const version = u32be(buf, p + 1);
      if (this.version === null) this.version = version;
      const spec = VERSIONS.get(version);
      if (!spec) return this.fail(anomalies, 'quic.unknown_version', initials);
      let q = p + 5;
      const dcidLen = buf[q];
      const dcid = q + 1;
      q = dcid + dcidLen;
      if (dcidLen > MAX_CID || q >= end) return this.fail(anomalies, 'quic.bad_header', initials);
      const scidLen = buf[q];
      q += 1 + scidLen;
      if (scidLen > MAX_CID || q > end) return this.fail(anomalies, 'quic.bad_header', initials);
      const type = (first >> 4) & 0b11;
      if (type === spec.retry) break; // no Length field; never sent by a client anyway
      if (type === spec.initial) {
        const tokenLen = varint(buf, q, end);
        if (tokenLen < 0) return this.fail(anomalies, 'quic.bad_header', initials);
        // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the Length read below fails past the datagram, as bad_header too
        if (tokenLen > end - q - varintLen) return this.fail(anomalies, 'quic.bad_header', initials);
        q += varintLen + tokenLen;
      }
      const length = varint(buf, q, end);
      if (length < 0 || length > end - q - varintLen) return this.fail(anomalies, 'quic.bad_header', initials);
      q += varintLen;
      const next = q + length;
      // Packets with another Destination Connection ID are not part of this datagram (RFC 9000 §12.2).
      const cid = buf.subarray(dcid, dcid + dcidLen);
      if (firstDcid === null) firstDcid = cid;
      else if (Buffer.compare(cid, firstDcid) !== 0) break;
      if (type === spec.initial) {
        // Stryker disable next-line UpdateOperator: only ever compared with 0
        initials++;
        if (this.dcid === null) this.dcid = Buffer.from(cid); // the first Initial fixes the keys (RFC 9001 §5.2)
        const bad = this.openInitial(buf, p, q, next, version);
        if (bad) return this.fail(anomalies, bad, initials, bad === 'quic.bad_frame' || bad === 'quic.crypto_overflow');
      }
      p = next;
    }
    return initials === 0 ? null : this.progress(anomalies);
  }

  /** Where the ClientHello stands after new CRYPTO bytes: still incomplete, or decided. */
  private progress(anomalies: Anomalies): Outcome<ClientHelloInfo> {
    const first = this.firstBuf;
    let r: Outcome<ClientHelloInfo>;
    // One frame from offset 0 is all the stream holds: the very bytes contiguous() would give.
    if (first !== null) r = parseClientHelloMessage(first, this.firstOff, this.firstLen, anomalies);
    else {
      const c = this.crypto.contiguous();
      r = parseClientHelloMessage(c, 0, c.length, anomalies);
    }
    if (r.kind !== 'need') {
      this.outcome = r;
      this.firstBuf = null;
    } else {
      // More is to come in later datagrams: what this one lent is kept.
      this.keepFirst();
      this.keepKeys();
    }
    return r;
  }

  /** The first frame into `crypto` (before any other frame's bytes, as it came first). */
  private keepFirst(): void {
    const b = this.firstBuf;
    if (b === null) return;
    this.firstBuf = null;
    this.crypto.add(0, b, this.firstOff, this.firstLen);
  }

  /** Keys borrowed from the look-ahead's ring, copied: the flow goes on to another datagram. */
  private keepKeys(): void {
    const v = this.borrowedVersion;
    // Stryker disable next-line EqualityOperator: version 0 is Version Negotiation, never an Initial's: never borrowed
    if (v < 0) return;
    // Stryker disable next-line UnaryOperator: +1 would only copy version 1's keys again, a copy of a copy
    this.borrowedVersion = -1;
    const k = this.keys.get(v) as OpenKeys;
    this.keys.set(v, { key: Buffer.from(k.key), iv: Buffer.from(k.iv), hp: k.hp.slice() });
  }

  /**
   * A problem with one packet. Before any packet was authenticated (or when an
   * authenticated one is itself bad) the flow is decided: this is not a
   * client we can read. After that a bad packet (corrupt, spoofed, under other
   * keys after a Retry) is counted and the rest of its datagram skipped.
   */
  private fail(
    anomalies: Anomalies,
    anomaly: AnomalyName,
    initials: number,
    decisive = false,
  ): Outcome<ClientHelloInfo> | null {
    anomalies.count(anomaly);
    if (decisive || this.packets === 0) {
      this.outcome = { kind: 'invalid', anomaly };
      return this.outcome;
    }
    return initials === 0 ? null : this.progress(anomalies);
  }

  private keysFor(version: number): OpenKeys {
    let k = this.keys.get(version);
    // Stryker disable next-line ConditionalExpression: a memo of initialKeys(), which returns the same keys
    if (!k) {
      // Also for a second version after compatible version negotiation: same DCID, that version's salt.
      k = initialKeys(version, this.dcid!);
      this.keys.set(version, k);
    }
    return k;
  }

  /**
   * Open one Initial packet and read its frames. `pnOff` is where the packet
   * number starts. The look-ahead (quic-ahead.ts) may have opened it already:
   * it opens the first packet of each datagram, and hands it over only when
   * version, Connection ID, length and tag match this one.
   */
  private openInitial(buf: Uint8Array, start: number, pnOff: number, end: number, version: number): AnomalyName | null {
    if (end - pnOff < 4 + SAMPLE) return 'quic.bad_header'; // too short to sample (RFC 9001 §5.4.2)
    let plain: Uint8Array | null = null;
    let pn = 0;
    // The look-ahead opened the datagram's first packet as a flow's first Initial: under the keys of
    // its own Connection ID, with no packet number before it. That is this flow's case only here.
    // Stryker disable next-line ConditionalExpression: asking for a later Initial too gives the same: take() refuses a slot of another
    // Connection ID, and a flow's first eight datagrams' packet numbers decode the same after none as after their own
    if (this.ahead !== null && this.packets === 0 && !this.keys.has(version)) {
      const got = this.ahead.take(buf, start, end, version, this.dcid!);
      if (got !== null) {
        this.keys.set(version, got.keys);
        this.borrowedVersion = version;
        plain = got.plain;
        pn = got.pn;
      }
    }
    if (plain === null) {
      const r = openInitialPacket(buf, start, pnOff, end, this.keysFor(version), this.largestPn);
      if (typeof r === 'string') return r;
      plain = r;
      pn = openedPn;
    }
    this.packets++;
    this.largestPn = Math.max(this.largestPn, pn);
    return this.readFrames(plain);
  }

  private readFrames(b: Uint8Array): AnomalyName | null {
    const end = b.length;
    for (let p = 0; p < end; ) {
      const type = varint(b, p, end);
      // Stryker disable next-line ConditionalExpression: a cut type reads as -1, which the default case refuses too
      if (type < 0) return 'quic.bad_frame';
      p += varintLen;
      switch (type) {
        case FrameType.PADDING:
          // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; each 0x00 left is a one-byte PADDING frame of its own
          while (p < end && b[p] === 0) p++;
          break;
        case FrameType.PING:
          break;
        case FrameType.ACK:
        case FrameType.ACK_ECN: {
          // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range, ranges, [ECN counts]
          let rangeCount = 0;
          for (let i = 0; i < 4; i++) {
            const v = varint(b, p, end);
            if (v < 0) return 'quic.bad_frame';
            if (i === 2) rangeCount = v;
            p += varintLen;
          }
          const more = 2 * rangeCount + (type === FrameType.ACK_ECN ? 3 : 0);
          // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a fast exit; the loop below refuses the same frames when a read runs out
          if (more > end - p) return 'quic.bad_frame'; // every varint takes at least one byte
          for (let i = 0; i < more; i++) {
            if (varint(b, p, end) < 0) return 'quic.bad_frame';
            p += varintLen;
          }
          break;
        }
        case FrameType.CRYPTO: {
          const offset = varint(b, p, end);
          if (offset < 0) return 'quic.bad_frame';
          p += varintLen;
          const length = varint(b, p, end);
          if (length < 0 || length > end - p - varintLen) return 'quic.bad_frame';
          p += varintLen;
          if (offset + length > MAX_CRYPTO) return 'quic.crypto_overflow';
          // Stryker disable next-line ConditionalExpression,EqualityOperator: reading no frame in place, or a frame only while one is (never), only copies more: reassembly gives the same bytes. The variants of offset === 0 and crypto.empty are killed (quic-first-frame.test.ts)
          if (offset === 0 && this.firstBuf === null && this.crypto.empty) {
            this.firstBuf = b;
            this.firstOff = p;
            this.firstLen = length;
          } else {
            this.keepFirst();
            this.crypto.add(offset, b, p, length);
          }
          p += length;
          break;
        }
        case FrameType.CONNECTION_CLOSE: {
          // Error Code, Frame Type, Reason Phrase Length, Reason Phrase
          for (let i = 0; i < 2; i++) {
            if (varint(b, p, end) < 0) return 'quic.bad_frame';
            p += varintLen;
          }
          const reason = varint(b, p, end);
          if (reason < 0 || reason > end - p - varintLen) return 'quic.bad_frame';
          p += varintLen + reason;
          break;
        }
        default:
          return 'quic.bad_frame'; // not allowed in an Initial packet (RFC 9000 §12.4)
      }
    }
    return null;
  }
}
