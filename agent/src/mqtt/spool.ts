// Store-and-forward spool for MQTT messages while the broker is away
// (DESIGN.md, "MQTT": alerts kept on disk and delivered in order afterwards).
// Format: spool-format.ts. Shape after append-only logs with segment files
// (Kafka's log segments, SQLite's WAL checksums), much smaller.
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
//   cursor is persisted with the next group commit, so after a crash a few
//   delivered records may come again (alerts carry an id for that).
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

import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import {
  CLASS_CODE,
  CLASS_OF,
  CURSOR_SLOT,
  CURSOR_SLOT_OFFSETS,
  checkSegmentHeader,
  decodeCursor,
  encodeCursor,
  encodeRecord,
  GROUP_OF_CLASS,
  Group,
  Parse,
  ParsedRecord,
  parseRecord,
  recordSize,
  resync,
  SEGMENT_HEADER,
  SEGMENT_NAME,
  type SpoolClass,
  segmentHeader,
  segmentName,
} from './spool-format.js';

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
/** Records and payload bytes peek() holds past the oldest undelivered record, per group. */
export const MAX_WINDOW_RECORDS = 8192;
export const MAX_WINDOW_BYTES = 8 * 1024 * 1024;
const READ_CHUNK = 256 * 1024;

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

interface Segment {
  path: string;
  group: number;
  firstSeq: number;
  /** Bytes in the file (records end here). */
  size: number;
  fd: number;
  dirty: boolean;
  /** Undelivered records by class code. */
  pending: number[];
  /** Damaged regions already counted: start offset → offset of the next valid record (or size). */
  bad: Map<number, number>;
}

interface Pos {
  seg: Segment;
  off: number;
}

interface WindowEntry {
  record: SpoolRecord;
  seg: Segment;
  off: number;
  acked: boolean;
}

class GroupState {
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

  constructor(readonly id: number) {}

  get active(): Segment | undefined {
    return this.segments[this.segments.length - 1];
  }
}

function unwritable(dir: string, what: string, err: unknown): EgressError {
  const e = err as NodeJS.ErrnoException;
  return new EgressError(ErrorCode.SPOOL_UNWRITABLE, `spool ${dir}: ${what}: ${e.code ?? ''} ${e.message}`.trim(), {
    file: dir,
  });
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
  private readonly groups = [new GroupState(Group.ALERT), new GroupState(Group.BULK)];
  private readonly segmentBytes: number;
  private readonly scratch = new ParsedRecord();
  private nextSeq = 1;
  private totalBytes = 0;
  private pendingCount = 0;
  private cursorFd = -1;
  private cursorGeneration = 0;
  private cursorDirty = false;
  private timer: NodeJS.Timeout | null = null;
  /** A background group commit is running; another is due when it ends. */
  private syncing = false;
  private syncAgain = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly options: SpoolOptions,
  ) {
    this.segmentBytes = Math.min(4 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 16)));
  }

  /** Open (creating) the spool in `dir`, recovering what a crash left. */
  static open(dir: string, options: Partial<SpoolOptions> = {}): Spool {
    const opts = { ...DEFAULT_SPOOL_OPTIONS, ...options };
    if (!(opts.maxBytes >= MIN_SPOOL_BYTES) || !(opts.syncIntervalMs >= 0)) {
      throw new RangeError(`spool maxBytes must be >= ${MIN_SPOOL_BYTES} and syncIntervalMs >= 0`);
    }
    const s = new Spool(dir, opts);
    s.lock();
    try {
      s.recover();
    } catch (err) {
      s.closeFiles();
      s.unlock();
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
      writeSync(this.fdOf(seg), rec, 0, rec.length, seg.size);
    } catch (err) {
      // Leave no partial record behind; the message is lost and counted.
      try {
        ftruncateSync(this.fdOf(seg), seg.size);
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
    this.scheduleSync();
    return seq;
  }

  /** Up to `max` undelivered records: the alert group (alerts, sessions) first, then flows and stats, each in order. */
  peek(max: number): SpoolRecord[] {
    this.checkOpen();
    const out: SpoolRecord[] = [];
    for (const g of this.groups) {
      if (out.length >= max) break;
      this.fill(g, max - out.length);
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
      const i = this.findInWindow(g, seq);
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
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.closed) return;
    for (const g of this.groups) {
      for (const s of g.segments) {
        if (s.dirty && s.fd >= 0) {
          fdatasyncSync(s.fd);
          s.dirty = false;
        }
      }
    }
    if (this.cursorDirty) this.writeCursor();
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    this.closeFiles();
    this.unlock();
  }

  // --- open and recovery ---

  private lock(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw unwritable(this.dir, 'cannot create the directory', err);
    }
    const path = join(this.dir, 'lock');
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {}
    if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
      throw new EgressError(ErrorCode.SPOOL_UNWRITABLE, `spool ${this.dir} is in use by process ${holder}`, {
        file: this.dir,
        pid: holder,
      });
    }
    try {
      writeFileSync(path, `${process.pid}\n`);
    } catch (err) {
      throw unwritable(this.dir, 'cannot write', err);
    }
  }

  private unlock(): void {
    try {
      unlinkSync(join(this.dir, 'lock'));
    } catch {}
  }

  private recover(): void {
    const cursorPath = join(this.dir, 'cursor');
    try {
      this.cursorFd = openSync(cursorPath, 'a+');
      closeSync(this.cursorFd);
      this.cursorFd = openSync(cursorPath, 'r+');
    } catch (err) {
      throw unwritable(this.dir, 'cannot open its cursor file', err);
    }
    const slots = CURSOR_SLOT_OFFSETS.map((off) => {
      const b = Buffer.alloc(CURSOR_SLOT);
      const n = readSync(this.cursorFd, b, 0, CURSOR_SLOT, off);
      return n === CURSOR_SLOT ? decodeCursor(b) : null;
    });
    const cursor = slots.reduce((a, b) => (b !== null && (a === null || b.generation > a.generation) ? b : a), null);
    if (cursor) {
      this.cursorGeneration = cursor.generation;
      this.groups[0].acked = cursor.acked[0];
      this.groups[1].acked = cursor.acked[1];
      this.nextSeq = Math.max(this.nextSeq, cursor.nextSeq);
    }
    const names = readdirSync(this.dir)
      .map((name) => ({ name, m: SEGMENT_NAME.exec(name) }))
      .filter((f) => f.m !== null)
      .map((f) => ({ name: f.name, group: f.m![1] === 'alert' ? Group.ALERT : Group.BULK, first: Number(f.m![2]) }))
      .sort((a, b) => a.first - b.first);
    for (const g of this.groups) {
      const files = names.filter((f) => f.group === g.id);
      files.forEach((f, i) => {
        this.scanSegment(g, join(this.dir, f.name), f.first, i === files.length - 1);
      });
      this.placeHead(g);
    }
    this.counters.recovered = this.pendingCount;
  }

  /** Read one segment at open: validate, count undelivered records, cut a torn tail. */
  private scanSegment(g: GroupState, path: string, firstSeq: number, newest: boolean): void {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (err) {
      throw unwritable(this.dir, `cannot read ${path}`, err);
    }
    const seg: Segment = {
      path,
      group: g.id,
      firstSeq,
      size: buf.length,
      fd: -1,
      dirty: false,
      pending: [0, 0, 0, 0],
      bad: new Map(),
    };
    const problem = checkSegmentHeader(buf, g.id);
    if (problem !== null) {
      if (newest && buf.length < SEGMENT_HEADER && buf.every((b) => b === 0)) {
        // Created just before a crash, header not yet on disk: start it again.
        seg.fd = this.openSegmentFile(path, 'w+');
        writeSync(seg.fd, segmentHeader(g.id), 0, SEGMENT_HEADER, 0);
        seg.size = SEGMENT_HEADER;
        g.segments.push(seg);
        this.totalBytes += seg.size;
        this.nextSeq = Math.max(this.nextSeq, firstSeq);
        return;
      }
      throw new EgressError(ErrorCode.SPOOL_CORRUPT, `spool segment ${path}: ${problem}`, { file: path, offset: 0 });
    }
    const r = this.scratch;
    let maxSeq = firstSeq - 1;
    let off = SEGMENT_HEADER;
    while (off < buf.length) {
      const res = parseRecord(buf, off, buf.length, r);
      if (res === Parse.OK) {
        if (r.seq > g.acked) {
          seg.pending[r.cls]++;
          this.pendingCount++;
        }
        maxSeq = Math.max(maxSeq, r.seq);
        off = r.next;
        continue;
      }
      const next = resync(buf, off + 1, buf.length, r);
      if (next < 0 && newest) {
        this.counters.torn++;
        seg.fd = this.openSegmentFile(path, 'r+');
        ftruncateSync(seg.fd, off);
        seg.size = off;
        seg.dirty = true;
        break;
      }
      this.counters.corrupt++;
      seg.bad.set(off, next < 0 ? buf.length : next);
      if (next < 0) break;
      off = next;
    }
    this.nextSeq = Math.max(this.nextSeq, maxSeq + 1, firstSeq);
    g.segments.push(seg);
    this.totalBytes += seg.size;
  }

  /** Head at the first undelivered record; segments wholly before it go. */
  private placeHead(g: GroupState): void {
    const first = g.segments.findIndex((s) => s.pending.some((n) => n > 0));
    if (first < 0) {
      const last = g.active;
      g.head = last ? { seg: last, off: last.size } : null;
      if (last) while (g.segments[0] !== last) this.removeSegment(g, g.segments[0]);
    } else {
      const seg = g.segments[first];
      g.head = { seg, off: this.firstUndelivered(seg, g.acked) };
      while (g.segments[0] !== seg) this.removeSegment(g, g.segments[0]);
    }
    g.read = g.head ? { ...g.head } : null;
  }

  private firstUndelivered(seg: Segment, acked: number): number {
    const buf = readFileSync(seg.path).subarray(0, seg.size);
    const r = this.scratch;
    let off = SEGMENT_HEADER;
    while (off < buf.length) {
      const bad = seg.bad.get(off);
      if (bad !== undefined) {
        off = bad;
        continue;
      }
      if (parseRecord(buf, off, buf.length, r) !== Parse.OK) break;
      if (r.seq > acked) return off;
      off = r.next;
    }
    return seg.size;
  }

  // --- reading, acking, dropping ---

  /** Read records into the window until it holds `want` undelivered ones, the file ends or a bound is hit. */
  private fill(g: GroupState, want: number): void {
    while (
      g.windowUnacked < want &&
      g.window.length - g.windowStart < MAX_WINDOW_RECORDS &&
      g.windowBytes < MAX_WINDOW_BYTES &&
      this.readMore(g)
    ) {}
  }

  private readMore(g: GroupState): boolean {
    const pos = g.read;
    if (pos === null) return false;
    this.normalize(g, pos);
    const seg = pos.seg;
    if (pos.off >= seg.size) return false;
    const bad = seg.bad.get(pos.off);
    if (bad !== undefined) {
      pos.off = bad;
      return true;
    }
    const fd = this.fdOf(seg);
    let len = Math.min(seg.size - pos.off, READ_CHUNK);
    let buf = Buffer.allocUnsafe(len);
    readSync(fd, buf, 0, len, pos.off);
    const r = this.scratch;
    let res = parseRecord(buf, 0, len, r);
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
      if (r.seq > g.acked) {
        g.window.push({ record, seg, off: pos.off + off, acked: false });
        g.windowBytes += record.payload.length;
        g.windowUnacked++;
      }
      off = r.next;
      if (g.window.length - g.windowStart >= MAX_WINDOW_RECORDS || g.windowBytes >= MAX_WINDOW_BYTES) break;
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

  private findInWindow(g: GroupState, seq: number): number {
    let lo = g.windowStart;
    let hi = g.window.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = g.window[mid].record.seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Move the head past delivered records; delete segments left wholly behind it. */
  private advance(g: GroupState): void {
    let moved = false;
    while (g.windowStart < g.window.length && g.window[g.windowStart].acked) {
      const e = g.window[g.windowStart++];
      g.windowBytes -= e.record.payload.length;
      g.acked = e.record.seq;
      moved = true;
    }
    if (!moved) return;
    this.cursorDirty = true;
    this.scheduleSync();
    if (g.windowStart === g.window.length) {
      g.window = [];
      g.windowStart = 0;
      g.head = { ...g.read! };
    } else {
      const e = g.window[g.windowStart];
      g.head = { seg: e.seg, off: e.off };
      if (g.windowStart > 1024 && g.windowStart * 2 > g.window.length) {
        g.window = g.window.slice(g.windowStart);
        g.windowStart = 0;
      }
    }
    this.normalize(g, g.head);
    while (g.segments[0] !== g.head.seg) this.removeSegment(g, g.segments[0]);
  }

  /** A position at the end of a segment that is not the newest moves to the start of the next. */
  private normalize(g: GroupState, pos: Pos): void {
    while (pos.off >= pos.seg.size && pos.seg !== g.active) {
      pos.seg = g.segments[g.segments.indexOf(pos.seg) + 1];
      pos.off = SEGMENT_HEADER;
    }
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
    const kept = g.window.slice(g.windowStart).filter((e) => e.seg !== seg);
    for (const e of g.window.slice(g.windowStart)) {
      if (e.seg === seg) {
        g.windowBytes -= e.record.payload.length;
        if (!e.acked) g.windowUnacked--;
        g.acked = Math.max(g.acked, e.record.seq);
      }
    }
    g.window = kept;
    g.windowStart = 0;
    const next = g.segments[g.segments.indexOf(seg) + 1];
    g.acked = Math.max(g.acked, next.firstSeq - 1);
    this.cursorDirty = true;
    if (g.head!.seg === seg)
      g.head = kept.length > 0 ? { seg: kept[0].seg, off: kept[0].off } : { seg: next, off: SEGMENT_HEADER };
    if (g.read!.seg === seg) g.read = { seg: next, off: SEGMENT_HEADER };
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
    if (old?.dirty && old.fd >= 0) {
      fdatasyncSync(old.fd);
      old.dirty = false;
    }
    const path = join(this.dir, segmentName(g.id, this.nextSeq));
    const seg: Segment = {
      path,
      group: g.id,
      firstSeq: this.nextSeq,
      size: SEGMENT_HEADER,
      fd: this.openSegmentFile(path, 'wx+'),
      dirty: true,
      pending: [0, 0, 0, 0],
      bad: new Map(),
    };
    try {
      writeSync(seg.fd, segmentHeader(g.id), 0, SEGMENT_HEADER, 0);
      this.syncDir();
    } catch (err) {
      throw unwritable(this.dir, `cannot write ${path}`, err);
    }
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
    if (seg.fd >= 0) closeSync(seg.fd);
    seg.fd = -1;
    this.totalBytes -= seg.size;
    try {
      unlinkSync(seg.path);
    } catch (err) {
      throw unwritable(this.dir, `cannot delete ${seg.path}`, err);
    }
  }

  private openSegmentFile(path: string, flags: string): number {
    try {
      return openSync(path, flags);
    } catch (err) {
      throw unwritable(this.dir, `cannot open ${path}`, err);
    }
  }

  private fdOf(seg: Segment): number {
    if (seg.fd < 0) seg.fd = this.openSegmentFile(seg.path, 'r+');
    return seg.fd;
  }

  /** A new file's name is durable only once its directory is synced. */
  private syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Write the cursor into the older of its two slots (not yet synced). */
  private writeCursorSlot(): void {
    this.cursorGeneration++;
    const slot = CURSOR_SLOT_OFFSETS[this.cursorGeneration % 2];
    const b = encodeCursor({
      generation: this.cursorGeneration,
      acked: [this.groups[0].acked, this.groups[1].acked],
      nextSeq: this.nextSeq,
    });
    writeSync(this.cursorFd, b, 0, b.length, slot);
    this.cursorDirty = false;
  }

  private writeCursor(): void {
    this.writeCursorSlot();
    fdatasyncSync(this.cursorFd);
  }

  /**
   * Group commit off the event loop: the fdatasyncs run on libuv's thread
   * pool, so a slow disk (an SD card takes 10-100 ms) never holds up capture
   * and publishing. Records are already written (they survive a crash of the
   * agent); this makes them survive a power cut too. One round at a time.
   */
  private syncInBackground(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    const fds: number[] = [];
    for (const g of this.groups) {
      for (const seg of g.segments) {
        if (seg.dirty && seg.fd >= 0) {
          fds.push(seg.fd);
          seg.dirty = false;
        }
      }
    }
    if (this.cursorDirty) {
      this.writeCursorSlot();
      fds.push(this.cursorFd);
    }
    if (fds.length === 0) return;
    this.syncing = true;
    let left = fds.length;
    for (const fd of fds) {
      fdatasync(fd, (err) => {
        // EBADF: the segment was dropped or fully delivered and closed meanwhile; nothing to keep.
        if (err && err.code !== 'EBADF') this.counters.sync_errors++;
        if (--left > 0) return;
        this.syncing = false;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.scheduleSync();
        }
      });
    }
  }

  private scheduleSync(): void {
    if (this.options.syncIntervalMs === 0) {
      this.sync();
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.syncInBackground();
    }, this.options.syncIntervalMs);
    this.timer.unref();
  }

  private closeFiles(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const g of this.groups) {
      for (const s of g.segments) {
        if (s.fd >= 0) closeSync(s.fd);
        s.fd = -1;
      }
    }
    if (this.cursorFd >= 0) closeSync(this.cursorFd);
    this.cursorFd = -1;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`spool ${this.dir} is closed`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
