// Capture gaps from tcpdump's statistics and restarts (agent/src/live/capture-gaps.ts,
// DESIGN.md `capture_gap`): the window of a drop runs from the previous report of that
// counter to the one that showed it; a restart is blind from the moment tcpdump ended
// to the moment the next one listens; the status stays "incomplete" for a clean interval.
// The live behaviour with real drops is test/live/capture-gap.test.ts.

import { describe, expect, it } from 'vitest';
import type { CaptureGap } from '../../agent/src/capture/types.js';
import { CaptureGapLog, describeGap, GapDetector, MAX_PENDING_GAPS } from '../../agent/src/live/capture-gaps.js';
import type { TcpdumpCounters } from '../../agent/src/live/tcpdump-stderr.js';

const T0 = Date.UTC(2026, 11, 4, 18, 25, 4) * 1000;

function detector() {
  let now = T0;
  const gaps: CaptureGap[] = [];
  const d = new GapDetector(
    (g) => gaps.push(g),
    () => now,
  );
  return { d, gaps, at: (s: number) => (now = T0 + s * 1e6) };
}

const counters = (k: number, i = 0): TcpdumpCounters => ({
  captured: 0,
  receivedByFilter: 0,
  droppedByKernel: k,
  droppedByInterface: i,
});

describe('GapDetector', () => {
  it('makes a kernel_drop gap of the new drops over the time since the previous report', () => {
    const { d, gaps, at } = detector();
    d.listening();
    at(5);
    d.stats(counters(0), { captured: 10, droppedByKernel: 0 });
    expect(gaps).toEqual([]);
    at(10);
    d.stats(counters(0), { captured: 20, droppedByKernel: 7 });
    at(15);
    d.stats(counters(7), { captured: 30, droppedByKernel: 7 });
    expect(gaps).toEqual([{ startUs: T0 + 5e6, endUs: T0 + 10e6, cause: 'kernel_drop', packetsDropped: 7 }]);
  });

  it('keeps a window per counter when tcpdump prints one counter a line (at exit)', () => {
    const { d, gaps, at } = detector();
    d.listening();
    at(2);
    d.stats(counters(0, 0), { droppedByKernel: 3 });
    d.stats(counters(3, 0), { droppedByInterface: 4 });
    expect(gaps.map((g) => [g.cause, g.packetsDropped, g.startUs])).toEqual([
      ['kernel_drop', 3, T0],
      ['interface_drop', 4, T0],
    ]);
  });

  it('makes one capture_restart gap, count unknown, from the first end to the next listening', () => {
    const { d, gaps, at } = detector();
    d.listening();
    at(3);
    d.gone();
    at(4);
    d.gone(); // a restart that failed before listening
    at(6);
    d.listening();
    expect(gaps).toEqual([{ startUs: T0 + 3e6, endUs: T0 + 6e6, cause: 'capture_restart', packetsDropped: null }]);
    at(7);
    d.listening();
    expect(gaps).toHaveLength(1);
  });
});

describe('CaptureGapLog', () => {
  it('is incomplete until the clean interval has passed since the last gap', () => {
    let now = 1_000;
    const log = new CaptureGapLog(() => now);
    log.cleanMs = 10_000;
    expect([log.incomplete, log.problem()]).toEqual([false, null]);
    log.add({ startUs: T0, endUs: T0 + 5e6, cause: 'kernel_drop', packetsDropped: 12 });
    now += 9_999;
    expect(log.problem()).toBe(
      'capture incomplete: 12 packets dropped by the kernel between 18:25:04 and 18:25:09 UTC (5 s)',
    );
    now += 1;
    expect(log.incomplete).toBe(false);
    expect(log.last?.packetsDropped).toBe(12);
  });

  it('hands each gap to one stats message, bounded, counting what it could not keep', () => {
    const log = new CaptureGapLog();
    const g: CaptureGap = { startUs: T0, endUs: T0, cause: 'capture_restart', packetsDropped: null };
    for (let i = 0; i < MAX_PENDING_GAPS + 3; i++) log.add(g);
    expect(log.drain()).toHaveLength(MAX_PENDING_GAPS);
    expect(log.drain()).toEqual([]);
    expect(log.counters).toEqual({ gaps: MAX_PENDING_GAPS + 3, gaps_not_sent: 3, packets_missed: 0 });
  });

  it('describes each cause in plain language', () => {
    const g = (cause: CaptureGap['cause'], n: number | null): CaptureGap => ({
      startUs: T0,
      endUs: T0 + 1e6,
      cause,
      packetsDropped: n,
    });
    expect(describeGap(g('interface_drop', 1))).toBe(
      '1 packet dropped by the interface between 18:25:04 and 18:25:05 UTC (1 s)',
    );
    expect(describeGap(g('capture_restart', null))).toBe(
      'capture restarted, blind between 18:25:04 and 18:25:05 UTC (1 s)',
    );
  });
});
