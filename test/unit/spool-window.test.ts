// The spool's read window (agent/src/mqtt/spool-window.ts) at its edges:
// exactly MAX_WINDOW_RECORDS records or MAX_WINDOW_BYTES payload bytes past
// the oldest undelivered record, a record longer than one read chunk, and
// the window compacted after many acks — each checked by what peek() gives.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_WINDOW_BYTES, MAX_WINDOW_RECORDS, MIN_SPOOL_BYTES, Spool } from '../../agent/src/mqtt/spool.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'egress-spool-window-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const FLOW = 'egress/v1/gw/flow';
const payload = (i: number, size = 8) => Buffer.from(String(i).padStart(size, '0'));

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
    const got = s.peek(1000);
    expect(got.length).toBe(s.pending);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: got.length }, (_, i) => 261 - got.length + i));
    for (const r of got.slice(0, 5)) s.ack(r.seq);
    expect(s.peek(1)[0].seq).toBe(got[5].seq);
    expect(s.counters.appended).toBe(s.pending + s.counters.delivered + s.counters.dropped_flow);
    s.close();
  });
});
