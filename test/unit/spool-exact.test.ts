// The store-and-forward spool (agent/src/mqtt/spool.ts and its files,
// recovery and group commit) at its exact edges: the options it refuses, the
// largest record, a segment filled to the byte, the bound met to the byte,
// dropping a group's only segment, the bytes and sequence numbers after a
// reopen, files and descriptors after close, what a crash leaves (a segment
// without its header, segments fully delivered but not yet deleted, damage at
// the end of an older segment), the directory's and files' modes, clear
// errors for files it cannot use, and what is due for fsync and when.

import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgressError } from '../../agent/src/errors.js';
import { MIN_SPOOL_BYTES, Spool } from '../../agent/src/mqtt/spool.js';
import { CURSOR_SLOT, CURSOR_SLOT_OFFSETS, decodeCursor, segmentHeader } from '../../agent/src/mqtt/spool-format.js';
import { TOPIC, tempDirs } from '../support/spool.js';

const tempDir = tempDirs('egress-spool-exact-');

/** Bytes of a record besides topic and payload: 12 of header, 12 of body fields. */
const FIXED = 24;
/** At maxBytes = MIN_SPOOL_BYTES (256 KiB) a segment is 64 KiB: 16 of header and 65520 of records. */
const SEGMENT = 64 * 1024;
/** 65520 = 63 × 1040: flow records of 1040 bytes fill a segment to the byte. */
const REC = 1040;
const flowPayload = (i: number) => Buffer.from(`${i}:`.padEnd(REC - FIXED - TOPIC.flow.length, '.'));
const alertPayload = (i: number) => Buffer.from(`${i}:`.padEnd(REC - FIXED - TOPIC.alert.length, '.'));

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg') && f.startsWith(prefix))
    .sort();
}
const diskBytes = (dir: string) => files(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

/** Descriptors this process holds on files in `dir`. */
function openFds(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === dir || target.startsWith(`${dir}/`)) out.push(target);
    } catch {}
  }
  return out;
}

interface SegView {
  path: string;
  dirty: boolean;
  fd: number;
}
interface Internals {
  groups: { segments: SegView[] }[];
  cursor: { dirty: boolean; unsynced: boolean; generation: number };
}
const inside = (s: Spool) => s as unknown as Internals;

/** The generation of the newest intact cursor slot on disk (0: none). */
function cursorGeneration(dir: string): number {
  const b = readFileSync(join(dir, 'cursor'));
  let best = 0;
  for (const off of CURSOR_SLOT_OFFSETS) {
    const c = decodeCursor(b.subarray(off, off + CURSOR_SLOT));
    if (c !== null) best = Math.max(best, c.generation);
  }
  return best;
}

/** Wait (at most 5 s) until `ok()` holds: the background round runs on a timer. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('spool options and sizes', () => {
  it.each([
    [{ maxBytes: MIN_SPOOL_BYTES - 1 }, false],
    [{ maxBytes: Number.NaN }, false],
    [{ syncIntervalMs: -1 }, false],
    [{ syncIntervalMs: Number.NaN }, false],
    [{ maxBytes: MIN_SPOOL_BYTES }, true],
    [{ syncIntervalMs: 0 }, true],
  ])('options %o accepted: %s', (options, ok) => {
    const dir = tempDir();
    if (ok) {
      Spool.open(dir, options).close();
      return;
    }
    const err = caught(() => Spool.open(dir, options));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(`spool maxBytes must be >= ${MIN_SPOOL_BYTES} and syncIntervalMs >= 0`);
    // Nothing was made or locked.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes a record of exactly a segment less its header, refuses one byte more', () => {
    const s = Spool.open(tempDir(), { maxBytes: MIN_SPOOL_BYTES });
    const most = SEGMENT - 16 - FIXED - TOPIC.flow.length;
    expect(s.append('flow', TOPIC.flow, Buffer.alloc(most + 1))).toBe(-1);
    expect(s.append('flow', TOPIC.flow, Buffer.alloc(most))).toBe(1);
    expect(s.counters.dropped_flow).toBe(1);
    expect(s.bytes).toBe(SEGMENT);
    s.close();
  });

  it('fills a segment to the byte before the next starts; fills the bound to the byte before dropping', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    expect(s.bytes).toBe(0);
    expect(s.append('flow', TOPIC.flow, flowPayload(1))).toBe(1);
    expect(s.bytes).toBe(16 + REC);
    for (let i = 2; i <= 63; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    expect(files(dir).map((f) => statSync(join(dir, f)).size)).toEqual([SEGMENT]);
    s.append('flow', TOPIC.flow, flowPayload(64));
    expect(files(dir).map((f) => statSync(join(dir, f)).size)).toEqual([SEGMENT, 16 + REC]);
    // Four full segments are exactly maxBytes: nothing dropped yet.
    for (let i = 65; i <= 4 * 63; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    expect([s.bytes, s.counters.dropped_flow, files(dir).length]).toEqual([MIN_SPOOL_BYTES, 0, 4]);
    // One more needs a new segment: the oldest goes, its 63 records counted.
    s.append('flow', TOPIC.flow, flowPayload(4 * 63 + 1));
    expect([s.bytes, s.counters.dropped_flow, files(dir).length]).toEqual([3 * SEGMENT + 16 + REC, 63, 4]);
    expect(s.bytes).toBe(diskBytes(dir));
    s.close();
  });

  it('counts the new segment’s header when deciding to drop: room for the record alone is not enough', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    // Three full flow segments and an alert segment with 62 records: 1040 bytes of room, and the
    // next flow needs a segment of its own (16 bytes more).
    for (let i = 1; i <= 3 * 63; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    for (let i = 1; i <= 62; i++) s.append('alert', TOPIC.alert, alertPayload(i));
    expect(MIN_SPOOL_BYTES - s.bytes).toBe(REC);
    s.append('flow', TOPIC.flow, flowPayload(1000));
    expect(s.counters.dropped_flow).toBe(63);
    expect(s.bytes).toBeLessThanOrEqual(MIN_SPOOL_BYTES);
    expect(s.bytes).toBe(diskBytes(dir));
    s.close();
  });
});

describe('spool dropping', () => {
  it('drops a group’s only segment (starting a new one), and more than one segment when one is not enough', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    s.append('flow', TOPIC.flow, Buffer.from('tiny'));
    let a = 0;
    while (s.counters.dropped_flow === 0) {
      s.append('alert', TOPIC.alert, alertPayload(++a));
      expect(s.bytes).toBeLessThanOrEqual(MIN_SPOOL_BYTES);
    }
    // The flow's segment alone freed too little: the oldest alert segment went too.
    expect(s.counters.dropped_flow).toBe(1);
    expect(s.counters.dropped_alert).toBe(63);
    expect(s.bytes).toBe(diskBytes(dir));
    expect(files(dir, 'bulk-').map((f) => statSync(join(dir, f)).size)).toEqual([16]);
    // Its header is due for fsync with the next group commit.
    expect(inside(s).groups[1].segments.map((x) => x.dirty)).toEqual([true]);
    // The flow group goes on in its new segment.
    const seq = s.append('flow', TOPIC.flow, Buffer.from('after'));
    const got = s.peek(1000);
    expect(got.at(-1)).toMatchObject({ seq, cls: 'flow' });
    expect(got.filter((r) => r.cls === 'alert').map((r) => r.seq)).toEqual(
      Array.from({ length: a - 63 }, (_, i) => i + 65),
    );
    expect(s.counters.appended).toBe(s.pending + s.counters.dropped_alert + s.counters.dropped_flow);
    s.close();
  });

  it('with only alerts and then an emptied flow group, drops alerts (no flow segment made or dropped)', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    for (let i = 1; i <= 5 * 63; i++) s.append('alert', TOPIC.alert, alertPayload(i));
    expect(files(dir, 'bulk-')).toEqual([]);
    expect(s.counters.dropped_alert).toBe(63);
    // Flows, all dropped, leave an empty flow segment; alerts go on and are dropped in turn.
    for (let i = 1; i <= 63; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    for (let i = 1; i <= 3 * 63; i++) s.append('alert', TOPIC.alert, alertPayload(i));
    expect(s.counters.dropped_flow).toBe(63);
    expect(files(dir, 'bulk-').map((f) => statSync(join(dir, f)).size)).toEqual([16]);
    expect(s.bytes).toBeLessThanOrEqual(MIN_SPOOL_BYTES);
    expect(s.bytes).toBe(diskBytes(dir));
    s.close();
  });
});

describe('spool delivery edges', () => {
  it('a repeated ack of a record acked out of order changes nothing', () => {
    const s = Spool.open(tempDir());
    for (let i = 1; i <= 4; i++) s.append('alert', TOPIC.alert, Buffer.from(`a${i}`));
    expect(s.peek(4).length).toBe(4);
    s.ack(3);
    s.ack(3);
    expect([s.pending, s.counters.delivered]).toEqual([3, 1]);
    expect(s.peek(4).map((r) => r.seq)).toEqual([1, 2, 4]);
    s.close();
  });

  it('peek reads the flow group only as far as the rest of `max` needs', () => {
    const s = Spool.open(tempDir());
    for (let i = 1; i <= 3; i++) s.append('alert', TOPIC.alert, Buffer.from(`a${i}`));
    // Flow records of exactly 32 KiB: a 256 KiB read chunk holds 8.
    for (let i = 1; i <= 20; i++) s.append('flow', TOPIC.flow, Buffer.alloc(32768 - FIXED - TOPIC.flow.length));
    expect(s.peek(11).map((r) => r.cls)).toEqual([...Array(3).fill('alert'), ...Array(8).fill('flow')]);
    expect((s as unknown as { groups: { window: unknown[] }[] }).groups[1].window.length).toBe(8);
    expect(s.peek(3).map((r) => r.cls)).toEqual(['alert', 'alert', 'alert']);
    s.close();
  });

  it('sequence numbers go on after a reopen: from the files, and from the cursor when the files are gone', () => {
    const dir = tempDir();
    let s = Spool.open(dir);
    expect(s.append('alert', TOPIC.alert, Buffer.from('one'))).toBe(1);
    s.close();
    s = Spool.open(dir);
    expect(s.append('alert', TOPIC.alert, Buffer.from('two'))).toBe(2);
    expect(s.peek(5).length).toBe(2);
    s.ack(1);
    s.ack(2);
    s.close();
    for (const f of files(dir)) rmSync(join(dir, f));
    s = Spool.open(dir);
    expect(s.append('alert', TOPIC.alert, Buffer.from('three'))).toBe(3);
    s.close();
  });

  it('bytes after a reopen are the files’ bytes', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    for (let i = 1; i <= 100; i++)
      s.append(i % 2 ? 'flow' : 'alert', i % 2 ? TOPIC.flow : TOPIC.alert, Buffer.from(`${i}`));
    const bytes = s.bytes;
    s.close();
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    expect([s.bytes, diskBytes(dir)]).toEqual([bytes, bytes]);
    s.close();
  });
});

describe('spool close', () => {
  it('closes every descriptor and removes its lock; a second close of an old handle leaves a new owner’s lock', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    for (let i = 1; i <= 200; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    s.append('alert', TOPIC.alert, Buffer.from('a'));
    expect(s.peek(300).length).toBe(201);
    s.ack(1);
    expect(openFds(dir).length).toBeGreaterThan(2);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(statSync(join(dir, 'lock')).mode & 0o777).toBe(0o600);
    s.close();
    expect(openFds(dir)).toEqual([]);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    expect(() => s.peek(1)).toThrow(`spool ${dir} is closed`);
    expect(() => s.append('flow', TOPIC.flow, Buffer.from('x'))).toThrow(/is closed/);
    expect(() => s.ack(2)).toThrow(/is closed/);
    const again = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    s.close();
    expect(existsSync(join(dir, 'lock'))).toBe(true);
    // Segments found at open are opened when read, and closed again.
    expect(again.peek(300).length).toBe(again.pending);
    for (let i = 0; i < 50; i++) again.append('flow', TOPIC.flow, flowPayload(i));
    again.close();
    expect(openFds(dir)).toEqual([]);
  });
});

describe('spool recovery edges', () => {
  it('deletes segments left fully delivered by a crash before their deletion', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    for (let i = 1; i <= 150; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    const [first, second] = files(dir);
    const keep = readFileSync(join(dir, first));
    for (const r of s.peek(63)) s.ack(r.seq);
    expect(files(dir)[0]).toBe(second);
    s.close();
    // The crash came between the cursor's write and the file's deletion.
    writeFileSync(join(dir, first), keep);
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    expect(files(dir)[0]).toBe(second);
    expect(s.peek(1)[0].seq).toBe(64);
    expect(s.bytes).toBe(diskBytes(dir));
    // All delivered: only the newest segment stays.
    for (let b = s.peek(100); b.length > 0; b = s.peek(100)) for (const r of b) s.ack(r.seq);
    const last = files(dir).at(-1)!;
    s.close();
    writeFileSync(join(dir, first), keep);
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    expect(files(dir)).toEqual([last]);
    expect([s.pending, s.bytes]).toEqual([0, diskBytes(dir)]);
    expect(s.append('flow', TOPIC.flow, Buffer.from('next'))).toBe(151);
    s.close();
  });

  it('keeps segments in sequence order whatever order the directory lists them in', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    for (let i = 1; i <= 63 * 12; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    s.close();
    expect(files(dir).length).toBe(12);
    // Written again in a shuffled order (every second one first): the order they were made in says nothing.
    const saved = files(dir).map((f) => [f, readFileSync(join(dir, f))] as const);
    for (const [f] of saved) rmSync(join(dir, f));
    for (const [f, bytes] of [...saved.filter((_, i) => i % 2), ...saved.filter((_, i) => !(i % 2))])
      writeFileSync(join(dir, f), bytes);
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES * 4 });
    const got = s.peek(10_000);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: 63 * 12 }, (_, i) => i + 1));
    s.close();
  });

  it('a damaged last record of an older segment is skipped and counted (not cut as torn); the next segment is read', () => {
    const dir = tempDir();
    let s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    for (let i = 1; i <= 70; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    s.close();
    const [first] = files(dir);
    const fd = openSync(join(dir, first), 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, SEGMENT - 10); // in record 63's payload
    closeSync(fd);
    s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES });
    expect([s.counters.corrupt, s.counters.torn]).toEqual([1, 0]);
    expect(statSync(join(dir, first)).size).toBe(SEGMENT);
    const want = Array.from({ length: 70 }, (_, i) => i + 1).filter((q) => q !== 63);
    expect(s.peek(100).map((r) => r.seq)).toEqual(want);
    expect([s.pending, s.counters.corrupt]).toEqual([69, 1]);
    s.close();
  });

  it('places the head past delivered records even when a delivered one was damaged', () => {
    const dir = tempDir();
    let s = Spool.open(dir);
    for (let i = 1; i <= 5; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    s.peek(5);
    s.ack(1);
    s.ack(2);
    s.close();
    const [seg] = files(dir);
    const fd = openSync(join(dir, seg), 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, 16 + 100); // record 1's payload
    closeSync(fd);
    s = Spool.open(dir);
    expect(s.counters.corrupt).toBe(1);
    expect(s.peek(10).map((r) => r.seq)).toEqual([3, 4, 5]);
    s.close();
  });

  it('a newest segment whose header never reached the disk is started again; an older one, or one not all zeros, is refused', () => {
    const dir = tempDir();
    let s = Spool.open(dir);
    for (let i = 1; i <= 3; i++) s.append('alert', TOPIC.alert, Buffer.from(`a${i}`));
    s.close();
    const empty = join(dir, 'alert-0000000000000004.seg');
    writeFileSync(empty, Buffer.alloc(7));
    s = Spool.open(dir);
    expect(readFileSync(empty)).toEqual(segmentHeader(0));
    expect(s.append('alert', TOPIC.alert, Buffer.from('a4'))).toBe(4);
    expect(s.peek(10).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(s.bytes).toBe(diskBytes(dir));
    s.close();

    for (const [name, bytes] of [
      ['alert-0000000000000009.seg', Buffer.from([0, 0, 1])], // newest, not all zeros
      ['alert-0000000000000009.seg', Buffer.alloc(16)], // newest, 16 zero bytes: a header that is wrong
    ] as const) {
      const d = tempDir();
      writeFileSync(join(d, name), bytes);
      const err = caught(() => Spool.open(d)) as EgressError;
      expect(err.code).toBe('EGRESS_SPOOL_CORRUPT');
    }
    // An older segment without a header (a newer one follows).
    const d = tempDir();
    writeFileSync(join(d, 'alert-0000000000000001.seg'), Buffer.alloc(0));
    writeFileSync(join(d, 'alert-0000000000000002.seg'), segmentHeader(0));
    expect((caught(() => Spool.open(d)) as EgressError).code).toBe('EGRESS_SPOOL_CORRUPT');
  });
});

describe('spool directory and files', () => {
  it('closes a directory and files an older version left open (0700, 0600), not its subfolders', () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'cursor'), '', { mode: 0o644 });
    chmodSync(join(dir, 'cursor'), 0o644);
    mkdirSync(join(dir, 'keep'), { mode: 0o755 });
    chmodSync(join(dir, 'keep'), 0o755);
    const s = Spool.open(dir);
    s.append('flow', TOPIC.flow, Buffer.from('x'));
    s.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'cursor')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keep')).mode & 0o777).toBe(0o755);
    for (const f of files(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('says EGRESS_SPOOL_UNWRITABLE, naming the directory and the cause, for files it cannot use', () => {
    const cases: [string, (dir: string) => string, RegExp][] = [
      [
        'the directory is under a file',
        (base) => {
          writeFileSync(join(base, 'file'), '');
          return join(base, 'file', 'spool');
        },
        /: cannot create the directory: ENOTDIR ENOTDIR: /,
      ],
      [
        'the lock is a folder',
        (dir) => {
          mkdirSync(join(dir, 'lock'));
          return dir;
        },
        /: cannot write: EISDIR EISDIR: /,
      ],
      [
        'the cursor is a folder',
        (dir) => {
          mkdirSync(join(dir, 'cursor'));
          return dir;
        },
        /: cannot open its cursor file: EISDIR EISDIR: /,
      ],
      [
        'a segment is a folder',
        (dir) => {
          mkdirSync(join(dir, 'bulk-0000000000000001.seg'));
          return dir;
        },
        /: cannot read .*bulk-0000000000000001\.seg: EISDIR EISDIR: /,
      ],
    ];
    for (const [what, make, message] of cases) {
      const dir = make(tempDir());
      const err = caught(() => Spool.open(dir)) as EgressError;
      expect(err, what).toBeInstanceOf(EgressError);
      expect([err.code, err.facts], what).toEqual(['EGRESS_SPOOL_UNWRITABLE', { file: dir }]);
      expect(err.message, what).toMatch(new RegExp(`^spool ${dir}${message.source}`));
      expect(existsSync(join(dir, 'lock')) && statSync(join(dir, 'lock')).isFile(), what).toBe(false);
    }
  });

  it('another live process holding the directory: EGRESS_SPOOL_UNWRITABLE naming the directory and the process', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);
    const err = caught(() => Spool.open(dir)) as EgressError;
    expect([err.code, err.facts]).toEqual(['EGRESS_SPOOL_UNWRITABLE', { file: dir, pid: process.ppid }]);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('a new segment whose name is taken, and an append the file refuses: EGRESS_SPOOL_UNWRITABLE, the record counted as dropped', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { syncIntervalMs: 60_000 });
    mkdirSync(join(dir, 'alert-0000000000000001.seg'));
    const made = caught(() => s.append('alert', TOPIC.alert, Buffer.from('a'))) as EgressError;
    expect(made.code).toBe('EGRESS_SPOOL_UNWRITABLE');
    expect(made.message).toMatch(/: cannot open .*alert-0000000000000001\.seg: EEXIST /);
    rmSync(join(dir, 'alert-0000000000000001.seg'), { recursive: true });
    s.close();

    const t = Spool.open(tempDir(), { syncIntervalMs: 60_000 });
    expect(t.append('flow', TOPIC.flow, Buffer.from('one'))).toBe(1);
    const seg = inside(t).groups[1].segments[0];
    const before = readFileSync(seg.path);
    // The descriptor now refuses writes (as a file system gone read-only would).
    closeSync(seg.fd);
    seg.fd = openSync(seg.path, 'r');
    const err = caught(() => t.append('flow', TOPIC.flow, Buffer.from('two'))) as EgressError;
    expect(err.code).toBe('EGRESS_SPOOL_UNWRITABLE');
    expect(err.message).toMatch(/: cannot append to .*bulk-0000000000000001\.seg: EBADF /);
    expect([t.counters.dropped_flow, t.pending, t.counters.appended]).toEqual([1, 1, 1]);
    expect(readFileSync(seg.path)).toEqual(before);
    t.close();
  });
});

describe('spool group commit', () => {
  it('syncIntervalMs 0: every append and ack is synced before it returns', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { syncIntervalMs: 0 });
    s.append('flow', TOPIC.flow, Buffer.from('one'));
    const g = inside(s);
    expect(g.groups[1].segments.map((x) => x.dirty)).toEqual([false]);
    s.peek(1);
    s.ack(1);
    expect([g.cursor.dirty, g.cursor.unsynced, cursorGeneration(dir)]).toEqual([false, false, 1]);
    s.close();
  });

  it('a long interval: appends wait for sync(); an ack writes the cursor at once, sync() makes it durable', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { syncIntervalMs: 60_000 });
    const g = inside(s);
    expect([g.cursor.dirty, g.cursor.unsynced]).toEqual([false, false]);
    for (let i = 1; i <= 3; i++) s.append('flow', TOPIC.flow, Buffer.from(`${i}`));
    expect(g.groups[1].segments.map((x) => x.dirty)).toEqual([true]);
    s.peek(3);
    s.ack(1);
    expect([g.cursor.dirty, g.cursor.unsynced, cursorGeneration(dir)]).toEqual([false, true, 1]);
    s.ack(3); // out of order: the cursor does not move
    expect(cursorGeneration(dir)).toBe(1);
    s.sync();
    expect(g.groups[1].segments.map((x) => x.dirty)).toEqual([false]);
    expect([g.cursor.dirty, g.cursor.unsynced, cursorGeneration(dir)]).toEqual([false, false, 1]);
    s.ack(2);
    expect(cursorGeneration(dir)).toBe(2);
    s.close();
    expect(cursorGeneration(dir)).toBe(2);
  });

  it('sync() writes the cursor a drop moved (no ack wrote it)', () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 60_000 });
    const g = inside(s);
    for (let i = 1; i <= 4 * 63 + 1; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    expect(s.counters.dropped_flow).toBe(63);
    expect([g.cursor.dirty, cursorGeneration(dir)]).toEqual([true, 0]);
    s.sync();
    expect([g.cursor.dirty, g.cursor.unsynced, cursorGeneration(dir)]).toEqual([false, false, 1]);
    s.close();
    expect(cursorGeneration(dir)).toBe(1);
  });

  it('the background round syncs what was written and the cursor a drop moved, once the interval has passed', async () => {
    const dir = tempDir();
    const s = Spool.open(dir, { maxBytes: MIN_SPOOL_BYTES, syncIntervalMs: 5 });
    const g = inside(s);
    for (let i = 1; i <= 4 * 63; i++) s.append('flow', TOPIC.flow, flowPayload(i));
    await until(() => !g.groups[1].segments.at(-1)!.dirty);
    expect(g.groups[1].segments.map((x) => x.dirty)).toEqual([false, false, false, false]);
    expect(g.cursor.unsynced).toBe(false);
    // A drop moves the cursor without an ack: written by the next round.
    s.append('flow', TOPIC.flow, flowPayload(1000));
    expect(s.counters.dropped_flow).toBe(63);
    expect(g.cursor.dirty).toBe(true);
    const gen = cursorGeneration(dir);
    await until(() => !g.cursor.dirty);
    expect([g.cursor.dirty, g.cursor.unsynced]).toEqual([false, false]);
    expect(cursorGeneration(dir)).toBe(gen + 1);
    expect(g.groups[1].segments.every((x) => !x.dirty)).toBe(true);
    // Appends and acks in a burst: one round after the interval, which finds every file synced.
    for (let i = 0; i < 20; i++) s.append('flow', TOPIC.flow, Buffer.from(`b${i}`));
    for (const r of s.peek(10)) s.ack(r.seq);
    await until(() => !g.cursor.unsynced && g.groups[1].segments.every((x) => !x.dirty));
    expect([g.cursor.dirty, g.cursor.unsynced]).toEqual([false, false]);
    expect(g.groups[1].segments.every((x) => !x.dirty)).toBe(true);
    expect(s.counters.sync_errors).toBe(0);
    // A round for appends alone leaves the cursor as it is.
    const settled = cursorGeneration(dir);
    s.append('flow', TOPIC.flow, Buffer.from('late'));
    await until(() => !g.groups[1].segments.at(-1)!.dirty);
    await new Promise((r) => setTimeout(r, 20));
    expect(cursorGeneration(dir)).toBe(settled);
    s.close();
  });

  it('after close no round runs: a pending timer is cancelled', async () => {
    const dir = tempDir();
    const s = Spool.open(dir, { syncIntervalMs: 20 });
    s.append('flow', TOPIC.flow, Buffer.from('x'));
    s.close();
    const gen = cursorGeneration(dir);
    await new Promise((r) => setTimeout(r, 60));
    expect(cursorGeneration(dir)).toBe(gen);
    expect(s.counters.sync_errors).toBe(0);
  });
});
