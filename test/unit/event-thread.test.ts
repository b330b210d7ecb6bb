// The event thread itself (output/event-thread.ts, event-worker.ts, built):
// the ring several times round, a pipeline held up by a reader that does not
// read, a reader that goes away, abandoned, not started, failed; and the
// QUIC look-ahead in the same worker.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RING_BYTES } from '../../agent/src/output/event-ring.js';
import { EventThread } from '../../agent/src/output/event-thread.js';
import { dir, direct, give, many, mkfifo, shortReader, variety, WORKER } from '../support/event-records.js';
import { FIXTURES_DIR } from '../support/fixtures.js';
import { scan, workerAhead } from '../support/quic-ahead.js';

describe('the event thread', () => {
  it('with the QUIC look-ahead in the same worker: the pipeline takes every first Initial from it', async () => {
    const input = join(FIXTURES_DIR, 'names/quic-chromium', 'input.pcap');
    const plain = await scan(input, undefined);
    const fd = openSync(join(dir, 'ahead.ndjson'), 'w');
    const t = EventThread.start(fd, undefined, input, WORKER);
    expect(await t.ready()).toBe(true);
    const ahead = t.quicAhead;
    if (ahead === undefined) throw new Error('no look-ahead');
    await workerAhead(ahead);
    const withAhead = await scan(input, undefined, ahead);
    await ahead.stop();
    await t.close(); // the lines go on after the look-ahead stops
    closeSync(fd);
    expect(withAhead.lines).toEqual(plain.lines);
    expect(ahead.counters).toEqual({ taken: plain.quicEvents, missed: 0 });
  });

  it('several times the ring through the worker: wrapped, every line, in order', async () => {
    const records = many(4000);
    const expected = direct(records);
    expect(expected.length).toBeGreaterThan(3 * RING_BYTES);
    const file = join(dir, 'worker.ndjson');
    const fd = openSync(file, 'w');
    let settled = 0;
    const t = EventThread.start(fd, () => settled++, undefined, WORKER);
    expect(await t.ready()).toBe(true);
    give(t.events, records);
    await t.close();
    closeSync(fd);
    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(t.quicAhead).toBeUndefined();
    expect(settled).toBe(2); // up, and ended
  });

  it('held up by a reader that does not read: the pipeline waits for room, and nothing is lost', async () => {
    const records = many(3000);
    const expected = direct(records);
    const fifo = join(dir, 'slow.fifo');
    const out = join(dir, 'slow.ndjson');
    await mkfifo(fifo);
    // Read-write: opening does not wait for a reader, and writes block once the pipe is full.
    const fd = openSync(fifo, 'r+');
    // The reader starts only after the pipeline has filled the pipe and the ring.
    const reader = spawn('sh', ['-c', `sleep 1; cat "${fifo}" > "${out}"`], { stdio: 'ignore' });
    const readerDone = new Promise((r) => reader.on('exit', r));
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, records);
    await t.close();
    expect(t.events.waits).toBeGreaterThan(0);
    closeSync(fd); // the reader sees the end
    await readerDone;
    expect(readFileSync(out).equals(expected)).toBe(true);
  }, 30_000);

  it('a reader that goes away: the rest is dropped quietly and the thread ends', async () => {
    const fifo = join(dir, 'gone.fifo');
    await mkfifo(fifo);
    const reader = shortReader(fifo, 100);
    const fd = openSync(fifo, 'w'); // waits for head to open it
    const readerDone = reader.done;
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, many(200));
    t.events.flush();
    await readerDone;
    give(t.events, many(2000));
    await t.close(); // no EPIPE thrown: ended quietly
    closeSync(fd);
    expect(reader.got()).toBe(direct(many(200)).subarray(0, 100).toString());
  }, 30_000);

  it('abandoned after the pipeline failed: what it was given is written, and it ends', async () => {
    const records = variety();
    const file = join(dir, 'abandoned.ndjson');
    const fd = openSync(file, 'w');
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    give(t.events, records);
    await t.abandon();
    await t.abandon(); // twice is harmless
    closeSync(fd);
    expect(readFileSync(file).equals(direct(records))).toBe(true);
  });

  it('a worker that cannot start is not ready: the caller writes the lines itself', async () => {
    const t = EventThread.start(1, undefined, undefined, pathToFileURL(join(dir, 'no-such-worker.js')));
    expect(await t.ready()).toBe(false);
    await t.abandon(); // ends at once
  });

  it('a thread that fails is reported by close()', async () => {
    const file = join(dir, 'read-only.ndjson');
    closeSync(openSync(file, 'w'));
    // A descriptor open for reading only: the thread's first write fails with EBADF (not EPIPE).
    const fd = openSync(file, 'r');
    const t = EventThread.start(fd, undefined, undefined, WORKER);
    await t.ready();
    t.events.line('first');
    await expect(t.close()).rejects.toThrow(/EBADF/);
    closeSync(fd);
  });
});
