// The first bytes of one direction of a TCP connection (RFC 9293 §3.4:
// sequence numbers, modulo 2^32), put back in order for the name extractors:
// a ClientHello or an HTTP request that spans segments, arrives out of order
// or is retransmitted reads the same as one sent in a single segment.
//
// Overlaps: the first copy of a byte wins, later copies are ignored (the
// policy of Linux and the BSDs, Suricata's default; Windows differs only for
// some overlap shapes). Only the first `maxBytes` of the stream are kept:
// memory is one buffer of at most maxBytes plus a bitmap of maxBytes/8, grown
// on demand, whatever the number, order or size of the segments.

import type { Anomalies } from '../decode/anomaly.js';

/** Default window: a ClientHello (even a post-quantum one) or a request line with headers fits many times over. */
export const STREAM_MAX_BYTES = 16_384;
const INITIAL_CAPACITY = 2_048;
/** What a stream holds before its first byte (length 0: never written). */
const NOTHING = new Uint8Array(0);

export class TcpStreamAssembler {
  /** Set while bytes beyond a hole are held: a segment is missing (late, reordered, or lost before capture). */
  gap = false;
  /** Set once bytes beyond `maxBytes` arrived and were dropped. */
  overflow = false;
  /** Times the stream went from in order to holding bytes past a hole (reordering or loss). */
  gapsOpened = 0;
  /** Segments (or parts of them) that fell beyond `maxBytes` and were dropped. */
  droppedSegments = 0;
  /** Bytes that arrived again for a range already held (retransmissions, overlaps). */
  duplicateBytes = 0;

  private base = 0;
  private started = false;
  private data: Uint8Array = NOTHING;
  /** One bit per byte beyond the contiguous prefix: has it arrived? */
  private have: Uint8Array = NOTHING;
  /** Length of the in-order prefix. */
  private contig = 0;
  /** End of the furthest byte held (contig when there is no hole). */
  private highest = 0;

  constructor(
    readonly maxBytes = STREAM_MAX_BYTES,
    private readonly anomalies?: Anomalies,
  ) {}

  /** The SYN was seen with initial sequence number `isn`: data starts at isn + 1. Ignored once data was taken. */
  start(isn: number): void {
    if (this.highest > 0) return; // highest >= contig: nothing taken yet
    this.base = (isn + 1) >>> 0;
    this.started = true;
  }

  /** Whether the start of the stream is known (SYN seen, or the first data segment taken as the start). */
  get isStarted(): boolean {
    return this.started;
  }

  /** Length of the in-order prefix. */
  get length(): number {
    return this.contig;
  }

  /** No byte taken yet (none in order, none past a hole). */
  get empty(): boolean {
    return this.highest === 0;
  }

  /**
   * A segment carrying buf[off, off + len) at sequence number `seq`. Any
   * order, any overlap, across the 2^32 wrap; never throws. Without start(),
   * the first data segment's seq is taken as the start of the stream.
   */
  add(seq: number, buf: Uint8Array, off: number, len: number): void {
    off = Math.max(0, off);
    len = Math.min(len, buf.length - off);
    if (!(len > 0)) return;
    if (!this.started) {
      this.base = seq >>> 0;
      this.started = true;
    }
    // Signed distance from the start: segments just before the start (a retransmitted
    // SYN with data, an overlap) are trimmed, not mistaken for data 4 GiB ahead.
    let rel = ((seq >>> 0) - this.base) | 0;
    // Stryker disable next-line EqualityOperator: at rel 0 the trim below changes nothing
    if (rel < 0) {
      // Stryker disable next-line EqualityOperator: a segment ending at the start trims to length 0, a duplicate of nothing
      if (rel + len <= 0) return;
      off -= rel;
      len += rel;
      rel = 0;
    }
    if (rel + len > this.maxBytes) {
      this.markOverflow();
      if (rel >= this.maxBytes) return;
      len = this.maxBytes - rel;
    }
    const end = rel + len;
    // Bytes already in the prefix are kept as they are: first copy wins.
    // Stryker disable next-line EqualityOperator: end === contig goes on with an empty segment that changes nothing
    if (end <= this.contig) {
      this.duplicateBytes += len;
      return;
    }
    // Stryker disable next-line EqualityOperator: at rel === contig the trim is of 0 bytes
    if (rel < this.contig) {
      this.duplicateBytes += this.contig - rel;
      off += this.contig - rel;
      rel = this.contig;
    }
    this.ensureCapacity(end);
    // Stryker disable next-line EqualityOperator: at rel === highest the byte-by-byte path below gives the same bytes (and gap === contig < highest already)
    if (rel >= this.highest) {
      // Nothing held at or past rel: the whole segment is new (the common, in-order case).
      this.data.set(buf.subarray(off, off + (end - rel)), rel);
      if (rel > this.contig) {
        // Past a hole: remember which bytes are here, so the hole can be filled later.
        this.setBits(rel, end);
        if (!this.gap) this.openGap();
      }
      this.highest = end;
    } else {
      // Over data held beyond a hole: copy only the bytes not yet seen.
      for (let i = rel; i < end; i++) {
        if (this.have[i >> 3] & (1 << (i & 7))) this.duplicateBytes++;
        else {
          this.data[i] = buf[off + i - rel];
          this.have[i >> 3] |= 1 << (i & 7);
        }
      }
      // Stryker disable next-line EqualityOperator: assigning an equal value
      if (end > this.highest) this.highest = end;
    }
    if (rel === this.contig) this.advance(end);
  }

  /** The in-order prefix so far: a view, valid until the next add(). */
  contiguous(): Uint8Array {
    return this.data.subarray(0, this.contig);
  }

  private advance(from: number): void {
    let i = from;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: no bit at or past highest is ever set, so the bitmap alone stops the loop
    while (i < this.highest && this.have[i >> 3] & (1 << (i & 7))) i++;
    this.contig = i;
    this.gap = this.contig < this.highest;
  }

  private setBits(from: number, to: number): void {
    for (let i = from; i < to; i++) this.have[i >> 3] |= 1 << (i & 7);
  }

  private openGap(): void {
    this.gap = true;
    this.gapsOpened++;
    if (this.gapsOpened === 1) this.anomalies?.count('stream.gap');
  }

  private markOverflow(): void {
    this.droppedSegments++;
    if (!this.overflow) {
      this.overflow = true;
      this.anomalies?.count('stream.overflow');
    }
  }

  private ensureCapacity(end: number): void {
    if (end <= this.data.length) return;
    // Stryker disable next-line ArithmeticOperator: sizes are INITIAL_CAPACITY * 2^k (or maxBytes, never exceeded), so the loop reaches the same one from either start
    let size = Math.max(this.data.length * 2, INITIAL_CAPACITY);
    while (size < end) size *= 2;
    size = Math.min(size, this.maxBytes);
    // The bytes and their bitmap in one allocation: each new buffer costs more than its bytes
    // (every QUIC flow's CRYPTO stream makes at least one, names/quic.ts).
    const block = new Uint8Array(size + ((size + 7) >> 3));
    const data = block.subarray(0, size);
    data.set(this.data.subarray(0, this.highest));
    const have = block.subarray(size);
    have.set(this.have);
    this.data = data;
    this.have = have;
  }
}
