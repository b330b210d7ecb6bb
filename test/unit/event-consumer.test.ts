// The event thread's side of the ring (output/event-consumer.ts), run on
// this thread: poll, bursts from a pipeline on another thread round the
// ring until DONE, an output that takes part of a write and says EAGAIN, a
// reader that goes away (EPIPE), an output that cannot be written (EBADF),
// a DNS record that does not parse.

import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { drainEvents, EventConsumer } from '../../agent/src/output/event-consumer.js';
import { EventProducer } from '../../agent/src/output/event-producer.js';
import { Ctl, EventRing, RING_BYTES } from '../../agent/src/output/event-ring.js';
import type { AppEventRecord } from '../../agent/src/output/flow-record.js';
import { QUERY } from '../support/dns-vectors.js';
import { BUILT, dir, direct, dnsEvent, give, many, mkfifo, shortReader, v4 } from '../support/event-records.js';

describe("the thread's side, on this thread", () => {
  it('poll() takes what was handed over and gives the room back, without waiting for more', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    const file = join(dir, 'poll.ndjson');
    const fd = openSync(file, 'w');
    const c = new EventConsumer(ring, fd);
    c.poll(); // nothing yet: returns at once
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(0);
    p.line('first');
    p.flush();
    c.poll();
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(Atomics.load(ring.ctl, Ctl.HEAD));
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBeGreaterThan(0);
    p.line('second');
    p.finish();
    c.run();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('first\nsecond\n');
  });

  it('fed by a pipeline on another thread in bursts: waits for each, follows the ring round, ends at DONE', async () => {
    // Lines of many lengths, so batches end anywhere and the ring's end needs padding.
    const lines = Array.from({ length: 97 }, (_, i) => `${i}:${'x'.repeat((i * 331) % 3000)}`);
    const n = 3000;
    const expected = Array.from({ length: n }, (_, i) => `${lines[i % lines.length]}\n`).join('');
    expect(expected.length).toBeGreaterThan(3 * RING_BYTES);
    const ring = EventRing.create();
    const helper = new Worker(
      `const { workerData: w } = require('node:worker_threads');
      (async () => {
        const { EventRing } = await import(w.ring);
        const { EventProducer } = await import(w.producer);
        const p = new EventProducer(new EventRing(w.sab));
        for (let i = 0; i < w.n; i++) {
          p.line(w.lines[i % w.lines.length]);
          if (i % 400 === 399) { p.flush(); await new Promise((r) => setTimeout(r, 15)); }
        }
        p.finish();
      })();`,
      {
        eval: true,
        workerData: { ring: BUILT('event-ring.js'), producer: BUILT('event-producer.js'), sab: ring.sab, lines, n },
      },
    );
    const exited = new Promise((r) => helper.on('exit', r));
    const file = join(dir, 'bursts.ndjson');
    const fd = openSync(file, 'w');
    drainEvents(ring, fd); // here, while the helper hands over its bursts
    closeSync(fd);
    await exited;
    expect(readFileSync(file, 'utf8')).toBe(expected);
  }, 30_000);

  it('an output that is not ready (non-blocking, full): partial writes and waits, every byte in order', async () => {
    const records = many(120);
    const expected = direct(records);
    expect(expected.length).toBeLessThan(RING_BYTES); // all handed over first, then drained here
    expect(expected.length).toBeGreaterThan(4 * 65_536); // more than a pipe holds
    const fifo = join(dir, 'nonblocking.fifo');
    const out = join(dir, 'nonblocking.ndjson');
    await mkfifo(fifo);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const reader = spawn('sh', ['-c', `sleep 0.3; cat "${fifo}" > "${out}"`], { stdio: 'ignore' });
    const readerDone = new Promise((r) => reader.on('exit', r));
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    give(p, records);
    p.finish();
    drainEvents(ring, fd);
    closeSync(fd);
    await readerDone;
    expect(readFileSync(out).equals(expected)).toBe(true);
  }, 30_000);

  it('a reader that goes away (EPIPE): what is left is dropped and the drain ends', async () => {
    const fifo = join(dir, 'epipe.fifo');
    await mkfifo(fifo);
    const reader = shortReader(fifo, 10);
    const fd = openSync(fifo, 'w'); // once head has opened it
    const readerDone = reader.done;
    const records = many(120);
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    // Enough for one written piece (64 KiB, which the empty pipe holds): head reads its 10 bytes and goes.
    const first = 14 * 20;
    expect(direct(records.slice(0, first)).length).toBeGreaterThan(70_000);
    give(p, records.slice(0, first));
    p.flush();
    const c = new EventConsumer(ring, fd);
    c.poll();
    await readerDone;
    give(p, records.slice(first));
    p.finish();
    c.run(); // writes into a pipe with no reader: EPIPE, then drops the rest
    closeSync(fd);
    expect(reader.got()).toBe(direct(records).subarray(0, 10).toString());
    expect(Atomics.load(ring.ctl, Ctl.TAIL)).toBe(Atomics.load(ring.ctl, Ctl.HEAD));
  }, 30_000);

  it('an output that cannot be written (EBADF) is an error, not a wait', () => {
    const file = join(dir, 'read-only-here.ndjson');
    closeSync(openSync(file, 'w'));
    const fd = openSync(file, 'r');
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    p.line('x');
    p.finish();
    expect(() => drainEvents(ring, fd)).toThrow(/EBADF/);
    closeSync(fd);
  });

  it('a DNS record whose bytes do not parse is an error, not a line', () => {
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    const e = dnsEvent(v4(9, 53002, 53, 'UDP'), 1, QUERY);
    const junk = Buffer.from([1, 2, 3]);
    p.app({ ...e, dns: { ...(e.dns as NonNullable<AppEventRecord['dns']>), buf: junk, off: 0, len: junk.length } });
    p.finish();
    const fd = openSync(join(dir, 'junk.ndjson'), 'w');
    expect(() => drainEvents(ring, fd)).toThrow(/does not parse again/);
    closeSync(fd);
    expect(Atomics.load(ring.ctl, Ctl.FAILED)).toBe(1);
  });
});

describe('a string at the very end of the ring', () => {
  it('is written as its own bytes, read by its length as the producer wrote it', () => {
    // An app body whose last member is a short ASCII string, in a record that ends where the
    // string ends; the lines before it fill the ring so that the record ends at the ring's end:
    // the string is the last byte of the ring, and its length says where it stops.
    const app = (text: string): AppEventRecord => ({
      tsUs: 12,
      app: v4(4, 40000, 80),
      type: 'http',
      body: { hostname: text },
      dns: null,
    });
    const ring0 = EventRing.create();
    const p0 = new EventProducer(ring0);
    let rec: AppEventRecord | undefined;
    let size = 0;
    for (let k = 1; k <= 8 && rec === undefined; k++) {
      const start = Atomics.load(ring0.ctl, Ctl.HEAD);
      p0.app(app('x'.repeat(k)));
      p0.flush();
      size = Atomics.load(ring0.ctl, Ctl.HEAD) - start;
      // No padding after the string: its last byte is the record's.
      if (ring0.bytes[start + size - 1] === 0x78) rec = app('x'.repeat(k));
      Atomics.store(ring0.ctl, Ctl.TAIL, Atomics.load(ring0.ctl, Ctl.HEAD));
    }
    expect(rec).toBeDefined();
    expect(size % 8 === 0 && size > 16 && size < 256).toBe(true);
    // Line records of 4,096 bytes (4 + 1 + 4 + 4,087 text, padded to 8), then one for what is left.
    const lines: string[] = [];
    let fill = RING_BYTES - size;
    while (fill > 4096 + 8) {
      lines.push('l'.repeat(4087));
      fill -= 4096;
    }
    lines.push('l'.repeat(fill - 9));
    const records = [...lines.map((line) => ({ line })), { app: rec as AppEventRecord }];
    const ring = EventRing.create();
    const p = new EventProducer(ring);
    give(p, records);
    p.finish();
    // The ring holds exactly these records, the app record last, up to its end.
    expect(Atomics.load(ring.ctl, Ctl.HEAD)).toBe(RING_BYTES);
    expect(ring.bytes[RING_BYTES - 1]).toBe(0x78);
    const file = join(dir, 'ring-end.ndjson');
    const fd = openSync(file, 'w');
    try {
      drainEvents(ring, fd);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file).equals(direct(records))).toBe(true);
  });
});
