// Files of the store-and-forward spool (spool.ts): segment files and the
// delivery cursor, opened, created, synced and removed. Their contents are in
// spool-format.ts. Every failure to use the directory is EGRESS_SPOOL_UNWRITABLE.

import { closeSync, fdatasyncSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EgressError, ErrorCode } from '../errors.js';
import {
  CURSOR_SLOT,
  CURSOR_SLOT_OFFSETS,
  type CursorState,
  decodeCursor,
  encodeCursor,
  SEGMENT_HEADER,
  segmentHeader,
  segmentName,
} from './spool-format.js';

export interface Segment {
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

/** Mode of every file the spool creates (its directory is 0700). */
export const SPOOL_FILE_MODE = 0o600;
export const SPOOL_DIR_MODE = 0o700;

export function unwritable(dir: string, what: string, err: unknown): EgressError {
  const e = err as NodeJS.ErrnoException;
  return new EgressError(ErrorCode.SPOOL_UNWRITABLE, `spool ${dir}: ${what}: ${e.code ?? ''} ${e.message}`.trim(), {
    file: dir,
  });
}

export function openSegmentFile(dir: string, path: string, flags: string): number {
  try {
    // 0600: the spool holds alerts; nobody else on the host reads them (issue 12).
    return openSync(path, flags, SPOOL_FILE_MODE);
  } catch (err) {
    throw unwritable(dir, `cannot open ${path}`, err);
  }
}

/** The segment's descriptor, opening the file on first use (segments found at open stay closed until read). */
export function segmentFd(dir: string, seg: Segment): number {
  if (seg.fd < 0) seg.fd = openSegmentFile(dir, seg.path, 'r+');
  return seg.fd;
}

/** Create the file of a new segment holding only its header; its name is made durable. */
export function createSegment(dir: string, group: number, firstSeq: number): Segment {
  const path = join(dir, segmentName(group, firstSeq));
  const seg: Segment = {
    path,
    group,
    firstSeq,
    size: SEGMENT_HEADER,
    fd: openSegmentFile(dir, path, 'wx+'),
    dirty: true,
    pending: [0, 0, 0, 0],
    bad: new Map(),
  };
  try {
    writeSync(seg.fd, segmentHeader(group), 0, SEGMENT_HEADER, 0);
    syncDir(dir);
  } catch (err) {
    throw unwritable(dir, `cannot write ${path}`, err);
  }
  return seg;
}

/** fdatasync what was written to the segment since its last sync. */
export function syncSegment(seg: Segment): void {
  if (seg.dirty && seg.fd >= 0) {
    fdatasyncSync(seg.fd);
    seg.dirty = false;
  }
}

export function closeSegment(seg: Segment): void {
  if (seg.fd >= 0) closeSync(seg.fd);
  seg.fd = -1;
}

export function deleteSegmentFile(dir: string, seg: Segment): void {
  try {
    unlinkSync(seg.path);
  } catch (err) {
    throw unwritable(dir, `cannot delete ${seg.path}`, err);
  }
}

/** A new file's name is durable only once its directory is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The delivery cursor file `cursor`: two slots written in turn, the one with the higher generation counts. */
export class CursorFile {
  fd = -1;
  generation = 0;
  /** Acks or drops not yet written. */
  dirty = false;
  /** Written since the last fdatasync. */
  unsynced = false;

  constructor(readonly dir: string) {}

  /** Open (creating) the file; the newest intact slot, or null when there is none. */
  open(): CursorState | null {
    const path = join(this.dir, 'cursor');
    try {
      this.fd = openSync(path, 'a+', SPOOL_FILE_MODE);
      closeSync(this.fd);
      this.fd = openSync(path, 'r+');
    } catch (err) {
      throw unwritable(this.dir, 'cannot open its cursor file', err);
    }
    const slots = CURSOR_SLOT_OFFSETS.map((off) => {
      const b = Buffer.alloc(CURSOR_SLOT);
      const n = readSync(this.fd, b, 0, CURSOR_SLOT, off);
      return n === CURSOR_SLOT ? decodeCursor(b) : null;
    });
    const cursor = slots.reduce((a, b) => (b !== null && (a === null || b.generation > a.generation) ? b : a), null);
    if (cursor) this.generation = cursor.generation;
    return cursor;
  }

  /** Write the cursor into the older of the two slots (not yet synced). */
  writeSlot(acked: [number, number], nextSeq: number): void {
    this.generation++;
    const slot = CURSOR_SLOT_OFFSETS[this.generation % 2];
    const b = encodeCursor({ generation: this.generation, acked, nextSeq });
    writeSync(this.fd, b, 0, b.length, slot);
    this.dirty = false;
    this.unsynced = true;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
