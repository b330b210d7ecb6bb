// The DNS answer cache's index of IPv4 address pairs (names/pair-index.ts):
// against a Map doing the same work, through collisions, runs that wrap
// around the table's end and deletions inside runs; and the text it accepts
// as an IPv4 address.

import { describe, expect, it } from 'vitest';
import { type Indexed, ipv4Word, PairIndex } from '../../agent/src/names/pair-index.js';

interface Value extends Indexed {
  id: number;
}

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function xorshift(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe('PairIndex', () => {
  it.each([
    [1, 2_000, 1],
    [8, 20_000, 2],
    [64, 50_000, 3],
    [1000, 50_000, 4],
  ])('agrees with a Map over random adds, finds and deletes (capacity %i, %i steps)', (capacity, steps, seed) => {
    const rnd = xorshift(seed);
    const index = new PairIndex<Value>(capacity);
    const model = new Map<string, Value>();
    // Few distinct words, so pairs repeat and share homes; words of every sign.
    const words = Array.from({ length: 12 }, () => rnd() | 0);
    const pick = () => words[rnd() % words.length];
    let id = 0;
    for (let step = 0; step < steps; step++) {
      const a = pick();
      const b = pick();
      const key = `${a} ${b}`;
      const held = model.get(key);
      expect(index.get(a, b)).toBe(held);
      if (held !== undefined && rnd() % 2 === 0) {
        index.delete(held);
        model.delete(key);
        expect(held.indexAt).toBe(-1);
      } else if (held === undefined && model.size < capacity) {
        const v: Value = { id: id++, indexAt: -1 };
        index.add(a, b, v);
        model.set(key, v);
        expect(v.indexAt).toBeGreaterThanOrEqual(0);
      }
      expect(index.size).toBe(model.size);
    }
    for (const [key, v] of model) {
      const [a, b] = key.split(' ').map(Number);
      expect(index.get(a, b)).toBe(v);
    }
  });

  it('keeps (a, b) and (b, a) apart', () => {
    const index = new PairIndex<Value>(4);
    const ab = { id: 1, indexAt: -1 };
    const ba = { id: 2, indexAt: -1 };
    index.add(1, 2, ab);
    index.add(2, 1, ba);
    expect(index.get(1, 2)).toBe(ab);
    expect(index.get(2, 1)).toBe(ba);
    expect(index.get(1, 1)).toBeUndefined();
  });

  it('refuses a value beyond its capacity', () => {
    const index = new PairIndex<Value>(2);
    index.add(1, 1, { id: 1, indexAt: -1 });
    index.add(1, 2, { id: 2, indexAt: -1 });
    expect(() => index.add(1, 3, { id: 3, indexAt: -1 })).toThrow(/full \(2\)/);
  });
});

describe('ipv4Word', () => {
  it.each<[string, number]>([
    ['0.0.0.0', 0],
    ['10.20.1.23', 0x0a140117],
    ['192.0.2.80', 0xc0000250],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3.4', 0x01020304],
    ['100.200.10.0', 0x64c80a00],
  ])('reads %s', (text, word) => {
    expect(ipv4Word(text)).toBe(word);
  });

  it.each([
    ['IPv6', '2001:db8::1'],
    ['IPv4-mapped IPv6', '::ffff:1.2.3.4'],
    ['a leading zero', '01.2.3.4'],
    ['a leading zero in the last octet', '1.2.3.04'],
    ['zero written twice', '1.2.00.4'],
    ['an octet over 255', '1.2.3.256'],
    ['three parts', '1.2.3'],
    ['five parts', '1.2.3.4.5'],
    ['an empty part', '1..2.3'],
    ["an empty part in text of a dotted quad's length", '10..20.30'],
    ["a leading dot in text of a dotted quad's length", '.10.20.30'],
    ['a trailing dot', '1.2.3.4.'],
    ['a leading dot', '.1.2.3'],
    ['a sign', '1.2.3.+4'],
    ['a space', '1.2.3. 4'],
    ['a letter', '1.2.3.a'],
    ['empty text', ''],
    ['too long', '255.255.255.2555'],
  ])('refuses %s (%s)', (_what, text) => {
    expect(ipv4Word(text)).toBe(-1);
  });

  it('reads every address util/ip.ts writes back to its word', async () => {
    const { formatIpv4 } = await import('../../agent/src/util/ip.js');
    const rnd = xorshift(7);
    for (let i = 0; i < 20_000; i++) {
      const w = rnd();
      expect(ipv4Word(formatIpv4(w | 0))).toBe(w);
    }
  });
});
