// The spool's read window (agent/src/mqtt/spool-window.ts) at its edges:
// exactly MAX_WINDOW_RECORDS records or MAX_WINDOW_BYTES payload bytes past
// the oldest undelivered record, a record longer than one read chunk, and
// the window compacted after many acks — each checked by what peek() gives;
// segments dropped while the window holds them (acks out of order at segment
// edges) and damage found after open, with the window's counters recounted.

import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_WINDOW_BYTES,
  MAX_WINDOW_RECORDS,
  MIN_SPOOL_BYTES,
  Spool,
  type SpoolRecord,
} from '../../agent/src/mqtt/spool.js';
import { tempDirs } from '../support/spool.js';

const tempDir = tempDirs('egress-spool-window-');

const FLOW = 'egress/v1/gw/flow';
const payload = (i: number, size = 8) => Buffer.from(String(i).padStart(size, '0'));
/** Records of exactly 32 KiB (24 bytes of header and body fields, the topic, the payload): a 256 KiB read chunk holds 8. */
const CHUNK_RECORD_PAYLOAD = 32768 - 24 - FLOW.length;

interface WindowView {
  window: { record: SpoolRecord; acked: boolean }[];
  windowStart: number;
  windowBytes: number;
  windowUnacked: number;
  acked: number;
}
/** The flow group's read window (spool-window.ts), seen from the test. */
const bulk = (s: Spool) => (s as unknown as { groups: WindowView[] }).groups[1];

/**
 * The window's counters equal a recount of its entries (they bound its memory
 * and decide how far peek() reads), and, with flows only (one group, seqs in
 * a row), `acked` is just below the oldest undelivered record.
 */
function expectCounted(s: Spool): void {
  const g = bulk(s);
  const live = g.window.slice(g.windowStart);
  expect(g.windowBytes).toBe(live.reduce((n, e) => n + e.record.payload.length, 0));
  expect(g.windowUnacked).toBe(live.filter((e) => !e.acked).length);
  const oldest = s.peek(1)[0];
  if (oldest !== undefined) expect(g.acked).toBe(oldest.seq - 1);
}

/** Overwrite bytes of the (only) bulk segment file, as damage on disk would. */
function damage(dir: string, at: number, bytes: Buffer): void {
  const name = readdirSync(dir).find((f) => f.startsWith('bulk-'))!;
  const fd = openSync(join(dir, name), 'r+');
  writeSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
}

describe('spool read window', () => {
  it('holds exactly MAX_WINDOW_RECORDS records; acking them in order (the window compacted) gives the rest', () => {
    const s = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    const n = MAX_WINDOW_RECORDS + 300;
    for (let i = 1; i <= n; i++) expect(s.append('flow', FLOW, payload(i))).toBe(i);
    const first = s.peek(n);
    expect(first.length).toBe(MAX_WINDOW_RECORDS);
    expect(first.map((r) => r.seq)).toEqual(Array.from({ length: MAX_WINDOW_RECORDS }, (_, i) => i + 1));
    for (const r of first.slice(0, 5000)) s.ack(r.seq);
    expect(s.pending).toBe(n - 5000);
    const next = s.peek(n);
    expect(next.length).toBe(n - 5000);
    expect(next[0].seq).toBe(5001);
    expect(next.at(-1)!.payload.toString()).toBe(payload(n).toString());
    for (const r of next) expect(r.payload.toString()).toBe(payload(r.seq).toString());
    // Out-of-order acks past the start: the window keeps the unacked one first.
    s.ack(next[2].seq);
    s.ack(next[1].seq);
    expect(s.peek(3).map((r) => r.seq)).toEqual([5001, 5004, 5005]);
    s.close();
  });

  it('holds exactly MAX_WINDOW_BYTES of payload: records of 128 KiB, 64 of them', () => {
    const size = 128 * 1024;
    expect(MAX_WINDOW_BYTES / size).toBe(64);
    const s = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    for (let i = 1; i <= 70; i++) s.append('flow', FLOW, payload(i, size));
    const got = s.peek(1000);
    expect(got.length).toBe(64);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    s.ack(1);
    expect(s.peek(1000).map((r) => r.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i + 2));
    s.close();
  });

  it('reads a record longer than one read chunk (256 KiB) whole, before and after a reopen', () => {
    const dir = tempDir();
    const big = Buffer.alloc(300 * 1024, 0x61);
    big.write('head', 0);
    big.write('tail', big.length - 4);
    let s = Spool.open(dir);
    s.append('alert', 'egress/v1/gw/alert', Buffer.from('small-1'));
    s.append('alert', 'egress/v1/gw/alert', big);
    s.append('alert', 'egress/v1/gw/alert', Buffer.from('small-2'));
    // A long record that ends the segment, too.
    s.append('alert', 'egress/v1/gw/alert', big);
    for (let round = 0; round < 2; round++) {
      const got = s.peek(10);
      expect(got.map((r) => [r.seq, r.payload.length])).toEqual([
        [1, 7],
        [2, big.length],
        [3, 7],
        [4, big.length],
      ]);
      expect(got[3].payload.equals(big)).toBe(true);
      expect(got[1].payload.equals(big)).toBe(true);
      expect(got[2].payload.toString()).toBe('small-2');
      expect(s.counters.corrupt).toBe(0);
      s.close();
      s = Spool.open(dir);
    }
    s.close();
  });

  it('drops segments the window holds: acked records not counted again, the rest counted, peek goes on in order', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    const body = (i: number) => Buffer.from(`${i}:`.padEnd(1000, '.'));
    for (let i = 1; i <= 100; i++) s.append('flow', FLOW, body(i));
    expect(s.peek(100).map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Acked out of order: 1 stays undelivered, so the head stays on the oldest segment.
    for (const q of [2, 3, 70]) s.ack(q);
    for (let i = 101; i <= 400; i++) s.append('flow', FLOW, body(i));
    const c = s.counters;
    expect(c.dropped_flow).toBeGreaterThan(100);
    expect([c.appended, c.delivered]).toEqual([400, 3]);
    expect(c.appended).toBe(s.pending + c.delivered + c.dropped_flow);
    const left = s.peek(1000);
    expect(left.length).toBe(s.pending);
    expect(left.at(-1)!.seq).toBe(400);
    expect(left.map((r) => r.seq)).toEqual(Array.from({ length: left.length }, (_, i) => 401 - left.length + i));
    for (const r of left) expect(r.payload.equals(body(r.seq))).toBe(true);
    expect(s.bytes).toBeLessThanOrEqual(MIN_SPOOL_BYTES);
    expectCounted(s);
    // The cursor moved past what was dropped: a reopen gives the same records, none of the dropped.
    s.close();
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    expect(s.peek(1000).map((r) => r.seq)).toEqual(left.map((r) => r.seq));
    expect(s.counters.recovered).toBe(left.length);
    s.close();
  });

  it('drops a segment while the window holds part of it and the next: the head moves to the first kept record', () => {
    const s = Spool.open(tempDir(), { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    const body = (i: number) => Buffer.from(`${i}:`.padEnd(1000, '.'));
    for (let i = 1; i <= 150; i++) s.append('flow', FLOW, body(i));
    // The window: 10 records from the oldest; after the drop they are gone, the rest read from disk.
    expect(s.peek(10).length).toBe(10);
    for (let i = 151; i <= 260; i++) s.append('flow', FLOW, body(i));
    expectCounted(s);
    // Asked for exactly what is pending, peek reads on past what the window kept.
    expect(s.peek(s.pending).length).toBe(s.pending);
    const got = s.peek(1000);
    expect(got.length).toBe(s.pending);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: got.length }, (_, i) => 261 - got.length + i));
    for (const r of got.slice(0, 5)) s.ack(r.seq);
    expect(s.peek(1)[0].seq).toBe(got[5].seq);
    expect(s.counters.appended).toBe(s.pending + s.counters.delivered + s.counters.dropped_flow);
    expectCounted(s);
    s.close();
  });

  it('drops a segment after in-order acks and out-of-order acks at its edges: the acked run past the edge is taken too', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    const body = (i: number) => Buffer.from(`${i}:`.padEnd(1000, '.'));
    for (let i = 1; i <= 150; i++) s.append('flow', FLOW, body(i));
    const firsts = readdirSync(dir)
      .filter((f) => f.startsWith('bulk-'))
      .sort()
      .map((f) => Number(f.slice(5, 21)));
    expect(firsts.length).toBeGreaterThanOrEqual(3);
    const edge = firsts[1]; // the first record of the second segment
    expect(s.peek(150).length).toBe(150);
    // Five in order (taken off the window, which is not compacted), then the last of the
    // first segment and the first two of the second.
    for (const q of [1, 2, 3, 4, 5, edge - 1, edge, edge + 1]) s.ack(q);
    expect(bulk(s).windowStart).toBe(5);
    expectCounted(s);
    let n = 150;
    while (s.counters.dropped_flow === 0) s.append('flow', FLOW, body(++n));
    // Only the first segment went: its records not delivered are counted, the acked run past the edge is gone too.
    expect(s.counters.dropped_flow).toBe(edge - 1 - 6);
    expect(s.counters.delivered).toBe(8);
    expect(s.pending).toBe(n - (edge + 1));
    expectCounted(s);
    expect(bulk(s).acked).toBe(edge + 1);
    const left = s.peek(s.pending);
    expect(left.map((r) => r.seq)).toEqual(Array.from({ length: n - edge - 1 }, (_, i) => edge + 2 + i));
    for (const r of left) expect(r.payload.equals(body(r.seq))).toBe(true);
    s.close();
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    expect(s.peek(1000).map((r) => r.seq)).toEqual(left.map((r) => r.seq));
    s.close();
  });

  it('after acks that leave the window uncompacted (1000 of 8192), it still reads up to the bound past them', () => {
    const s = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    const n = MAX_WINDOW_RECORDS + 300;
    for (let i = 1; i <= n; i++) s.append('flow', FLOW, payload(i));
    expect(s.peek(n).length).toBe(MAX_WINDOW_RECORDS);
    for (let q = 1; q <= 1000; q++) s.ack(q);
    expect(bulk(s).windowStart).toBe(1000);
    const next = s.peek(n);
    expect(next.length).toBe(n - 1000);
    expect([next[0].seq, next.at(-1)!.seq]).toEqual([1001, n]);
    expectCounted(s);
    s.close();
  });

  it('reads only what is asked: whole chunks until enough undelivered records are in the window', () => {
    const s = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    for (let i = 1; i <= 20; i++) s.append('flow', FLOW, payload(i, CHUNK_RECORD_PAYLOAD));
    const reads: [number, number, number][] = [];
    for (const want of [8, 8, 9, 16, 17, 20]) reads.push([want, s.peek(want).length, bulk(s).window.length]);
    expect(reads).toEqual([
      [8, 8, 8],
      [8, 8, 8],
      [9, 9, 16],
      [16, 16, 16],
      [17, 17, 20],
      [20, 20, 20],
    ]);
    expectCounted(s);
    s.close();
  });

  it('stops at MAX_WINDOW_BYTES inside a read chunk: 256 records of 32 KiB, not the rest of the chunk', () => {
    const size = 32 * 1024;
    expect(MAX_WINDOW_BYTES / size).toBe(256);
    const s = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    for (let i = 1; i <= 300; i++) s.append('flow', FLOW, payload(i, size));
    const got = s.peek(1000);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(bulk(s).window.length).toBe(256);
    expect(bulk(s).windowBytes).toBe(MAX_WINDOW_BYTES);
    s.ack(1);
    expect(s.peek(1000).map((r) => r.seq)).toEqual(Array.from({ length: 256 }, (_, i) => i + 2));
    expectCounted(s);
    s.close();
  });
});

describe('spool read window: damage', () => {
  // Six flows of 49 bytes each (24 of header and body fields, the 17-byte topic, 8 of payload).
  const REC = 24 + FLOW.length + 8;
  const at = (seq: number) => 16 + (seq - 1) * REC;
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };

  it.each([
    ['a payload byte in the middle (CRC)', 3, 24 + FLOW.length, Buffer.from('X'), [1, 2, 4, 5, 6]],
    ['the sync word in the middle', 4, 0, u32(0), [1, 2, 3, 5, 6]],
    [
      'a payload byte of the last record (nothing valid after it)',
      6,
      24 + FLOW.length,
      Buffer.from('X'),
      [1, 2, 3, 4, 5],
    ],
    ['the length of the last record, past the file’s end', 6, 4, u32(1_000_000), [1, 2, 3, 4, 5]],
    ['the length of a middle record, past the file’s end', 2, 4, u32(1_000_000), [1, 3, 4, 5, 6]],
  ])('found after open, before the window read it: %s is skipped and counted once', (_, seq, within, bytes, want) => {
    const dir = tempDir();
    const s = Spool.open(dir, { syncIntervalMs: 60_000 });
    for (let i = 1; i <= 6; i++) s.append('flow', FLOW, payload(i));
    damage(dir, at(seq) + within, bytes);
    expect(s.peek(10).map((r) => r.seq)).toEqual(want);
    expect(s.peek(10).map((r) => r.seq)).toEqual(want);
    expect(s.counters.corrupt).toBe(1);
    expectCounted(s);
    // What comes after the damage is read as well.
    s.append('flow', FLOW, payload(7));
    const all = s.peek(10);
    expect(all.map((r) => r.seq)).toEqual([...want, 7]);
    for (const r of all) expect(r.payload.toString()).toBe(payload(r.seq).toString());
    expect(s.counters.corrupt).toBe(1);
    s.close();
  });

  it('found at open, in the middle of a read chunk: skipped, counted once (by open)', () => {
    const dir = tempDir();
    let s = Spool.open(dir);
    for (let i = 1; i <= 6; i++) s.append('flow', FLOW, payload(i));
    s.close();
    damage(dir, at(3) + 24 + FLOW.length, Buffer.from('X'));
    s = Spool.open(dir);
    expect(s.counters.corrupt).toBe(1);
    expect(s.peek(10).map((r) => r.seq)).toEqual([1, 2, 4, 5, 6]);
    expect(s.counters.corrupt).toBe(1);
    s.close();
  });

  it('found at open, where a read chunk starts: skipped, counted once, the rest read on', () => {
    const dir = tempDir();
    let s = Spool.open(dir);
    for (let i = 1; i <= 12; i++) s.append('flow', FLOW, payload(i, CHUNK_RECORD_PAYLOAD));
    s.close();
    // Record 9 starts the second chunk.
    damage(dir, 16 + 8 * 32768 + 100, Buffer.from('X'));
    s = Spool.open(dir);
    expect(s.counters.corrupt).toBe(1);
    expect(s.peek(20).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
    expect(s.counters.corrupt).toBe(1);
    s.close();
  });
});
