// Opening the store-and-forward spool (spool.ts) after a stop or a crash: the
// pid lock on its directory, and the scan of the segment files left there.
// A torn record at the end of the newest segment of a group (a crash
// mid-write) is cut off and counted (`torn`); a damaged record elsewhere is
// remembered, to be skipped, and counted (`corrupt`); a file that is not a
// segment of this format version stops open() with EGRESS_SPOOL_CORRUPT.

import {
  chmodSync,
  ftruncateSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import type { SpoolCounters } from './spool.js';
import {
  closeSegment,
  deleteSegmentFile,
  openSegmentFile,
  type Segment,
  SPOOL_DIR_MODE,
  SPOOL_FILE_MODE,
  unwritable,
} from './spool-files.js';
import {
  checkSegmentHeader,
  Group,
  Parse,
  ParsedRecord,
  parseRecord,
  resync,
  SEGMENT_HEADER,
  SEGMENT_NAME,
  segmentHeader,
} from './spool-format.js';
import type { GroupState } from './spool-window.js';

/** Take the directory (creating it) for this process; another live process holding it is an error. */
export function lockSpool(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: SPOOL_DIR_MODE });
    // A directory made by an older version (0755) is closed on every start; its files too.
    chmodSync(dir, SPOOL_DIR_MODE);
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isFile()) chmodSync(join(dir, e.name), SPOOL_FILE_MODE);
  } catch (err) {
    throw unwritable(dir, 'cannot create the directory', err);
  }
  const path = join(dir, 'lock');
  let holder = Number.NaN;
  try {
    holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {}
  if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
    throw new EgressError(ErrorCode.SPOOL_UNWRITABLE, `spool ${dir} is in use by process ${holder}`, {
      file: dir,
      pid: holder,
    });
  }
  try {
    writeFileSync(path, `${process.pid}\n`, { mode: SPOOL_FILE_MODE });
  } catch (err) {
    throw unwritable(dir, 'cannot write', err);
  }
}

export function unlockSpool(dir: string): void {
  try {
    unlinkSync(join(dir, 'lock'));
  } catch {}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SegmentFile {
  name: string;
  group: number;
  first: number;
}

/** The segment files in the directory, oldest first. */
export function listSegments(dir: string): SegmentFile[] {
  const found = readdirSync(dir)
    .map((name) => ({ name, m: SEGMENT_NAME.exec(name) }))
    .filter((f) => f.m !== null)
    .map((f) => ({ name: f.name, group: f.m![1] === 'alert' ? Group.ALERT : Group.BULK, first: Number(f.m![2]) }));
  // Stryker disable next-line MethodExpression,ArithmeticOperator: Node's readdir (libuv scandir) already lists names sorted, and a group's names differ only in zero-padded sequence numbers
  return found.sort((a, b) => a.first - b.first);
}

export interface RecoveredGroup {
  /** Lowest sequence number not seen in the group's files. */
  nextSeq: number;
  /** Bytes of the segment files kept. */
  bytes: number;
  /** Undelivered records. */
  pending: number;
}

/**
 * Load the group's segment files (oldest first; `g.acked` already read from
 * the cursor) and place its head at the first undelivered record. Segments
 * wholly before the head are deleted.
 */
export function recoverGroup(
  dir: string,
  g: GroupState,
  files: SegmentFile[],
  counters: SpoolCounters,
): RecoveredGroup {
  const scratch = new ParsedRecord();
  let nextSeq = 0;
  files.forEach((f, i) => {
    const seq = scanSegment(dir, g, join(dir, f.name), f.first, i === files.length - 1, counters, scratch);
    nextSeq = Math.max(nextSeq, seq);
  });
  placeHead(dir, g, scratch);
  let bytes = 0;
  let pending = 0;
  for (const seg of g.segments) {
    bytes += seg.size;
    for (const n of seg.pending) pending += n;
  }
  return { nextSeq, bytes, pending };
}

/**
 * Read one segment: validate, count undelivered records, cut a torn tail.
 * Adds it to the group; returns the sequence number after its last record.
 */
function scanSegment(
  dir: string,
  g: GroupState,
  path: string,
  firstSeq: number,
  newest: boolean,
  counters: SpoolCounters,
  r: ParsedRecord,
): number {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw unwritable(dir, `cannot read ${path}`, err);
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
      seg.fd = openSegmentFile(dir, path, 'w+');
      writeSync(seg.fd, segmentHeader(g.id), 0, SEGMENT_HEADER, 0);
      seg.size = SEGMENT_HEADER;
      g.segments.push(seg);
      return firstSeq;
    }
    throw new EgressError(ErrorCode.SPOOL_CORRUPT, `spool segment ${path}: ${problem}`, { file: path, offset: 0 });
  }
  let maxSeq = firstSeq - 1;
  let off = SEGMENT_HEADER;
  while (off < buf.length) {
    const res = parseRecord(buf, off, buf.length, r);
    if (res === Parse.OK) {
      if (r.seq > g.acked) seg.pending[r.cls]++;
      maxSeq = Math.max(maxSeq, r.seq);
      off = r.next;
      continue;
    }
    // Stryker disable next-line ArithmeticOperator: the record at `off` did not parse, so a search from off - 1 finds the same next record
    const next = resync(buf, off + 1, buf.length, r);
    if (next < 0 && newest) {
      counters.torn++;
      seg.fd = openSegmentFile(dir, path, 'r+');
      ftruncateSync(seg.fd, off);
      seg.size = off;
      seg.dirty = true;
      break;
    }
    counters.corrupt++;
    seg.bad.set(off, next < 0 ? buf.length : next);
    if (next < 0) break;
    off = next;
  }
  g.segments.push(seg);
  return Math.max(maxSeq + 1, firstSeq);
}

/** Head at the first undelivered record; segments wholly before it go. */
function placeHead(dir: string, g: GroupState, r: ParsedRecord): void {
  const first = g.segments.findIndex((s) => s.pending.some((n) => n > 0));
  if (first < 0) {
    const last = g.active;
    g.head = last ? { seg: last, off: last.size } : null;
    if (last) while (g.segments[0] !== last) removeSegment(dir, g, g.segments[0]);
  } else {
    const seg = g.segments[first];
    g.head = { seg, off: firstUndelivered(seg, g.acked, r) };
    while (g.segments[0] !== seg) removeSegment(dir, g, g.segments[0]);
  }
  g.read = g.head ? { ...g.head } : null;
}

function removeSegment(dir: string, g: GroupState, seg: Segment): void {
  g.segments.splice(g.segments.indexOf(seg), 1);
  closeSegment(seg);
  deleteSegmentFile(dir, seg);
}

function firstUndelivered(seg: Segment, acked: number, r: ParsedRecord): number {
  const buf = readFileSync(seg.path).subarray(0, seg.size);
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
