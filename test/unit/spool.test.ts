// The MQTT store-and-forward spool: order across restarts, delivery cursor,
// the size bound and its drop order, recovery from a torn or damaged file,
// clear errors for a bad directory (a real crash mid-stream: spool-crash.test.ts).

import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import {
  DEFAULT_SPOOL_OPTIONS,
  MIN_SPOOL_BYTES,
  Spool,
  type SpoolClass,
  type SpoolRecord,
} from '../../agent/src/mqtt/spool.js';
import { fuzzIterations, Rng } from '../support/fuzz.js';
import { TOPIC, tempDirs } from '../support/spool.js';

const tempDir = tempDirs('egress-spool-');

function put(s: Spool, cls: SpoolClass, text: string): number {
  return s.append(cls, TOPIC[cls], Buffer.from(text));
}

const show = (rs: SpoolRecord[]) => rs.map((r) => `${r.seq}:${r.cls}:${r.payload.toString()}`);

function drainAll(s: Spool): SpoolRecord[] {
  const out: SpoolRecord[] = [];
  for (let batch = s.peek(100); batch.length > 0; batch = s.peek(100)) {
    for (const r of batch) {
      out.push(r);
      s.ack(r.seq);
    }
  }
  return out;
}

function segments(dir: string, group: 'alert' | 'bulk'): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${group}-`))
    .sort()
    .map((f) => join(dir, f));
}

describe('spool order and delivery', () => {
  it('gives alerts and sessions first, then flows and stats, each in append order, across a reopen', () => {
    const dir = tempDir();
    const s = Spool.open(dir);
    const seqs = [
      put(s, 'flow', 'f1'),
      put(s, 'alert', 'a1'),
      put(s, 'stats', 's1'),
      put(s, 'session', 'open'),
      put(s, 'alert', 'a2'),
      put(s, 'flow', 'f2'),
    ];
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    const want = ['2:alert:a1', '4:session:open', '5:alert:a2', '1:flow:f1', '3:stats:s1', '6:flow:f2'];
    expect(show(s.peek(10))).toEqual(want);
    expect(show(s.peek(10))).toEqual(want); // peek does not consume
    expect(show(s.peek(2))).toEqual(want.slice(0, 2));
    expect(s.pending).toBe(6);
    s.close();

    const again = Spool.open(dir);
    expect(again.counters.recovered).toBe(6);
    expect(show(again.peek(10))).toEqual(want);
    expect(put(again, 'alert', 'a3')).toBe(7); // sequence numbers go on across restarts
    expect(show(again.peek(4)).at(-1)).toBe('7:alert:a3');
    again.close();
  });

  it('persists acks: delivered records do not come back after a reopen', () => {
    const dir = tempDir();
    const s = Spool.open(dir);
    for (let i = 1; i <= 10; i++) put(s, i % 2 ? 'alert' : 'flow', `m${i}`);
    const first = s.peek(10);
    // Acked in PUBACK order, which need not be publish order.
    for (const r of [first[2], first[0], first[1], first[6]]) s.ack(r.seq);
    s.ack(first[0].seq); // a repeated ack changes nothing
    s.ack(999); // nor does an unknown one
    expect(s.pending).toBe(6);
    expect(s.counters.delivered).toBe(4);
    expect(show(s.peek(10))).not.toContain(show([first[6]])[0]);
    s.close();

    const again = Spool.open(dir);
    // The alert group's first three are behind the cursor; the flow acked ahead of an
    // unacked one is redelivered (at least once), never lost.
    expect(show(again.peek(10))).toEqual(show([first[3], first[4], first[5], first[6], first[7], first[8], first[9]]));
    expect(drainAll(again).length).toBe(7);
    expect(again.pending).toBe(0);
    again.close();
    const empty = Spool.open(dir);
    expect([empty.pending, empty.peek(10).length]).toEqual([0, 0]);
    expect(put(empty, 'alert', 'next')).toBe(11);
    empty.close();
  });

  it('keeps acks across a crash before the group commit: only unacked records come back', () => {
    const dir = tempDir();
    // No group commit happens within the test: what a crash leaves is only what was write()n.
    const s = Spool.open(dir, { ...DEFAULT_SPOOL_OPTIONS, syncIntervalMs: 60_000 });
    for (let i = 1; i <= 10; i++) put(s, 'alert', `a${i}`);
    const first = s.peek(10);
    for (const r of first.slice(0, 6)) s.ack(r.seq);
    // The handle is abandoned, as by SIGKILL: no sync(), no close().
    const again = Spool.open(dir);
    expect(show(again.peek(10))).toEqual(show(first.slice(6)));
    again.close();
  });

  it('deletes segments once every record in them is delivered', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    const payload = 'x'.repeat(1000);
    for (let i = 0; i < 400; i++) put(s, 'alert', payload);
    expect(segments(dir, 'alert').length).toBeGreaterThan(3);
    const before = s.bytes;
    drainAll(s);
    expect(segments(dir, 'alert').length).toBe(1);
    expect(s.bytes).toBeLessThan(before / 3);
    s.close();
  });
});

describe('spool bound', () => {
  it('never passes maxBytes; drops the oldest flows and stats before any alert, and counts each', () => {
    const dir = tempDir();
    const maxBytes = MIN_SPOOL_BYTES;
    const s = Spool.open(dir, { maxBytes });
    const body = (tag: string, i: number) => `${tag}${i}:${'.'.repeat(200)}`;
    let alerts = 0;
    let bulk = 0;
    for (let i = 0; i < 3000; i++) {
      if (i % 10 === 0) put(s, 'alert', body('a', alerts++));
      else put(s, i % 3 ? 'flow' : 'stats', body('f', bulk++));
      expect(s.bytes).toBeLessThanOrEqual(maxBytes);
    }
    const c = s.counters;
    expect(c.dropped_flow + c.dropped_stats).toBeGreaterThan(0);
    expect(c.dropped_alert).toBe(0);
    expect(c.appended).toBe(3000);
    expect(c.appended).toBe(s.pending + c.dropped_flow + c.dropped_stats + c.dropped_alert + c.dropped_session);
    const all = s.peek(10_000);
    const alertTexts = all.filter((r) => r.cls === 'alert').map((r) => r.payload.toString().split(':')[0]);
    expect(alertTexts).toEqual(Array.from({ length: alerts }, (_, i) => `a${i}`));
    // What is left of the flows is the newest, in order.
    const flowNums = all
      .filter((r) => r.cls !== 'alert')
      .map((r) => Number(r.payload.toString().split(':')[0].slice(1)));
    expect(flowNums.at(-1)).toBe(bulk - 1);
    expect(flowNums).toEqual([...flowNums].sort((a, b) => a - b));

    // Only alerts now: the oldest alerts go, counted, the newest stay.
    for (let i = 0; i < 3000; i++) put(s, 'alert', body('a', alerts++));
    expect(s.bytes).toBeLessThanOrEqual(maxBytes);
    expect(s.counters.dropped_alert).toBeGreaterThan(0);
    const left = s.peek(10_000).filter((r) => r.cls === 'alert');
    expect(left.at(-1)!.payload.toString().split(':')[0]).toBe(`a${alerts - 1}`);
    const nums = left.map((r) => Number(r.payload.toString().split(':')[0].slice(1)));
    expect(nums).toEqual(Array.from({ length: nums.length }, (_, i) => alerts - nums.length + i));
    expect(s.counters.appended).toBe(
      s.pending + s.counters.dropped_flow + s.counters.dropped_stats + s.counters.dropped_alert,
    );
    s.close();
    // The bound holds on disk too.
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(maxBytes);
  });

  it('refuses a record larger than a segment, counting it', () => {
    const s = Spool.open(tempDir(), { maxBytes: MIN_SPOOL_BYTES });
    expect(s.append('flow', TOPIC.flow, Buffer.alloc(200_000))).toBe(-1);
    expect(s.counters.dropped_flow).toBe(1);
    s.close();
  });
});

describe('spool recovery', () => {
  it('cuts a torn record at the end (a crash mid-write), counts it once, and goes on', () => {
    const dir = tempDir();
    const s = Spool.open(dir);
    for (let i = 0; i < 5; i++) put(s, 'alert', `a${i}`);
    s.close();
    const [seg] = segments(dir, 'alert');
    truncateSync(seg, statSync(seg).size - 3);
    const again = Spool.open(dir);
    expect(again.counters.torn).toBe(1);
    expect(show(again.peek(10))).toEqual(['1:alert:a0', '2:alert:a1', '3:alert:a2', '4:alert:a3']);
    expect(put(again, 'alert', 'after')).toBe(5); // seq 5 never reached the disk whole
    again.close();
    const third = Spool.open(dir);
    expect(third.counters.torn).toBe(0);
    expect(show(third.peek(10)).at(-1)).toBe('5:alert:after');
    third.close();
  });

  it('skips a damaged record in the middle, counting it, and keeps the rest in order', () => {
    const dir = tempDir();
    const s = Spool.open(dir);
    for (let i = 0; i < 5; i++) put(s, 'flow', `f${i}-payload`);
    s.close();
    const [seg] = segments(dir, 'bulk');
    const bytes = readFileSync(seg);
    const at = bytes.indexOf('f2-payload');
    bytes[at + 3] ^= 0xff;
    writeFileSync(seg, bytes);
    const again = Spool.open(dir);
    expect(again.counters.corrupt).toBe(1);
    expect(again.pending).toBe(4);
    expect(show(drainAll(again))).toEqual([
      '1:flow:f0-payload',
      '2:flow:f1-payload',
      '4:flow:f3-payload',
      '5:flow:f4-payload',
    ]);
    expect(again.counters.corrupt).toBe(1); // counted once, not again when read
    again.close();
  });

  it('stops on a file that is not a spool segment (EGRESS_SPOOL_CORRUPT)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'alert-0000000000000001.seg'), 'PK\x03\x04 not a spool segment');
    const err = catchError(() => Spool.open(dir));
    expect(err.code).toBe('EGRESS_SPOOL_CORRUPT');
    expect(err.toLine()).toMatch(/EGRESS_SPOOL_CORRUPT at byte 0 of .*alert-0000000000000001\.seg: .*bad magic/);
  });

  it('refuses a directory it cannot use, or one another live process holds (EGRESS_SPOOL_UNWRITABLE)', () => {
    const base = tempDir();
    writeFileSync(join(base, 'file'), '');
    expect(catchError(() => Spool.open(join(base, 'file', 'spool'))).code).toBe('EGRESS_SPOOL_UNWRITABLE');
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);
    const err = catchError(() => Spool.open(dir));
    expect(err.code).toBe('EGRESS_SPOOL_UNWRITABLE');
    expect(err.message).toContain(`in use by process ${process.ppid}`);
    // A lock left by a process that is gone is taken over.
    writeFileSync(join(dir, 'lock'), '999999999\n');
    Spool.open(dir).close();
  });
});

function catchError(fn: () => unknown): EgressError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EgressError);
    return err as EgressError;
  }
  throw new Error('expected an EgressError');
}

describe('spool under random use (seeded)', () => {
  it('loses nothing and keeps each group in order through appends, out-of-order acks, rotations and reopens', () => {
    const seed = 0x51_00_17;
    const rng = new Rng(seed);
    const dir = tempDir();
    const opts = { maxBytes: 16 * 1024 * 1024 };
    let s = Spool.open(dir, opts);
    const appended = new Map<number, string>();
    const delivered = new Set<number>();
    const classes: SpoolClass[] = ['alert', 'flow', 'stats', 'session'];
    // 4000 steps; fewer when FUZZ_ITERATIONS says so (a mutation run of the spool sets 1000).
    const steps = Math.min(4000, fuzzIterations(4000));
    for (let step = 0; step < steps; step++) {
      const op = rng.below(100);
      if (op < 55) {
        const cls = rng.pick(classes);
        const text = `${cls}-${step}-${'p'.repeat(rng.below(3000))}`;
        appended.set(put(s, cls, text), text);
      } else if (op < 95) {
        const batch = s.peek(1 + rng.below(40));
        const where = `seed ${seed} step ${step}`;
        // Alert group first, each group in seq order.
        const groupOf = (r: SpoolRecord) => (r.cls === 'alert' || r.cls === 'session' ? 0 : 1);
        for (let i = 1; i < batch.length; i++) {
          const a = batch[i - 1];
          const b = batch[i];
          expect(groupOf(a) < groupOf(b) || (groupOf(a) === groupOf(b) && a.seq < b.seq), where).toBe(true);
        }
        for (const r of batch) {
          expect(r.payload.toString(), where).toBe(appended.get(r.seq));
          if (rng.chance(0.7)) {
            s.ack(r.seq);
            delivered.add(r.seq);
          }
        }
      } else {
        if (rng.chance(0.5)) s.close();
        else s.sync(); // as after a crash: the old handle is abandoned
        s = Spool.open(dir, opts);
        expect(s.counters.torn + s.counters.corrupt, `seed ${seed} step ${step}`).toBe(0);
      }
    }
    // Everything appended is delivered or still pending; nothing was dropped.
    for (const r of drainAll(s)) delivered.add(r.seq);
    expect([...appended.keys()].filter((q) => !delivered.has(q))).toEqual([]);
    expect(s.pending).toBe(0);
    s.close();
  });
});
