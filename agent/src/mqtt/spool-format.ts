// On-disk format of the store-and-forward spool (spool.ts). All integers
// little-endian; checksums are CRC-32 (ISO-HDLC, as zlib and gzip, RFC 1952
// §8) from node:zlib.
//
// Segment file `<group>-<first seq, 16 digits>.seg`:
//   header (16 bytes)  magic "EGSPOOL" 0x01 | u8 group (0 alert, 1 bulk) | 7 zero bytes
//   records, one after another:
//     u32 sync word 0x52534745 ("EGSR")  lets a reader find the next record after damage
//     u32 body length
//     u32 CRC-32 of the body
//     body: u32 seq low | u32 seq high | u8 class | u8 0 | u16 topic length | topic (UTF-8) | payload
//
// Cursor file `cursor`: two 64-byte slots at offsets 0 and 512, written in
// turn, so a write torn by power loss leaves the other slot intact:
//   magic "EGSPCUR" 0x01 | f64 generation | f64 alert acked | f64 bulk acked | f64 next seq | u32 CRC-32 of bytes 0-39

import { crc32 } from 'node:zlib';

export type SpoolClass = 'alert' | 'flow' | 'stats' | 'session';

export const CLASS_CODE: Record<SpoolClass, number> = { alert: 0, flow: 1, stats: 2, session: 3 };
export const CLASS_OF: readonly SpoolClass[] = ['alert', 'flow', 'stats', 'session'];

/** Class groups, one set of segment files each: alerts and sessions are kept longest, flows and stats dropped first. */
export const Group = { ALERT: 0, BULK: 1 } as const;
export const GROUP_NAMES = ['alert', 'bulk'] as const;
export const GROUP_OF_CLASS: readonly number[] = [Group.ALERT, Group.BULK, Group.BULK, Group.ALERT];

export const SEGMENT_MAGIC = Buffer.from('EGSPOOL\x01', 'latin1');
export const SEGMENT_HEADER = 16;
export const RECORD_SYNC = 0x52534745;
export const RECORD_HEADER = 12;
const BODY_FIXED = 12;
/** No payload the agent publishes comes near this; a longer body is damage. */
export const MAX_BODY = 16 * 1024 * 1024;

export const SEGMENT_NAME = /^(alert|bulk)-(\d{16})\.seg$/;

export function segmentName(group: number, firstSeq: number): string {
  return `${GROUP_NAMES[group]}-${String(firstSeq).padStart(16, '0')}.seg`;
}

export function segmentHeader(group: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER);
  SEGMENT_MAGIC.copy(h, 0);
  h[8] = group;
  return h;
}

/** null when the header is ours for `group`; else what is wrong with it. */
export function checkSegmentHeader(buf: Buffer, group: number): string | null {
  if (buf.length < SEGMENT_HEADER) return `shorter than its ${SEGMENT_HEADER}-byte header`;
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'not a spool segment of this format version (bad magic)';
  if (buf[8] !== group) return `header says group ${buf[8]}, its name says ${GROUP_NAMES[group]}`;
  return null;
}

export function recordSize(topicBytes: number, payloadBytes: number): number {
  return RECORD_HEADER + BODY_FIXED + topicBytes + payloadBytes;
}

export function encodeRecord(seq: number, cls: number, topic: string, payload: Uint8Array): Buffer {
  const topicLen = Buffer.byteLength(topic);
  const size = recordSize(topicLen, payload.length);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32LE(RECORD_SYNC, 0);
  b.writeUInt32LE(size - RECORD_HEADER, 4);
  b.writeUInt32LE(seq >>> 0, 12);
  b.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 16);
  b[20] = cls;
  b[21] = 0;
  b.writeUInt16LE(topicLen, 22);
  b.write(topic, 24, topicLen, 'utf8');
  b.set(payload, 24 + topicLen);
  b.writeUInt32LE(crc32(b.subarray(RECORD_HEADER)), 8);
  return b;
}

export const Parse = { OK: 0, SHORT: 1, BAD: 2 } as const;

/** One parsed record; fields valid after parseRecord returned Parse.OK. Reused by the caller. */
export class ParsedRecord {
  seq = 0;
  cls = 0;
  topicStart = 0;
  topicEnd = 0;
  payloadEnd = 0;
  /** Offset just past the record; for SHORT, the offset the record would end at (if its length was readable). */
  next = 0;
}

/** Parse the record at `off` in buf[0, end): OK, SHORT (cut by `end`) or BAD (damaged). */
export function parseRecord(buf: Buffer, off: number, end: number, out: ParsedRecord): number {
  if (end - off < RECORD_HEADER) {
    out.next = -1;
    return Parse.SHORT;
  }
  if (buf.readUInt32LE(off) !== RECORD_SYNC) return Parse.BAD;
  const bodyLen = buf.readUInt32LE(off + 4);
  if (bodyLen < BODY_FIXED || bodyLen > MAX_BODY) return Parse.BAD;
  const bodyStart = off + RECORD_HEADER;
  out.next = bodyStart + bodyLen;
  if (out.next > end) return Parse.SHORT;
  if (crc32(buf.subarray(bodyStart, out.next)) !== buf.readUInt32LE(off + 8)) return Parse.BAD;
  const cls = buf[bodyStart + 8];
  const topicLen = buf.readUInt16LE(bodyStart + 10);
  if (cls >= CLASS_OF.length || BODY_FIXED + topicLen > bodyLen) return Parse.BAD;
  out.seq = buf.readUInt32LE(bodyStart) + buf.readUInt32LE(bodyStart + 4) * 0x1_0000_0000;
  out.cls = cls;
  out.topicStart = bodyStart + BODY_FIXED;
  out.topicEnd = out.topicStart + topicLen;
  out.payloadEnd = out.next;
  return Parse.OK;
}

/** Offset of the next whole, valid record at or after `from`; -1 if none. */
export function resync(buf: Buffer, from: number, end: number, scratch: ParsedRecord): number {
  // Stryker disable next-line ArrayDeclaration: searching for nothing tries every offset; only whole records parse OK, so the answer is the same, slower
  const sync = Buffer.from([0x45, 0x47, 0x53, 0x52]);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a record starting at or past `end` is SHORT for parseRecord, never OK
  for (let i = buf.indexOf(sync, from); i >= 0 && i < end; i = buf.indexOf(sync, i + 1)) {
    if (parseRecord(buf, i, end, scratch) === Parse.OK) return i;
  }
  return -1;
}

export const CURSOR_SLOT = 64;
export const CURSOR_SLOT_OFFSETS = [0, 512] as const;
const CURSOR_MAGIC = Buffer.from('EGSPCUR\x01', 'latin1');

export interface CursorState {
  generation: number;
  acked: [number, number];
  nextSeq: number;
}

export function encodeCursor(c: CursorState): Buffer {
  const b = Buffer.alloc(CURSOR_SLOT);
  CURSOR_MAGIC.copy(b, 0);
  b.writeDoubleLE(c.generation, 8);
  b.writeDoubleLE(c.acked[0], 16);
  b.writeDoubleLE(c.acked[1], 24);
  b.writeDoubleLE(c.nextSeq, 32);
  b.writeUInt32LE(crc32(b.subarray(0, 40)), 40);
  return b;
}

/** A slot's state, or null when it is empty or damaged. */
export function decodeCursor(b: Buffer): CursorState | null {
  if (b.length < CURSOR_SLOT || !b.subarray(0, 8).equals(CURSOR_MAGIC)) return null;
  if (crc32(b.subarray(0, 40)) !== b.readUInt32LE(40)) return null;
  const n = (o: number) => b.readDoubleLE(o);
  const ok = (v: number) => Number.isSafeInteger(v) && v >= 0;
  const c: CursorState = { generation: n(8), acked: [n(16), n(24)], nextSeq: n(32) };
  return ok(c.generation) && ok(c.acked[0]) && ok(c.acked[1]) && ok(c.nextSeq) ? c : null;
}
