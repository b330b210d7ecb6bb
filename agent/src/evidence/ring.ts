// The pre-trigger packet ring: the last N seconds / M bytes of packets, so
// that when a flow is flagged its earlier packets (the DNS query that named
// it, the handshake) can still be written out as evidence. One byte buffer
// allocated up front and index arrays of fixed size: a packet is copied in,
// nothing is allocated per packet, and the oldest packets are overwritten.

export interface PacketRingOptions {
  /** Packet bytes kept at most (default 8 MiB). */
  maxBytes?: number;
  /** Age kept at most, in seconds of capture time (default 30). */
  maxSeconds?: number;
  /** Packets kept at most (default maxBytes / 64). */
  maxPackets?: number;
}

export interface RingPacket {
  buf: Buffer;
  off: number;
  caplen: number;
  origLen: number;
  tsUs: number;
  linkType: number;
  flowId: number;
  /** A mark given at push time (the recorder: 1 for DNS packets). */
  mark: number;
}

export class PacketRing {
  readonly maxBytes: number;
  readonly maxUs: number;
  readonly maxPackets: number;
  private readonly data: Buffer;
  private readonly off: Int32Array;
  private readonly len: Int32Array;
  private readonly origLen: Int32Array;
  private readonly linkType: Int32Array;
  private readonly ts: Float64Array;
  private readonly flow: Float64Array;
  private readonly marks: Uint8Array;
  /** Index of the oldest packet, and how many are kept. */
  private head = 0;
  private count = 0;
  private writePos = 0;
  /** Packets that left the ring (overwritten or too old), and packets too big to keep. */
  readonly counters = { pushed: 0, evicted: 0, too_large: 0 };
  private readonly view: RingPacket;

  constructor(options: PacketRingOptions = {}) {
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.maxUs = (options.maxSeconds ?? 30) * 1e6;
    this.maxPackets = options.maxPackets ?? Math.max(16, Math.floor(this.maxBytes / 64));
    this.data = Buffer.alloc(this.maxBytes);
    this.off = new Int32Array(this.maxPackets);
    this.len = new Int32Array(this.maxPackets);
    this.origLen = new Int32Array(this.maxPackets);
    this.linkType = new Int32Array(this.maxPackets);
    this.ts = new Float64Array(this.maxPackets);
    this.flow = new Float64Array(this.maxPackets);
    this.marks = new Uint8Array(this.maxPackets);
    // Stryker disable next-line UnaryOperator: take() sets every field of the view before handing it out
    this.view = { buf: this.data, off: 0, caplen: 0, origLen: 0, tsUs: 0, linkType: 0, flowId: -1, mark: 0 };
  }

  get size(): number {
    return this.count;
  }

  push(
    buf: Buffer,
    off: number,
    caplen: number,
    origLen: number,
    tsUs: number,
    linkType: number,
    flowId: number,
    mark = 0,
  ): void {
    if (caplen > this.maxBytes) {
      this.counters.too_large++;
      return;
    }
    // Too old by capture time.
    while (this.count > 0 && this.ts[this.head] < tsUs - this.maxUs) this.evictOldest();
    if (this.count === this.maxPackets) this.evictOldest();
    let pos = this.writePos;
    if (pos + caplen > this.maxBytes) {
      // Wrap: everything stored past the old write position is older than anything at the start.
      // Stryker disable next-line ConditionalExpression: an empty ring writes at 0 and never wraps (caplen <= maxBytes)
      while (this.count > 0 && this.off[this.head] >= pos) this.evictOldest();
      pos = 0;
    }
    // Overwrite the oldest packets the new one lands on.
    while (this.count > 0 && this.overlaps(this.head, pos, caplen)) this.evictOldest();
    buf.copy(this.data, pos, off, off + caplen);
    const i = (this.head + this.count) % this.maxPackets;
    this.off[i] = pos;
    this.len[i] = caplen;
    this.origLen[i] = origLen;
    this.linkType[i] = linkType;
    this.ts[i] = tsUs;
    this.flow[i] = flowId;
    this.marks[i] = mark;
    this.count++;
    this.counters.pushed++;
    this.writePos = pos + caplen;
  }

  /**
   * Call `fn` for every kept packet (oldest first) that `pick` selects, and
   * forget those packets (each is written out once). The view passed to `fn`
   * is reused: valid only during the call.
   */
  take(pick: (p: RingPacket) => boolean, fn: (p: RingPacket) => void): number {
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.maxPackets;
      if (this.flow[i] === TAKEN) continue;
      const v = this.view;
      v.off = this.off[i];
      v.caplen = this.len[i];
      v.origLen = this.origLen[i];
      v.tsUs = this.ts[i];
      v.linkType = this.linkType[i];
      v.flowId = this.flow[i];
      v.mark = this.marks[i];
      if (!pick(v)) continue;
      fn(v);
      this.flow[i] = TAKEN;
      n++;
    }
    return n;
  }

  private overlaps(i: number, pos: number, len: number): boolean {
    const a = this.off[i];
    return a < pos + len && pos < a + this.len[i];
  }

  private evictOldest(): void {
    this.head = (this.head + 1) % this.maxPackets;
    this.count--;
    this.counters.evicted++;
    if (this.count === 0) this.writePos = 0;
  }
}

/** Flow id of a ring packet already written out. */
const TAKEN = -2;
