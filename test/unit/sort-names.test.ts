// sortNames (util/sort.ts) orders a list as Array.prototype.sort without a
// compare function does, in place: checked on random lists of every length
// it sorts itself and past it, with names that share prefixes, differ in
// case, and hold characters outside ASCII (UTF-16 code unit order).

import { describe, expect, it } from 'vitest';
import { sortNames } from '../../agent/src/util/sort.js';
import { Rng } from '../support/fuzz.js';

const PARTS = ['a', 'b', 'B', 'dji', 'dji.com', 'x.', '.', '-', '0', 'é', 'ö', '日本', '\u{1F600}', '\uff21', 'z'];

function name(r: Rng): string {
  let s = '';
  const n = 1 + r.below(4);
  for (let i = 0; i < n; i++) s += PARTS[r.below(PARTS.length)];
  return s;
}

describe('sortNames', () => {
  it('sorts as sort() does, in place, for lists of 0 to 40 names (repeats too)', () => {
    const r = new Rng(15);
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
