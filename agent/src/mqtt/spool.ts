// Store-and-forward spool for MQTT messages while the broker is away
// (DESIGN.md, "MQTT": alerts kept on disk and delivered in order afterwards).
// Format: spool-format.ts; the files: spool-files.ts; open after a crash:
// spool-recovery.ts; one class group and its read window: spool-window.ts;
// group commit (fsync batching): spool-commit.ts.
// Shape after append-only logs with segment files (Kafka's log segments,
// SQLite's WAL checksums), much smaller.
//
// Guarantees:
// - append() write()s the record before it returns: it survives a crash of
//   the agent (SIGKILL). fsync is batched (group commit): it survives power
//   loss once syncIntervalMs have passed, or after sync().
// - Order: two groups of segment files, "alert" (alerts and sessions) and
//   "bulk" (flows and stats). peek() gives the alert group first, then the
//   bulk group, each in append order, so every topic keeps its order (a
//   topic belongs to one class). Sequence numbers grow across restarts.
// - Bounded: the segment files never exceed maxBytes together. When an
//   append would pass it, whole segments are dropped, oldest first: bulk
//   (flows, stats) before any alert or session. Every undelivered record
//   dropped is counted under its class.
// - Delivery is at least once: ack(seq) marks a record delivered; the
//   cursor is written at once (a crash of the agent loses no ack, so only
//   what was in flight comes again) and fsynced with the next group commit
//   (after a power cut more delivered records may come again; alerts carry
//   an id for that).
// - Damage is never silent: a torn record at the end of the newest segment
//   of a group (a crash mid-write) is cut off and counted (`torn`); a
//   damaged record elsewhere is skipped and counted (`corrupt`); a file
//   that is not a spool segment of this version stops open() with
//   EGRESS_SPOOL_CORRUPT; a directory that cannot be written, or that another
//   live process holds, with EGRESS_SPOOL_UNWRITABLE.
//
// Use by a publisher: peek(n) gives the oldest undelivered records (the same
// ones again until they are acked); publish those not yet in flight; ack
// each on PUBACK. Memory is bounded: peek reads from disk and holds at most
// MAX_WINDOW_RECORDS / MAX_WINDOW_BYTES records past the oldest undelivered one.

import { ftruncateSync, writeSync } from 'node:fs';
import { GroupCommit } from './spool-commit.js';
import {
  CursorFile,
  closeSegment,
  createSegment,
  deleteSegmentFile,
  type Segment,
  segmentFd,
  syncSegment,
  unwritable,
} from './spool-files.js';
import {
  CLASS_CODE,
  CLASS_OF,
  encodeRecord,
  GROUP_OF_CLASS,
  Group,
  recordSize,
  SEGMENT_HEADER,
  type SpoolClass,
} from './spool-format.js';
import { listSegments, lockSpool, recoverGroup, unlockSpool } from './spool-recovery.js';
import { GroupState } from './spool-window.js';

export { MAX_WINDOW_BYTES, MAX_WINDOW_RECORDS } from './spool-window.js';
export type { SpoolClass };

export interface SpoolRecord {
  seq: number;
  cls: SpoolClass;
  topic: string;
  payload: Buffer;
}

export interface SpoolOptions {
  /** Bound on the segment files together (default 64 MiB). */
  maxBytes: number;
  /** Group commit: fsync at most this long after an append or ack (default 20 ms; 0: fsync at every append and ack). */
  syncIntervalMs: number;
}

export const DEFAULT_SPOOL_OPTIONS: SpoolOptions = { maxBytes: 64 * 1024 * 1024, syncIntervalMs: 20 };
/** Smallest maxBytes accepted: room for a few segments. */
export const MIN_SPOOL_BYTES = 256 * 1024;

export interface SpoolCounters {
  appended: number;
  delivered: number;
  dropped_alert: number;
  dropped_flow: number;
  dropped_stats: number;
  dropped_session: number;
  /** Undelivered records found by open(). */
  recovered: number;
  /** Records cut off at the end of a segment by a crash mid-write. */
  torn: number;
  /** Damaged regions skipped (each may have held one or more records). */
  corrupt: number;
  /** Failed background fsyncs (the records are written; durability across power loss is in doubt). */
  sync_errors: number;
}

export class Spool {
  readonly counters: SpoolCounters = {
    appended: 0,
    delivered: 0,
    dropped_alert: 0,
    dropped_flow: 0,
    dropped_stats: 0,
    dropped_session: 0,
    recovered: 0,
    torn: 0,
    corrupt: 0,
    sync_errors: 0,
  };
  private readonly groups: GroupState[];
  private readonly segmentBytes: number;
  private readonly cursor: CursorFile;
  private nextSeq = 1;
  private totalBytes = 0;
  private pendingCount = 0;
  private readonly commit: GroupCommit;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly options: SpoolOptions,
  ) {
    this.segmentBytes = Math.min(4 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 16)));
    this.groups = [new GroupState(Group.ALERT, dir, this.counters), new GroupState(Group.BULK, dir, this.counters)];
    this.cursor = new CursorFile(dir);
    this.commit = new GroupCommit(this.groups, this.cursor, options.syncIntervalMs, this.counters, () => this.nextSeq);
  }

  /** Open (creating) the spool in `dir`, recovering what a crash left. */
  static open(dir: string, options: Partial<SpoolOptions> = {}): Spool {
    const opts = { ...DEFAULT_SPOOL_OPTIONS, ...options };
    if (!(opts.maxBytes >= MIN_SPOOL_BYTES) || !(opts.syncIntervalMs >= 0)) {
      throw new RangeError(`spool maxBytes must be >= ${MIN_SPOOL_BYTES} and syncIntervalMs >= 0`);
    }
    const s = new Spool(dir, opts);
    lockSpool(dir);
    try {
      s.recover();
    } catch (err) {
      s.closeFiles();
      unlockSpool(dir);
      throw err;
    }
    return s;
  }

  /** Undelivered records. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Bytes of the segment files. */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Spool one message; returns its sequence number, or -1 when the record
   * alone is larger than a segment (counted as dropped, never stored).
   */
  append(cls: SpoolClass, topic: string, payload: Buffer): number {
    this.checkOpen();
    const code = CLASS_CODE[cls];
    const size = recordSize(Buffer.byteLength(topic), payload.length);
    if (size > this.segmentBytes - SEGMENT_HEADER) {
      this.countDropped(code, 1);
      return -1;
    }
    const g = this.groups[GROUP_OF_CLASS[code]];
    const rotating = g.active === undefined || g.active.size + size > this.segmentBytes;
    const need = size + (rotating ? SEGMENT_HEADER : 0);
    while (this.totalBytes + need > this.options.maxBytes && this.dropOldest()) {}
    let seg = g.active;
    if (seg === undefined || seg.size + size > this.segmentBytes) seg = this.rotate(g);
    const seq = this.nextSeq++;
    const rec = encodeRecord(seq, code, topic, payload);
    try {
      writeSync(segmentFd(this.dir, seg), rec, 0, rec.length, seg.size);
    } catch (err) {
      // Leave no partial record behind; the message is lost and counted.
      try {
        ftruncateSync(segmentFd(this.dir, seg), seg.size);
      } catch {}
      this.countDropped(code, 1);
      throw unwritable(this.dir, `cannot append to ${seg.path}`, err);
    }
    seg.size += rec.length;
    seg.pending[code]++;
    seg.dirty = true;
    this.totalBytes += rec.length;
    this.pendingCount++;
    this.counters.appended++;
    this.commit.schedule();
    return seq;
  }

  /** Up to `max` undelivered records: the alert group (alerts, sessions) first, then flows and stats, each in order. */
  peek(max: number): SpoolRecord[] {
    this.checkOpen();
    const out: SpoolRecord[] = [];
    for (const g of this.groups) {
      if (out.length >= max) break;
      g.fill(max - out.length);
      for (let i = g.windowStart; i < g.window.length && out.length < max; i++) {
        if (!g.window[i].acked) out.push(g.window[i].record);
      }
    }
    return out;
  }

  /** Mark a record peek() returned as delivered. Unknown or repeated sequence numbers are ignored. */
  ack(seq: number): void {
    this.checkOpen();
    for (const g of this.groups) {
      const i = g.find(seq);
      if (i < 0) continue;
      const e = g.window[i];
      if (e.acked) return;
      e.acked = true;
      e.seg.pending[CLASS_CODE[e.record.cls]]--;
      g.windowUnacked--;
      this.pendingCount--;
      this.counters.delivered++;
      this.advance(g);
      return;
    }
  }

  /** fsync what was written since the last sync, and persist the delivery cursor. */
  sync(): void {
    this.commit.syncNow();
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    this.closeFiles();
    unlockSpool(this.dir);
  }

  private recover(): void {
    const saved = this.cursor.open();
    if (saved) {
      this.groups[0].acked = saved.acked[0];
      this.groups[1].acked = saved.acked[1];
      this.nextSeq = Math.max(this.nextSeq, saved.nextSeq);
    }
    const files = listSegments(this.dir);
    for (const g of this.groups) {
      const own = files.filter((f) => f.group === g.id);
      const found = recoverGroup(this.dir, g, own, this.counters);
      this.nextSeq = Math.max(this.nextSeq, found.nextSeq);
      this.totalBytes += found.bytes;
      this.pendingCount += found.pending;
    }
    this.counters.recovered = this.pendingCount;
  }

  // --- acking and dropping ---

  /** Move the head past delivered records; delete segments left wholly behind it. */
  private advance(g: GroupState): void {
    if (!g.takeAcked()) return;
    this.commit.cursorMoved();
    g.moveHead();
    while (g.segments[0] !== g.head!.seg) this.removeSegment(g, g.segments[0]);
  }

  /** Drop the oldest segment holding data, flows and stats before alerts; false when nothing is left to drop. */
  private dropOldest(): boolean {
    for (const id of [Group.BULK, Group.ALERT]) {
      const g = this.groups[id];
      const oldest = g.segments[0];
      if (oldest === undefined || oldest.size <= SEGMENT_HEADER) continue;
      if (oldest === g.active) this.rotate(g);
      this.dropSegment(g, oldest);
      return true;
    }
    return false;
  }

  private dropSegment(g: GroupState, seg: Segment): void {
    seg.pending.forEach((n, code) => {
      this.countDropped(code, n);
      this.pendingCount -= n;
    });
    g.forget(seg);
    this.cursor.dirty = true;
    this.removeSegment(g, seg);
    // Records acked out of order may now lead the window.
    this.advance(g);
  }

  private countDropped(code: number, n: number): void {
    if (n === 0) return;
    const key = `dropped_${CLASS_OF[code]}` as const;
    this.counters[key] += n;
  }

  // --- files ---

  /** Start a new newest segment for the group (the old one is synced first). */
  private rotate(g: GroupState): Segment {
    const old = g.active;
    if (old) syncSegment(old);
    const seg = createSegment(this.dir, g.id, this.nextSeq);
    g.segments.push(seg);
    this.totalBytes += SEGMENT_HEADER;
    if (g.head === null) {
      g.head = { seg, off: SEGMENT_HEADER };
      g.read = { seg, off: SEGMENT_HEADER };
    }
    return seg;
  }

  private removeSegment(g: GroupState, seg: Segment): void {
    g.segments.splice(g.segments.indexOf(seg), 1);
    closeSegment(seg);
    this.totalBytes -= seg.size;
    deleteSegmentFile(this.dir, seg);
  }

  private closeFiles(): void {
    this.commit.stop();
    for (const g of this.groups) {
      for (const s of g.segments) closeSegment(s);
    }
    this.cursor.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`spool ${this.dir} is closed`);
  }
}
