// Capture replay through the live path: paced delivery is never early (lower
// bounds only: a busy machine may be late, never early), 'max' hands the
// sink exactly what a direct read does, loops keep time increasing and are
// counted, and an abort stops the replay at once.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { PacketSink } from '../../agent/src/capture/types.js';
import { ErrorCode } from '../../agent/src/errors.js';
import { CaptureReplay, parseSpeed } from '../../agent/src/live/replay.js';
import type { FlowRecord } from '../../agent/src/output/flow-record.js';
import { ScanPipeline } from '../../agent/src/pipeline.js';
import { Collector, readInChunks } from '../support/collect.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const MANY = join(FIXTURES_DIR, 'mixed/many-flows/input.pcap'); // 229 packets over 1.86 s
const PCAPNG = join(FIXTURES_DIR, 'format/pcapng/input.pcapng');
const SILENT = join(FIXTURES_DIR, 'names/quic-silent/input.pcap'); // 3 packets over 3 s

function direct(file: string) {
  return readInChunks(readFileSync(file)).packets;
}

/** Records when each packet arrived, by the test's own monotonic clock. */
class TimedCollector extends Collector {
  readonly at: number[] = [];
  override packet(buf: Buffer, off: number, caplen: number, origLen: number, tsUs: number, linkType: number): void {
    this.at.push(performance.now());
    super.packet(buf, off, caplen, origLen, tsUs, linkType);
  }
}

describe('replay pacing', () => {
  it('delivers no packet before start + (ts - ts0) / speed at speed 4', async () => {
    const want = direct(MANY);
    const sink = new TimedCollector();
    const start = performance.now();
    const r = await new CaptureReplay(MANY, sink, { speed: 4, timestamps: 'capture', chunkBytes: 4096 }).run();
    const elapsed = performance.now() - start;
    expect(r).toMatchObject({ packets: want.length, aborted: false, error: null, loops: 0 });
    const ts0 = want[0].tsUs;
    for (let i = 0; i < want.length; i++) {
      const earliest = (want[i].tsUs - ts0) / 1000 / 4;
      expect(sink.at[i] - start, `packet ${i}`).toBeGreaterThanOrEqual(earliest);
    }
    const spanMs = (want[want.length - 1].tsUs - ts0) / 1000;
    expect(spanMs).toBeGreaterThan(1800);
    expect(elapsed).toBeGreaterThanOrEqual(spanMs / 4);
    expect(sink.packets).toEqual(want); // the copies it paced are the packets, byte for byte
  });

  it('stamps packets with their wall-clock arrival by default when paced', async () => {
    const sink = new TimedCollector();
    const before = Date.now() * 1000;
    await new CaptureReplay(SILENT, sink, { speed: 8 }).run();
    const after = Date.now() * 1000;
    const ts = sink.packets.map((p) => p.tsUs);
    expect(ts.length).toBe(3);
    for (const t of ts) {
      expect(t).toBeGreaterThanOrEqual(before - 1000); // the replay anchors its wall clock at construction
      expect(t).toBeLessThanOrEqual(after + 1000);
    }
    // 3 s of capture at speed 8: the last arrives at least 375 ms after the first.
    expect(ts[2] - ts[0]).toBeGreaterThanOrEqual(375_000 - 1000);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });
});

describe('replay at max speed', () => {
  for (const [name, file] of [
    ['pcap', MANY],
    ['pcapng', PCAPNG],
  ] as const) {
    it(`delivers exactly the packets of a direct read (${name}), in small and large chunks`, async () => {
      const want = direct(file);
      for (const chunkBytes of [97, 4096, 1 << 20]) {
        const sink = new Collector();
        const r = await new CaptureReplay(file, sink, { speed: 'max', chunkBytes }).run();
        expect(r.error).toBeNull();
        expect(sink.packets).toEqual(want);
      }
    });
  }

  it('judges the same flows as a direct scan', async () => {
    const scan = (feed: (p: ScanPipeline) => Promise<void>) => async () => {
      const flows: FlowRecord[] = [];
      const p = new ScanPipeline({ flow: (f) => flows.push(f) });
      await feed(p);
      await p.finish();
      return flows.map(({ app: _app, flowId: _id, ...rest }) => rest);
    };
    const viaReplay = await scan(async (p) => {
      await new CaptureReplay(MANY, p, { speed: 'max', chunkBytes: 1000 }).run();
    })();
    const viaRead = await scan(async (p) => {
      for (const pk of direct(MANY)) {
        const b = Buffer.from(pk.hex, 'hex');
        p.packet(b, 0, pk.caplen, pk.origLen, pk.tsUs, pk.linkType);
      }
    })();
    expect(viaReplay.length).toBeGreaterThan(20);
    expect(viaReplay).toEqual(viaRead);
  });

  it('lets timers run between chunks', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let slowSink = 0;
    const sink: PacketSink = {
      packet() {
        const until = performance.now() + 0.2;
        while (performance.now() < until) slowSink++;
      },
    };
    await new CaptureReplay(MANY, sink, { speed: 'max', loop: true, maxLoops: 3, chunkBytes: 2048 }).run();
    clearInterval(timer);
    expect(slowSink).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(5);
  });
});

describe('replay in a loop', () => {
  it('shifts each pass after the last so time only increases, and counts the loops', async () => {
    const want = direct(MANY);
    const n = want.length;
    const span = want[n - 1].tsUs - want[0].tsUs;
    const sink = new Collector();
    const loops: number[] = [];
    const r = await new CaptureReplay(MANY, sink, {
      speed: 'max',
      loop: true,
      maxLoops: 2,
      loopGapMs: 250,
      onLoop: (l) => loops.push(l),
    }).run();
    expect(r).toMatchObject({ loops: 2, packets: 3 * n, aborted: false, error: null });
    expect(loops).toEqual([1, 2]);
    const ts = sink.packets.map((p) => p.tsUs);
    for (let i = 1; i < ts.length; i++) expect(ts[i], `packet ${i}`).toBeGreaterThanOrEqual(ts[i - 1]);
    for (let pass = 0; pass < 3; pass++) {
      for (let i = 0; i < n; i++) {
        const got = sink.packets[pass * n + i];
        expect(got.tsUs).toBe(want[i].tsUs + pass * (span + 250_000));
        expect(got.hex).toBe(want[i].hex);
      }
    }
  });

  it('paces across the loop boundary too', async () => {
    const sink = new TimedCollector();
    const start = performance.now();
    // 3 s of capture, a 1 s gap, 3 s again: 7 s of capture time at speed 20 is at least 350 ms.
    const r = await new CaptureReplay(SILENT, sink, {
      speed: 20,
      loop: true,
      maxLoops: 1,
      timestamps: 'capture',
    }).run();
    expect(r.loops).toBe(1);
    expect(sink.at.length).toBe(6);
    expect(sink.at[5] - start).toBeGreaterThanOrEqual(350);
    expect(sink.at[3] - start).toBeGreaterThanOrEqual(200); // first packet of the second pass: (3 s + 1 s) / 20
  });

  it('stops on an empty capture instead of looping without end, and on a truncated one with its error', async () => {
    const empty = await new CaptureReplay(join(FIXTURES_DIR, 'bad/header-only/input.pcap'), new Collector(), {
      speed: 'max',
      loop: true,
    }).run();
    expect(empty).toMatchObject({ packets: 0, loops: 0, error: null });
    const cut = await new CaptureReplay(join(FIXTURES_DIR, 'bad/truncated-record/input.pcap'), new Collector(), {
      speed: 1000,
      loop: true,
    }).run();
    expect(cut.error?.code).toBe(ErrorCode.PCAP_TRUNCATED);
    expect(cut.loops).toBe(0);
    expect(cut.packets).toBe(25);
  });

  it('rejects an unreadable file with its code', async () => {
    await expect(new CaptureReplay('/nonexistent/x.pcap', new Collector()).run()).rejects.toMatchObject({
      code: ErrorCode.INPUT_UNREADABLE,
    });
  });
});

describe('replay abort', () => {
  it('stops promptly when aborted mid-sleep, and delivers nothing after', async () => {
    const ac = new AbortController();
    const sink = new TimedCollector();
    const replay = new CaptureReplay(MANY, sink, { speed: 0.1, loop: true, signal: ac.signal }); // ~19 s a pass
    const done = replay.run();
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = performance.now();
    ac.abort();
    const r = await done;
    const stoppedAfterMs = performance.now() - abortedAt;
    expect(r.aborted).toBe(true);
    expect(r.loops).toBe(0);
    expect(stoppedAfterMs).toBeLessThan(2000); // a pass has 18 s left to run
    expect(sink.at.every((t) => t <= abortedAt)).toBe(true);
    const count = sink.packets.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.packets.length).toBe(count);
  });

  it('stops at the next chunk at max speed', async () => {
    const ac = new AbortController();
    let seen = 0;
    const r = await new CaptureReplay(
      MANY,
      {
        packet() {
          if (++seen === 10) ac.abort();
        },
      },
      { speed: 'max', loop: true, chunkBytes: 512, signal: ac.signal },
    ).run();
    expect(r.aborted).toBe(true);
    expect(seen).toBeLessThan(30);
  });
});

describe('parseSpeed', () => {
  it('reads factors and max, and refuses the rest with the usage code', () => {
    expect(parseSpeed('max')).toBe('max');
    expect(parseSpeed('4')).toBe(4);
    expect(parseSpeed('0.5')).toBe(0.5);
    expect(parseSpeed('4x')).toBe(4);
    for (const bad of ['0', '-1', '', 'fast', 'Infinity', 'NaN']) {
      expect(() => parseSpeed(bad), bad).toThrow(expect.objectContaining({ code: ErrorCode.USAGE }));
    }
  });
});
