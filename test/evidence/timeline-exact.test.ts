// The report's bounded timeline (evidence/timeline.ts): times read to the
// microsecond, whatever the number of fractional digits; entries kept in
// time order, equal times in log order, unreadable times last; at most
// `max` kept, the earliest, the rest counted.

import { describe, expect, it } from 'vitest';
import { BoundedTimeline, isoToMicros, type TimelineEntry } from '../../agent/src/evidence/timeline.js';

const BASE_MS = Date.parse('2026-11-23T09:28:09Z');

describe('isoToMicros', () => {
  it.each<[string, number]>([
    ['2026-11-23T09:28:09Z', BASE_MS * 1000],
    ['2026-11-23T09:28:09.123Z', BASE_MS * 1000 + 123_000],
    ['2026-11-23T09:28:09.1234Z', BASE_MS * 1000 + 123_400],
    ['2026-11-23T09:28:09.12345Z', BASE_MS * 1000 + 123_450],
    ['2026-11-23T09:28:09.123456Z', BASE_MS * 1000 + 123_456],
    ['2026-11-23T09:28:09.000001Z', BASE_MS * 1000 + 1],
  ])('%s is %d µs', (iso, us) => {
    expect(isoToMicros(iso)).toBe(us);
  });

  it('is NaN for text that is no time', () => {
    expect(isoToMicros('not a time')).toBeNaN();
  });
});

describe('BoundedTimeline', () => {
  const at = (s: number, text: string, kind: TimelineEntry['kind'] = 'alert'): TimelineEntry => ({
    ts: new Date(BASE_MS + s * 1000).toISOString().replace('Z', '000Z'),
    kind,
    text,
  });

  it('keeps time order, equal times in log order, unreadable times last', () => {
    const t = new BoundedTimeline(10);
    for (const e of [
      at(5, 'e'),
      { ts: 'garbled', kind: 'gap' as const, text: 'x' },
      at(1, 'a'),
      at(5, 'f'),
      at(0, 's', 'start'),
      at(1, 'b'),
    ])
      t.add(e);
    expect(t.list().map((e) => e.text)).toEqual(['s', 'a', 'b', 'e', 'f', 'x']);
    expect(t.omitted).toBe(0);
  });

  it('keeps the earliest `max` by time whatever the log order, and counts the others', () => {
    const t = new BoundedTimeline(3);
    for (const s of [9, 8, 7, 1, 6, 2, 5, 3, 4]) t.add(at(s, String(s)));
    expect(t.list().map((e) => e.text)).toEqual(['1', '2', '3']);
    expect(t.omitted).toBe(6);
    // A time equal to the last kept one comes after it: beyond the bound, counted.
    t.add(at(3, '3 again'));
    expect(t.list().map((e) => e.text)).toEqual(['1', '2', '3']);
    expect(t.omitted).toBe(7);
  });
});
