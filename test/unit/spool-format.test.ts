// The spool's on-disk format (agent/src/mqtt/spool-format.ts), record by
// record and byte by byte: round trips at the edges of every field, each way
// a record can be cut or damaged and what the parser must answer (SHORT, to
// wait for more, or BAD, to skip), resynchronisation after damage, and the
// cursor slot that must refuse anything it did not write.

import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CLASS_OF,
  checkSegmentHeader,
  decodeCursor,
  encodeCursor,
  encodeRecord,
  MAX_BODY,
  ParsedRecord,
  parseRecord,
  RECORD_HEADER,
  RECORD_SYNC,
  recordSize,
  resync,
  SEGMENT_HEADER,
  SEGMENT_NAME,
  segmentHeader,
  segmentName,
} from '../../agent/src/mqtt/spool-format.js';

const PARSE = ['OK', 'SHORT', 'BAD'];

function parse(buf: Buffer, off = 0, end = buf.length) {
  const r = new ParsedRecord();
  const res = PARSE[parseRecord(buf, off, end, r)];
  if (res !== 'OK') return { res, next: r.next };
  return {
    res,
    seq: r.seq,
    cls: CLASS_OF[r.cls],
    topic: buf.toString('utf8', r.topicStart, r.topicEnd),
    payload: buf.subarray(r.topicEnd, r.payloadEnd).toString('hex'),
    next: r.next,
  };
}

/** The record with its CRC made right again after an edit (damage the CRC would not catch). */
function recrc(b: Buffer): Buffer {
  b.writeUInt32LE(crc32(b.subarray(RECORD_HEADER)), 8);
  return b;
}

describe('spool records', () => {
  const ROUND: [number, number, string, string][] = [
    [0, 0, 'egress/v1/gw/alert', ''],
    [1, 1, 'egress/v1/gw/flow', '00ff'],
    [2 ** 32 - 1, 2, 'egress/v1/gw/stats', 'abcdef'],
    [2 ** 32, 3, 'egress/v1/gw/session', '01'],
    [2 ** 32 + 5, 0, 'égress/v1/ȝ/alert', '0102030405'],
    [Number.MAX_SAFE_INTEGER, 3, '', 'ff'],
  ];
  it.each(ROUND)('reads back seq %d, class %d, topic "%s", payload %s', (seq, cls, topic, hex) => {
    const payload = Buffer.from(hex, 'hex');
    const b = encodeRecord(seq, cls, topic, payload);
    expect(b.length).toBe(recordSize(Buffer.byteLength(topic), payload.length));
    expect(b.readUInt32LE(0)).toBe(RECORD_SYNC);
    expect(b.subarray(0, 4).toString('latin1')).toBe('EGSR');
    expect(parse(b)).toEqual({ res: 'OK', seq, cls: CLASS_OF[cls], topic, payload: hex, next: b.length });
  });

  it('sizes a record as 24 bytes plus topic and payload', () => {
    expect(recordSize(0, 0)).toBe(24);
    expect(recordSize(5, 7)).toBe(36);
  });

  it('reads records one after another, at any offset', () => {
    const a = encodeRecord(7, 0, 't/a', Buffer.from('x'));
    const b = encodeRecord(8, 1, 't/bb', Buffer.from('yz'));
    const buf = Buffer.concat([Buffer.from('junk'), a, b]);
    const first = parse(buf, 4);
    expect(first).toMatchObject({ res: 'OK', seq: 7, topic: 't/a', next: 4 + a.length });
    expect(parse(buf, first.next)).toMatchObject({
      res: 'OK',
      seq: 8,
      topic: 't/bb',
      payload: '797a',
      next: buf.length,
    });
  });

  // Each row: a record cut or changed, and what the parser must say.
  const rec = () => encodeRecord(42, 1, 'egress/v1/gw/flow', Buffer.from('payload'));
  const DAMAGE: [string, () => { buf: Buffer; end?: number }, { res: string; next?: number }][] = [
    ['11 bytes: not even a header', () => ({ buf: rec().subarray(0, 11) }), { res: 'SHORT', next: -1 }],
    ['the header only', () => ({ buf: rec().subarray(0, 12) }), { res: 'SHORT', next: rec().length }],
    ['one byte short', () => ({ buf: rec(), end: rec().length - 1 }), { res: 'SHORT', next: rec().length }],
    ['a wrong sync word', () => ({ buf: Buffer.from(rec().fill(0x46, 0, 1)) }), { res: 'BAD' }],
    ['a body shorter than its fixed part', () => ({ buf: recrc(lenTo(rec(), 11)) }), { res: 'BAD' }],
    ['a body longer than any record', () => ({ buf: lenTo(rec(), MAX_BODY + 1) }), { res: 'BAD' }],
    ['a body of the largest size, cut', () => ({ buf: lenTo(rec(), MAX_BODY) }), { res: 'SHORT', next: 12 + MAX_BODY }],
    ['a payload byte changed', () => ({ buf: flip(rec(), rec().length - 1) }), { res: 'BAD' }],
    ['a CRC byte changed', () => ({ buf: flip(rec(), 9) }), { res: 'BAD' }],
    ['class 4 (with a CRC that matches)', () => ({ buf: recrc(set(rec(), 20, 4)) }), { res: 'BAD' }],
    ['class 255 (with a CRC that matches)', () => ({ buf: recrc(set(rec(), 20, 255)) }), { res: 'BAD' }],
    [
      'a topic longer than the body (with a CRC that matches)',
      () => ({ buf: recrc(u16(rec(), 22, rec().length - 24 + 1)) }),
      { res: 'BAD' },
    ],
  ];
  it('less than a header left after an offset: SHORT, its end unknown', () => {
    const buf = Buffer.concat([Buffer.from('junk'), rec()]);
    expect(parse(buf, 4, 4 + 11)).toEqual({ res: 'SHORT', next: -1 });
  });

  it('a header alone that claims an empty body with its CRC (0): BAD, never read past it', () => {
    const buf = Buffer.alloc(12);
    buf.writeUInt32LE(RECORD_SYNC, 0);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(parse(buf)).toEqual({ res: 'BAD', next: 0 });
  });

  it.each(DAMAGE)('%s: %o', (_name, make, want) => {
    const { buf, end } = make();
    const got = parse(buf, 0, end ?? buf.length);
    expect(got.res).toBe(want.res);
    if (want.next !== undefined) expect(got.next).toBe(want.next);
  });

  it('takes a topic that fills the whole body (no payload) and a record with neither', () => {
    const b = recrc(u16(rec(), 22, rec().length - 24));
    expect(parse(b)).toMatchObject({ res: 'OK', topic: 'egress/v1/gw/flowpayload', payload: '' });
    expect(parse(encodeRecord(1, 0, '', Buffer.alloc(0)))).toMatchObject({ res: 'OK', topic: '', payload: '' });
  });

  it('resynchronises on the next whole record, past damage and false sync words', () => {
    const a = encodeRecord(1, 0, 't', Buffer.from('a'));
    const b = encodeRecord(2, 0, 't', Buffer.from('b'));
    const fake = Buffer.concat([Buffer.from('EGSR'), Buffer.alloc(8, 0xff)]); // a sync word, then garbage
    const buf = Buffer.concat([a, Buffer.from('xx'), fake, b]);
    const r = new ParsedRecord();
    const at = a.length + 2 + fake.length;
    expect(resync(buf, 0, buf.length, r)).toBe(0);
    expect(resync(buf, 1, buf.length, r)).toBe(at);
    expect(r.seq).toBe(2);
    expect(resync(buf, at + 1, buf.length, r)).toBe(-1);
    // A record that runs past `end` is not whole: none before it.
    expect(resync(buf, 1, buf.length - 1, r)).toBe(-1);
    expect(resync(buf, 1, at, r)).toBe(-1);
  });
});

function lenTo(b: Buffer, n: number): Buffer {
  b.writeUInt32LE(n, 4);
  return b;
}
function flip(b: Buffer, i: number): Buffer {
  b[i] ^= 0x01;
  return b;
}
function set(b: Buffer, i: number, v: number): Buffer {
  b[i] = v;
  return b;
}
function u16(b: Buffer, i: number, v: number): Buffer {
  b.writeUInt16LE(v, i);
  return b;
}

describe('spool segments', () => {
  it('names a segment by group and first seq, 16 digits', () => {
    expect(segmentName(0, 1)).toBe('alert-0000000000000001.seg');
    expect(segmentName(1, 1234567890123)).toBe('bulk-0001234567890123.seg');
    expect(SEGMENT_NAME.exec(segmentName(1, 5))?.slice(1)).toEqual(['bulk', '0000000000000005']);
  });

  it.each([
    ['its own header', (g: number) => segmentHeader(g), null],
    ['a longer file', (g: number) => Buffer.concat([segmentHeader(g), encodeRecord(1, 0, 't', Buffer.alloc(0))]), null],
    ['15 bytes', (g: number) => segmentHeader(g).subarray(0, 15), 'shorter than its 16-byte header'],
    ['another version', (g: number) => set(segmentHeader(g), 7, 2), 'bad magic'],
    ['another magic', (g: number) => set(segmentHeader(g), 0, 0x65), 'bad magic'],
    ['the other group', (g: number) => segmentHeader(1 - g), 'header says group'],
  ])('checks %s', (_name, make, want) => {
    for (const g of [0, 1]) {
      const got = checkSegmentHeader(make(g), g);
      if (want === null) expect(got).toBeNull();
      else expect(got).toContain(want);
    }
    expect(segmentHeader(1).length).toBe(SEGMENT_HEADER);
    expect([...segmentHeader(1).subarray(8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('spool cursor slots', () => {
  const good = { generation: 3, acked: [10, 2 ** 40] as [number, number], nextSeq: 2 ** 40 + 7 };

  it('reads back what it wrote, zeros included', () => {
    expect(decodeCursor(encodeCursor(good))).toEqual(good);
    const zero = { generation: 0, acked: [0, 0] as [number, number], nextSeq: 0 };
    expect(decodeCursor(encodeCursor(zero))).toEqual(zero);
    expect(decodeCursor(Buffer.concat([encodeCursor(good), Buffer.alloc(448)]))).toEqual(good);
  });

  const BAD: [string, () => Buffer][] = [
    ['an empty slot', () => Buffer.alloc(64)],
    ['a slot cut at 63 bytes', () => encodeCursor(good).subarray(0, 63)],
    ['another magic', () => set(encodeCursor(good), 0, 0x66)],
    ['another version', () => set(encodeCursor(good), 7, 2)],
    ['a value changed', () => flip(encodeCursor(good), 20)],
    ['a CRC byte changed', () => flip(encodeCursor(good), 41)],
    ['a negative generation', () => encodeCursor({ ...good, generation: -1 })],
    ['a fractional alert position', () => encodeCursor({ ...good, acked: [1.5, 0] })],
    ['a bulk position past 2^53', () => encodeCursor({ ...good, acked: [0, 2 ** 53] })],
    ['a next seq that is not a number', () => encodeCursor({ ...good, nextSeq: Number.NaN })],
    ['an infinite next seq', () => encodeCursor({ ...good, nextSeq: Number.POSITIVE_INFINITY })],
  ];
  it.each(BAD)('refuses %s', (_name, make) => {
    expect(decodeCursor(make())).toBeNull();
  });
});
