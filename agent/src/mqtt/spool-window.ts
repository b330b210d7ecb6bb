// One class group of the store-and-forward spool (spool.ts): its segment
// files and the read window peek() serves from. The window holds the records
// read from the oldest undelivered one on, bounded by MAX_WINDOW_RECORDS and
// MAX_WINDOW_BYTES; records are read from disk, so memory does not grow with
// the backlog. Record format: spool-format.ts.

import { readSync } from 'node:fs';
import type { SpoolCounters, SpoolRecord } from './spool.js';
import { type Segment, segmentFd } from './spool-files.js';
import { CLASS_OF, Parse, ParsedRecord, parseRecord, resync, SEGMENT_HEADER } from './spool-format.js';

/** Records and payload bytes peek() holds past the oldest undelivered record, per group. */
export const MAX_WINDOW_RECORDS = 8192;
export const MAX_WINDOW_BYTES = 8 * 1024 * 1024;
const READ_CHUNK = 256 * 1024;

export interface Pos {
  seg: Segment;
  off: number;
}

interface WindowEntry {
  record: SpoolRecord;
  seg: Segment;
  off: number;
  acked: boolean;
}

export class GroupState {
  segments: Segment[] = [];
  /** Every record of the group with seq <= acked is delivered or dropped. */
  acked = 0;
  /** The oldest undelivered record (or where the next one will be). */
  head: Pos | null = null;
  /** Where the window ends: the next record peek() reads. */
  read: Pos | null = null;
  /** Records read from `head` on, in order. */
  window: WindowEntry[] = [];
  windowStart = 0;
  windowBytes = 0;
  windowUnacked = 0;
  private readonly scratch = new ParsedRecord();

  /** `counters.corrupt` counts damage found while reading. */
  constructor(
    readonly id: number,
    private readonly dir: string,
    private readonly counters: SpoolCounters,
  ) {}

  get active(): Segment | undefined {
    return this.segments[this.segments.length - 1];
  }

  /** Read records into the window until it holds `want` undelivered ones, the file ends or a bound is hit. */
  fill(want: number): void {
    while (
      this.windowUnacked < want &&
      this.window.length - this.windowStart < MAX_WINDOW_RECORDS &&
      this.windowBytes < MAX_WINDOW_BYTES &&
      this.readMore()
    ) {}
  }

  /** Index of the window entry for `seq`, or -1. */
  find(seq: number): number {
    let lo = this.windowStart;
    let hi = this.window.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.window[mid].record.seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Take delivered records off the start of the window, raising `acked`; false when there were none. */
  takeAcked(): boolean {
    let moved = false;
    while (this.windowStart < this.window.length && this.window[this.windowStart].acked) {
      const e = this.window[this.windowStart++];
      this.windowBytes -= e.record.payload.length;
      this.acked = e.record.seq;
      moved = true;
    }
    return moved;
  }

  /** After takeAcked(): the head moves to the oldest undelivered record (segments before it are left behind). */
  moveHead(): void {
    if (this.windowStart === this.window.length) {
      this.window = [];
      this.windowStart = 0;
      this.head = { ...this.read! };
    } else {
      const e = this.window[this.windowStart];
      this.head = { seg: e.seg, off: e.off };
      // Stryker disable next-line all: compaction only frees memory; the window's records and their order are the same either way
      if (this.windowStart > 1024 && this.windowStart * 2 > this.window.length) {
        this.window = this.window.slice(this.windowStart);
        this.windowStart = 0;
      }
    }
    this.normalize(this.head);
  }

  /** Take the records of `seg`, about to be dropped, out of the window; head and read move past it. */
  forget(seg: Segment): void {
    const kept = this.window.slice(this.windowStart).filter((e) => e.seg !== seg);
    for (const e of this.window.slice(this.windowStart)) {
      if (e.seg === seg) {
        this.windowBytes -= e.record.payload.length;
        if (!e.acked) this.windowUnacked--;
        // Stryker disable next-line MethodExpression: the line after the loop raises acked to the next segment's first seq - 1, past every record of seg
        this.acked = Math.max(this.acked, e.record.seq);
      }
    }
    this.window = kept;
    this.windowStart = 0;
    const next = this.segments[this.segments.indexOf(seg) + 1];
    this.acked = Math.max(this.acked, next.firstSeq - 1);
    if (this.head!.seg === seg)
      this.head = kept.length > 0 ? { seg: kept[0].seg, off: kept[0].off } : { seg: next, off: SEGMENT_HEADER };
    if (this.read!.seg === seg) this.read = { seg: next, off: SEGMENT_HEADER };
  }

  /** A position at the end of a segment that is not the newest moves to the start of the next. */
  normalize(pos: Pos): void {
    while (pos.off >= pos.seg.size && pos.seg !== this.active) {
      pos.seg = this.segments[this.segments.indexOf(pos.seg) + 1];
      pos.off = SEGMENT_HEADER;
    }
  }

  private readMore(): boolean {
    const pos = this.read;
    if (pos === null) return false;
    this.normalize(pos);
    const seg = pos.seg;
    if (pos.off >= seg.size) return false;
    const bad = seg.bad.get(pos.off);
    // Stryker disable next-line BlockStatement: without the shortcut the read below parses the region as damage and finds it in seg.bad all the same
    if (bad !== undefined) {
      pos.off = bad;
      return true;
    }
    const fd = segmentFd(this.dir, seg);
    let len = Math.min(seg.size - pos.off, READ_CHUNK);
    let buf = Buffer.allocUnsafe(len);
    readSync(fd, buf, 0, len, pos.off);
    const r = this.scratch;
    let res = parseRecord(buf, 0, len, r);
    // Stryker disable next-line ConditionalExpression,LogicalOperator,ArithmeticOperator: a needless re-read of the record at pos.off parses the same; the damage path reads the rest itself
    if (res === Parse.SHORT && r.next > 0 && pos.off + r.next <= seg.size) {
      // One record longer than a chunk.
      len = r.next;
      buf = Buffer.allocUnsafe(len);
      readSync(fd, buf, 0, len, pos.off);
      res = parseRecord(buf, 0, len, r);
    }
    let off = 0;
    while (res === Parse.OK) {
      const record: SpoolRecord = {
        seq: r.seq,
        cls: CLASS_OF[r.cls],
        topic: buf.toString('utf8', r.topicStart, r.topicEnd),
        payload: Buffer.from(buf.subarray(r.topicEnd, r.payloadEnd)),
      };
      if (r.seq > this.acked) {
        // Stryker disable next-line ArithmeticOperator: an entry's offset only places the head, whose offset is read only to see whether it passed its segment's end, which a record's start never has
        this.window.push({ record, seg, off: pos.off + off, acked: false });
        this.windowBytes += record.payload.length;
        this.windowUnacked++;
      }
      off = r.next;
      // Stryker disable next-line ArithmeticOperator: counting the taken entries only ends this chunk early; fill() checks the same bound without them and reads on
      if (this.window.length - this.windowStart >= MAX_WINDOW_RECORDS || this.windowBytes >= MAX_WINDOW_BYTES) break;
      res = parseRecord(buf, off, len, r);
    }
    if (res === Parse.BAD || (off === 0 && res === Parse.SHORT)) {
      // Damaged since open (or never seen): skip to the next valid record, count it once.
      const start = pos.off + off;
      const known = seg.bad.get(start);
      if (known !== undefined) {
        pos.off = known;
        return true;
      }
      const rest = Buffer.allocUnsafe(seg.size - start);
      readSync(fd, rest, 0, rest.length, start);
      const next = resync(rest, 1, rest.length, r);
      const end = next < 0 ? seg.size : start + next;
      seg.bad.set(start, end);
      this.counters.corrupt++;
      pos.off = end;
      return true;
    }
    pos.off += off;
    return true;
  }
}
