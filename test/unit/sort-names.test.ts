// sortNames (util/sort.ts) orders a list as Array.prototype.sort without a
// compare function does, in place: checked on random lists of every length
// it sorts itself and past it, with names that share prefixes, differ in
// case, and hold characters outside ASCII (UTF-16 code unit order).

import { describe, expect, it } from 'vitest';
import { sortNames } from '../../agent/src/util/sort.js';

/** A small deterministic generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PARTS = ['a', 'b', 'B', 'dji', 'dji.com', 'x.', '.', '-', '0', 'é', 'ö', '日本', '\u{1F600}', '\uff21', 'z'];

function name(r: () => number): string {
  let s = '';
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s += PARTS[Math.floor(r() * PARTS.length)];
  return s;
}

describe('sortNames', () => {
  it('sorts as sort() does, in place, for lists of 0 to 40 names (repeats too)', () => {
    const r = random(15);
    for (let len = 0; len <= 40; len++) {
      for (let round = 0; round < 25; round++) {
        const list = Array.from({ length: len }, () => name(r));
        const expected = [...list].sort();
        const got = sortNames(list);
        expect(got).toBe(list);
        expect(got).toEqual(expected);
      }
    }
  });

  it('orders by UTF-16 code units, not by code point or locale', () => {
    // U+FF21 is one unit above the surrogates of U+1F600; "B" comes before "a".
    expect(sortNames(['\uff21', '\u{1F600}', 'a', 'B'])).toEqual(['B', 'a', '\u{1F600}', '\uff21']);
    expect(sortNames(['b.example', 'a.example', 'a.example'])).toEqual(['a.example', 'a.example', 'b.example']);
  });
});
