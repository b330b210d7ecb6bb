// Event timestamps (output/time.ts): ISO 8601 UTC with six fractional digits,
// the same as Date's own formatting plus the microseconds, across day, month,
// year and leap-day boundaries, in any order (a flow's start after its end's
// day was formatted).

import { describe, expect, it } from 'vitest';
import { isoMicros } from '../../agent/src/output/time.js';

/** The slow, obvious way. */
function viaDate(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = String(Math.floor(us - ms * 1000)).padStart(3, '0');
  return `${new Date(ms).toISOString().slice(0, 23)}${micro}Z`;
}

describe('isoMicros', () => {
  it.each([
    [0, '1970-01-01T00:00:00.000000Z'],
    [1, '1970-01-01T00:00:00.000001Z'],
    [999_999, '1970-01-01T00:00:00.999999Z'],
    [86_399_999_999, '1970-01-01T23:59:59.999999Z'],
    [86_400_000_000, '1970-01-02T00:00:00.000000Z'],
    [1_709_164_799_123_456, '2024-02-28T23:59:59.123456Z'],
    [1_709_164_800_000_001, '2024-02-29T00:00:00.000001Z'],
    [1_709_251_199_999_999, '2024-02-29T23:59:59.999999Z'],
    [1_735_689_599_500_000, '2024-12-31T23:59:59.500000Z'],
    [1_735_689_600_000_000, '2025-01-01T00:00:00.000000Z'],
    [1_795_158_000_054_363, '2026-11-20T07:00:00.054363Z'],
    [4_102_444_800_000_000, '2100-01-01T00:00:00.000000Z'],
  ])('%d is %s', (us, want) => {
    expect(isoMicros(us)).toBe(want);
  });

  it('agrees with Date for 100,000 seeded times, in and out of order', () => {
    let x = 15;
    const rand = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const base = 1_795_158_000_000_000;
    for (let i = 0; i < 100_000; i++) {
      // Mostly within two days (day changes back and forth), some anywhere in 1970–2100.
      const us =
        i % 10 === 0 ? Math.floor(rand() * 4_102_444_800_000_000) : base + Math.floor(rand() * 172_800_000_000);
      expect(isoMicros(us)).toBe(viaDate(us));
    }
  });
});
