// The pre-trigger packet ring (agent/src/evidence/ring.ts) at its bounds and
// under a long random stream: what it keeps is always the newest packets,
// byte for byte as they were pushed, within every bound, and never much less
// than fits; each bound on its own at its exact edge.

import { describe, expect, it } from 'vitest';
import { PacketRing, type PacketRingOptions } from '../../agent/src/evidence/ring.js';

interface Pushed {
  seq: number;
  bytes: Buffer;
  origLen: number;
  tsUs: number;
  linkType: number;
  mark: number;
}

/** Everything kept, oldest first, copied out of the reused view. */
function kept(ring: PacketRing): Pushed[] {
  const out: Pushed[] = [];
  ring.take(
    () => true,
    (p) =>
      out.push({
        seq: p.flowId,
        bytes: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)),
        origLen: p.origLen,
        tsUs: p.tsUs,
        linkType: p.linkType,
        mark: p.mark,
      }),
  );
  return out;
}

/** A deterministic generator (mulberry32), so a failure repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function push(ring: PacketRing, p: Pushed, at = 3): void {
  // The packet sits at an offset inside a larger buffer, as it does in the capture reader's chunk.
  const buf = Buffer.concat([Buffer.alloc(at, 0xee), p.bytes, Buffer.alloc(5, 0xee)]);
  ring.push(buf, at, p.bytes.length, p.origLen, p.tsUs, p.linkType, p.seq, p.mark);
}

describe('PacketRing under a random stream', () => {
  const CONFIGS: [string, PacketRingOptions, number][] = [
    ['bytes bound', { maxBytes: 4000, maxSeconds: 3600, maxPackets: 1000 }, 400],
    ['packets bound', { maxBytes: 1 << 16, maxSeconds: 3600, maxPackets: 7 }, 400],
    ['age bound', { maxBytes: 1 << 16, maxSeconds: 0.05, maxPackets: 1000 }, 400],
    ['all three', { maxBytes: 2500, maxSeconds: 0.02, maxPackets: 12 }, 300],
  ];
  /** A fresh ring fed the first n packets of the seed's stream. */
  function stream(options: PacketRingOptions, maxLen: number, seed: number, n: number) {
    const next = rng(seed);
    const ring = new PacketRing(options);
    const all: Pushed[] = [];
    let t = 1_000_000;
    for (let seq = 0; seq < n; seq++) {
      t += Math.floor(next() * 2000);
      const len = 1 + Math.floor(next() * maxLen);
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = (seq * 7 + i) & 0xff;
      const p = { seq, bytes, origLen: len + Math.floor(next() * 3), tsUs: t, linkType: seq % 3, mark: seq % 2 };
      all.push(p);
      push(ring, p);
    }
    return { ring, all, t };
  }

  it.each(CONFIGS)('keeps the newest packets intact within the %s', (_name, options, maxLen) => {
    for (let seed = 1; seed <= 2; seed++) {
      for (let n = 1; n <= 600; n += 83) {
        const { ring, all, t } = stream(options, maxLen, seed, n);
        expect(ring.counters.pushed).toBe(n);
        expect(ring.counters.pushed - ring.counters.evicted).toBe(ring.size);
        const got = kept(ring);
        expect(got.length).toBe(ring.size);
        const first = got.length === 0 ? n : got[0].seq;
        // The newest packets, in order, byte for byte as pushed.
        expect(got).toEqual(all.slice(first));
        const bytesKept = got.reduce((k, g) => k + g.bytes.length, 0);
        expect(bytesKept).toBeLessThanOrEqual(ring.maxBytes);
        expect(got.length).toBeLessThanOrEqual(ring.maxPackets);
        expect(got.every((g) => g.tsUs >= t - ring.maxUs)).toBe(true);
        // Not much less than fits: the next older packet would break a bound, allowing for the space a wrap
        // leaves unused at the end of the buffer (less than one packet).
        if (first > 0) {
          const older = all[first - 1];
          const breaks =
            got.length + 1 > ring.maxPackets ||
            older.tsUs < t - ring.maxUs ||
            bytesKept + older.bytes.length > ring.maxBytes - maxLen;
          expect(breaks, `packet ${first - 1} could have been kept (seed ${seed}, ${n} packets)`).toBe(true);
        }
      }
    }
  });
});

describe('PacketRing at its bounds', () => {
  const pkt = (seq: number, len: number, tsUs: number): Pushed => ({
    seq,
    bytes: Buffer.alloc(len, seq + 1),
    origLen: len,
    tsUs,
    linkType: 1,
    mark: 0,
  });

  it('keeps a packet exactly as large as the ring, and refuses (and counts) a larger one', () => {
    const ring = new PacketRing({ maxBytes: 100, maxSeconds: 60 });
    push(ring, pkt(0, 40, 0));
    push(ring, pkt(1, 100, 1));
    expect(kept(ring).map((p) => p.seq)).toEqual([1]);
    push(ring, pkt(2, 101, 2));
    expect(ring.counters).toEqual({ pushed: 2, evicted: 1, too_large: 1 });
    expect(ring.size).toBe(1);
  });

  it('keeps a packet exactly maxSeconds old, and not a microsecond older', () => {
    const ring = new PacketRing({ maxBytes: 1000, maxSeconds: 2 });
    push(ring, pkt(0, 10, 1_000_000));
    push(ring, pkt(1, 10, 1_000_001));
    push(ring, pkt(2, 10, 3_000_001)); // packet 0 is 2 s + 1 µs old, packet 1 exactly 2 s
    expect(kept(ring).map((p) => p.seq)).toEqual([1, 2]);
  });

  it('holds exactly maxPackets', () => {
    const ring = new PacketRing({ maxBytes: 1000, maxSeconds: 60, maxPackets: 3 });
    for (let i = 0; i < 3; i++) push(ring, pkt(i, 10, i));
    expect(ring.size).toBe(3);
    push(ring, pkt(3, 10, 3));
    expect(kept(ring).map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('fills the buffer to its last byte before wrapping', () => {
    const ring = new PacketRing({ maxBytes: 100, maxSeconds: 60 });
    for (let i = 0; i < 4; i++) push(ring, pkt(i, 25, i));
    expect([ring.size, ring.counters.evicted]).toEqual([4, 0]);
    push(ring, pkt(4, 25, 4)); // wraps to the start: only packet 0 is overwritten
    expect(kept(ring).map((p) => [p.seq, p.bytes[0]])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
  });

  it('starts from the beginning of the buffer once everything has aged out', () => {
    const ring = new PacketRing({ maxBytes: 1000, maxSeconds: 1 });
    push(ring, pkt(0, 900, 0));
    push(ring, pkt(1, 50, 5_000_000)); // packet 0 is too old: the ring is empty, so packet 1 goes at byte 0
    push(ring, pkt(2, 900, 5_000_001));
    push(ring, pkt(3, 50, 5_000_002)); // 50 + 900 + 50 = 1000: all three fit
    expect(kept(ring).map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('on a wrap, first drops the older lap from where the next packet would have gone, that position included', () => {
    const ring = new PacketRing({ maxBytes: 100, maxSeconds: 60 });
    // 40 @0, 40 @40, 20 @80; then 40 wraps to @0; then 70 does not fit @40: the packets @40 and @80 are the
    // older lap (the one @40 starts exactly there) and go, then the one @0 it lands on.
    for (const [i, len] of [40, 40, 20, 40, 70].entries()) push(ring, pkt(i, len, i));
    expect(kept(ring).map((p) => [p.seq, p.bytes.length, p.bytes.every((b) => b === 5)])).toEqual([[4, 70, true]]);
  });

  it('stores a packet after every earlier one aged out, whatever stale entries the index holds', () => {
    const ring = new PacketRing({ maxBytes: 100, maxSeconds: 1, maxPackets: 2 });
    push(ring, pkt(0, 10, 0));
    push(ring, pkt(1, 10, 1));
    push(ring, pkt(2, 10, 2)); // the packet bound drops packet 0
    push(ring, pkt(3, 15, 5_000_000)); // packets 1 and 2 aged out: empty, the next write is at byte 0
    expect(kept(ring).map((p) => [p.seq, p.bytes.length])).toEqual([[3, 15]]);
    expect(ring.counters).toMatchObject({ pushed: 4, evicted: 3 });
  });

  it('has defaults: 8 MiB, 30 s, one packet per 64 bytes and at least 16', () => {
    const ring = new PacketRing();
    expect([ring.maxBytes, ring.maxUs, ring.maxPackets]).toEqual([8 * 1024 * 1024, 30_000_000, 131_072]);
    expect(new PacketRing({ maxBytes: 640 }).maxPackets).toBe(16);
    expect(new PacketRing({ maxBytes: 6400 }).maxPackets).toBe(100);
    expect(new PacketRing({ maxBytes: 6463 }).maxPackets).toBe(100);
  });

  it('hands out marks, link types and original lengths as pushed, and skips what was taken', () => {
    const ring = new PacketRing({ maxBytes: 1000, maxSeconds: 60 });
    push(ring, { seq: 5, bytes: Buffer.from([1, 2, 3]), origLen: 1500, tsUs: 7, linkType: 113, mark: 1 });
    push(ring, { seq: 6, bytes: Buffer.from([4]), origLen: 60, tsUs: 8, linkType: 1, mark: 0 });
    const marked: number[] = [];
    expect(
      ring.take(
        (p) => p.mark === 1,
        (p) => marked.push(p.flowId, p.linkType, p.origLen, p.tsUs),
      ),
    ).toBe(1);
    expect(marked).toEqual([5, 113, 1500, 7]);
    expect(kept(ring).map((p) => [p.seq, p.linkType, p.origLen, p.mark, [...p.bytes]])).toEqual([[6, 1, 60, 0, [4]]]);
  });
});
