// TcpStreamAssembler: one direction of a TCP connection put back in order.
// Cases by hand (in order, midstream, reordered, retransmitted, overlapping
// with different bytes, across the 2^32 wrap, beyond the window), then a
// seeded comparison with a byte-by-byte model of "first copy wins".

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { STREAM_MAX_BYTES, TcpStreamAssembler } from '../../agent/src/names/stream.js';
import { caseRng, fuzzSeed } from '../support/fuzz.js';

const text = (s: string) => Buffer.from(s, 'latin1');
const str = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function assembler(maxBytes?: number) {
  const anomalies = new Anomalies();
  return { s: new TcpStreamAssembler(maxBytes, anomalies), anomalies };
}

/** Add `data` as a segment at `seq`, from inside a larger buffer so offsets are exercised. */
function add(s: TcpStreamAssembler, seq: number, data: string) {
  const buf = text(`##${data}##`);
  s.add(seq >>> 0, buf, 2, data.length);
}

describe('TcpStreamAssembler', () => {
  it('puts in-order segments after the SYN together', () => {
    const { s, anomalies } = assembler();
    s.start(1000);
    add(s, 1001, 'GET / HTTP/1.1\r\n');
    add(s, 1017, 'Host: example.org\r\n\r\n');
    expect(str(s.contiguous())).toBe('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n');
    expect(s.gap).toBe(false);
    expect(s.overflow).toBe(false);
    expect(anomalies.total()).toBe(0);
  });

  it('takes the first data segment as the start when the SYN was not seen (midstream)', () => {
    const { s } = assembler();
    expect(s.isStarted).toBe(false);
    add(s, 5_000_000, 'abc');
    add(s, 5_000_003, 'def');
    expect(s.isStarted).toBe(true);
    expect(str(s.contiguous())).toBe('abcdef');
  });

  it('holds a segment that arrives early and fills the hole when the missing one comes', () => {
    const { s, anomalies } = assembler();
    s.start(99);
    add(s, 104, 'efghi');
    expect(s.length).toBe(0);
    expect(s.gap).toBe(true);
    add(s, 110, 'klm'); // beyond a second hole, at 109
    add(s, 100, 'abcd');
    expect(str(s.contiguous())).toBe('abcdefghi');
    expect(s.gap).toBe(true);
    add(s, 109, 'j');
    expect(str(s.contiguous())).toBe('abcdefghijklm');
    expect(s.gap).toBe(false);
    expect(s.gapsOpened).toBe(1);
    expect(anomalies.get('stream.gap')).toBe(1);
  });

  it('reorders three segments delivered backwards', () => {
    const { s, anomalies } = assembler();
    s.start(0);
    add(s, 7, 'ghi');
    add(s, 4, 'def');
    expect(s.gap).toBe(true);
    add(s, 1, 'abc');
    expect(str(s.contiguous())).toBe('abcdefghi');
    expect(s.gap).toBe(false);
    expect(s.gapsOpened).toBe(1);
    expect(anomalies.get('stream.gap')).toBe(1);
  });

  it('ignores retransmissions of bytes already held', () => {
    const { s, anomalies } = assembler();
    s.start(0);
    add(s, 1, 'hello ');
    add(s, 1, 'hello ');
    add(s, 7, 'world');
    add(s, 4, 'lo wor');
    expect(str(s.contiguous())).toBe('hello world');
    expect(s.duplicateBytes).toBe(12);
    expect(anomalies.total()).toBe(0);
  });

  it('keeps the first copy when a later segment overlaps with different bytes (in the prefix)', () => {
    const { s } = assembler();
    s.start(0);
    add(s, 1, 'AAAA');
    add(s, 3, 'bbbbbb'); // overlaps the last two A's, extends by four
    expect(str(s.contiguous())).toBe('AAAAbbbb');
  });

  it('keeps the first copy when a later segment overlaps bytes held beyond a hole', () => {
    const { s } = assembler();
    s.start(0);
    add(s, 5, 'XX'); // offsets 4..5
    add(s, 9, 'YY'); // offsets 8..9
    add(s, 1, 'abcdefghijk'); // offsets 0..10, overlapping both held ranges
    expect(str(s.contiguous())).toBe('abcdXXghYYk');
    expect(s.gap).toBe(false);
  });

  it('follows sequence numbers across the 2^32 wrap, in and out of order', () => {
    const { s } = assembler();
    s.start(0xfffffffa); // data starts at 0xfffffffb
    add(s, 0x00000003, 'WXYZ'); // offset 8, after the wrap
    add(s, 0xfffffffb, 'abcde'); // offsets 0..4
    add(s, 0xffffffff + 1, 'fgh'); // = 0, offsets 5..7 — written as 2^32 to check the >>> 0
    expect(str(s.contiguous())).toBe('abcdefghWXYZ');
  });

  it('trims a segment that starts before the stream (a SYN retransmitted with data, an overlap with the ISN)', () => {
    const { s } = assembler();
    s.start(99); // data starts at 100
    add(s, 98, 'xxabc'); // 98, 99 (the SYN's number) lie before the data
    add(s, 90, 'old'); // entirely before: ignored
    expect(str(s.contiguous())).toBe('abc');
  });

  it('drops what lies beyond maxBytes, counts it once, and stays within the bound', () => {
    const { s, anomalies } = assembler(10);
    s.start(0);
    add(s, 1, 'abcdefgh');
    add(s, 9, 'ijklmnop'); // only 'ij' fits
    add(s, 50, 'far out'); // beyond the window entirely, out of order
    add(s, 2_000_000_000, 'very far');
    expect(str(s.contiguous())).toBe('abcdefghij');
    expect(s.overflow).toBe(true);
    expect(s.droppedSegments).toBe(3);
    expect(anomalies.get('stream.overflow')).toBe(1);
    expect(anomalies.get('stream.gap')).toBe(0);
    expect((s as any).data.length).toBeLessThanOrEqual(10);
  });

  it('never holds more than maxBytes however many out-of-order segments arrive', () => {
    const { s } = assembler();
    s.start(0);
    for (let i = 0; i < 10_000; i++) s.add(1 + ((i * 7919) % 40_000), Buffer.alloc(3, i), 0, 3);
    expect((s as any).data.length).toBeLessThanOrEqual(STREAM_MAX_BYTES);
    expect((s as any).have.length).toBeLessThanOrEqual(STREAM_MAX_BYTES / 8);
  });

  it('clips offsets and lengths that reach outside the buffer and ignores empty segments', () => {
    const { s } = assembler();
    s.start(0);
    s.add(1, text('abc'), 0, 100);
    s.add(4, text('def'), 5, 3);
    s.add(4, text('def'), 0, 0);
    s.add(4, text('def'), 0, -5);
    expect(str(s.contiguous())).toBe('abc');
  });

  it('ignores a second start() once data was taken', () => {
    const { s } = assembler();
    s.start(0);
    add(s, 1, 'abc');
    s.start(500);
    add(s, 4, 'def');
    expect(str(s.contiguous())).toBe('abcdef');
  });
});

describe('TcpStreamAssembler against a first-copy-wins model (seeded)', () => {
  const SEED = fuzzSeed();
  it('matches the model for random segmentation, order, retransmission and conflicting overlaps', () => {
    for (let c = 0; c < 2_000; c++) {
      const rng = caseRng(SEED, 100, c);
      const maxBytes = rng.pick([16, 64, 300, 1024, STREAM_MAX_BYTES]);
      const total = rng.range(1, 1500);
      const isn = rng.u32();
      const segs: { at: number; bytes: Buffer }[] = [];
      // Cover the stream, then add retransmissions and overlaps that carry other bytes.
      for (let at = 0; at < total; ) {
        const n = rng.range(1, 200);
        segs.push({ at, bytes: rng.bytes(Math.min(n, total - at)) });
        at += n;
      }
      for (let i = rng.below(6); i > 0; i--) {
        const at = rng.below(total);
        segs.push({ at, bytes: rng.bytes(rng.range(1, 120)) });
      }
      for (let i = segs.length - 1; i > 0; i--) {
        if (!rng.chance(0.5)) continue;
        const j = rng.below(i + 1);
        [segs[i], segs[j]] = [segs[j], segs[i]];
      }
      const model: (number | undefined)[] = [];
      const s = new TcpStreamAssembler(maxBytes);
      s.start(isn);
      for (const seg of segs) {
        s.add((isn + 1 + seg.at) >>> 0, seg.bytes, 0, seg.bytes.length);
        for (let i = 0; i < seg.bytes.length; i++) {
          const at = seg.at + i;
          if (at < maxBytes && model[at] === undefined) model[at] = seg.bytes[i];
        }
      }
      let n = 0;
      while (model[n] !== undefined) n++;
      const want = Buffer.from(model.slice(0, n) as number[]);
      const got = Buffer.from(s.contiguous());
      if (!got.equals(want))
        throw new Error(
          `seed=${SEED} case=${c}: prefix differs (got ${got.length} bytes, want ${n}); replay FUZZ_SEED=${SEED}`,
        );
      expect(s.overflow).toBe(segs.some((g) => g.at + g.bytes.length > maxBytes));
    }
  });
});

describe('TcpStreamAssembler counters and bounds', () => {
  it('ignores start() once bytes beyond a hole were taken', () => {
    const { s } = assembler();
    s.start(0);
    add(s, 5, 'efg');
    s.start(100);
    add(s, 1, 'abcd');
    expect(str(s.contiguous())).toBe('abcdefg');
  });

  it('takes no start from an empty segment', () => {
    const { s } = assembler();
    s.add(7, text('abc'), 0, 0);
    expect(s.isStarted).toBe(false);
    add(s, 1, 'abc');
    expect(str(s.contiguous())).toBe('abc');
  });

  it.each<[string, [number, string][], number, string]>([
    [
      'bytes before the stream are trimmed, not counted',
      [
        [98, 'xxabc'],
        [90, 'old'],
      ],
      0,
      'abc',
    ],
    [
      'a partial overlap of the prefix counts the overlap',
      [
        [100, 'abcdef'],
        [103, 'DEFGH'],
      ],
      3,
      'abcdefGH',
    ],
    [
      'an overlap beyond a hole counts the bytes held',
      [
        [104, 'efgh'],
        [105, 'FG'],
        [100, 'abcd'],
      ],
      2,
      'abcdefgh',
    ],
  ])('%s', (_what, segments, duplicates, prefix) => {
    const { s } = assembler();
    s.start(99); // data starts at 100
    for (const [seq, data] of segments) add(s, seq, data);
    expect(s.duplicateBytes).toBe(duplicates);
    expect(str(s.contiguous())).toBe(prefix);
  });

  it('keeps a segment that ends exactly at maxBytes and drops one that starts there, without opening a gap', () => {
    const { s, anomalies } = assembler(10);
    s.start(0);
    add(s, 1, 'abcdefghij');
    expect(s.overflow).toBe(false);
    add(s, 11, 'k');
    expect(s).toMatchObject({ overflow: true, droppedSegments: 1, gap: false, gapsOpened: 0 });
    expect(anomalies.get('stream.gap')).toBe(0);
    expect(str(s.contiguous())).toBe('abcdefghij');
  });

  it('counts every gap opened, and the anomaly once', () => {
    const { s, anomalies } = assembler();
    s.start(0);
    add(s, 3, 'c');
    add(s, 1, 'ab');
    add(s, 6, 'f');
    add(s, 4, 'de');
    expect(str(s.contiguous())).toBe('abcdef');
    expect(s.gapsOpened).toBe(2);
    expect(anomalies.get('stream.gap')).toBe(1);
  });
});

describe('TcpStreamAssembler window edge and buffer growth', () => {
  it('drops a segment starting exactly at maxBytes without opening a gap, also while the prefix is short', () => {
    const { s, anomalies } = assembler(10);
    s.start(0);
    add(s, 1, 'abc');
    add(s, 11, 'k'); // offset 10 = maxBytes: nothing of it fits
    expect(s).toMatchObject({ overflow: true, droppedSegments: 1, gap: false, gapsOpened: 0 });
    expect(anomalies.get('stream.gap')).toBe(0);
    add(s, 4, 'defghij');
    expect(str(s.contiguous())).toBe('abcdefghij');
    expect(s.gap).toBe(false);
  });

  // Capacity is the smallest INITIAL_CAPACITY * 2^k that holds the bytes, at most maxBytes.
  it.each<[string, number | undefined, number, number]>([
    ['one byte', undefined, 1, 2_048],
    ['exactly the first capacity', undefined, 2_048, 2_048],
    ['one byte more', undefined, 2_049, 4_096],
    ['exactly twice', undefined, 4_096, 4_096],
    ['the whole window', undefined, STREAM_MAX_BYTES, STREAM_MAX_BYTES],
    ['a window that is no power of two', 3_000, 2_049, 3_000],
    ['a window below the first capacity', 100, 100, 100],
  ])('grows the buffer only as far as needed: %s', (_what, maxBytes, n, capacity) => {
    const { s } = assembler(maxBytes);
    s.start(0);
    s.add(1, Buffer.alloc(n, 0x61), 0, n);
    expect(s.length).toBe(n);
    expect((s as any).data.length).toBe(capacity);
    expect((s as any).have.length).toBe(Math.ceil(capacity / 8));
  });

  it('does not reallocate for a segment that fits, up to the last byte of the buffer', () => {
    const { s } = assembler();
    s.start(0);
    s.add(1, Buffer.alloc(1_000, 0x61), 0, 1_000);
    const data = (s as any).data;
    s.add(1_001, Buffer.alloc(1_048, 0x62), 0, 1_048); // ends at 2048, the capacity
    expect((s as any).data).toBe(data);
    expect(s.length).toBe(2_048);
    s.add(2_049, Buffer.alloc(1, 0x63), 0, 1);
    expect((s as any).data).not.toBe(data);
    expect(str(s.contiguous())).toBe(`${'a'.repeat(1_000)}${'b'.repeat(1_048)}c`);
  });
});

describe('TcpStreamAssembler.empty', () => {
  it('is true until a byte is taken, in order or beyond a hole', () => {
    const { s } = assembler();
    expect(s.empty).toBe(true);
    s.start(1000);
    s.add(1001, text('x'), 0, 0);
    expect(s.empty).toBe(true);
    // A byte beyond a hole: nothing in order yet, but taken.
    add(s, 1005, 'e');
    expect([s.empty, s.length]).toEqual([false, 0]);
    const inOrder = assembler().s;
    add(inOrder, 7, 'a');
    expect([inOrder.empty, inOrder.length]).toEqual([false, 1]);
  });
});
