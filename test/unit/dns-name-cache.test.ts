// The DNS parser's cache of names met lately (names/dns.ts): a name read
// again is the same text, found in the cache; escaped names never come from
// it; and names that share a slot (of the same length, or one the start of
// the other) are told apart. The counters show which way each name went.

import { describe, expect, it } from 'vitest';
import { cachedName, nameCacheCounters } from '../../agent/src/names/dns.js';
import { bytes, parse, queryFor } from '../support/dns-vectors.js';

describe('parseDnsMessage names met before (the name cache)', () => {
  /** The parser's cache slot of a name: FNV-1a of its text, top 12 bits (names/dns.ts). */
  const slotOf = (text: string) => {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h >>> 20;
  };
  const wire = (text: string) =>
    Buffer.concat([
      ...text.split('.').map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l, 'latin1')])),
      Buffer.of(0),
    ]);
  const nameRead = (text: string) => parse(queryFor(wire(text))).message?.questions[0].name;
  /** What reading `texts` in turn did to the cache: names found there, names made. */
  const counted = (texts: string[]) => {
    const before = nameCacheCounters();
    const read = texts.map(nameRead);
    const after = nameCacheCounters();
    return { read, hits: after.hits - before.hits, made: after.made - before.made };
  };
  /** Two different names of one slot, found by trying names made by `make`. */
  const sameSlot = (make: (i: number) => string, other: string): string => {
    for (let i = 0; i < 1_000_000; i++) if (make(i) !== other && slotOf(make(i)) === slotOf(other)) return make(i);
    throw new Error('no name shares the slot');
  };

  it.each<[string, string, string]>([
    ['an escape after a plain label', '03 57 57 57 03 61 20 62', 'www.a\\032b'],
    ['a dot in the last label after uppercase ones', '02 41 42 03 63 2e 64', 'ab.c\\.d'],
    ['a backslash alone', '01 5c', '\\\\'],
    ['DEL alone', '03 61 7f 62', 'a\\127b'],
  ])('writes %s with its escapes, the plain labels lowercased, never from the cache', (_what, labels, text) => {
    const q = queryFor(bytes(`${labels} 00`));
    const before = nameCacheCounters();
    expect([parse(q).message?.questions[0].name, parse(q).message?.questions[0].name]).toEqual([text, text]);
    const after = nameCacheCounters();
    expect([after.hits - before.hits, after.made - before.made]).toEqual([0, 0]);
  });

  it('finds a name read before in the cache, in any case, and makes a new one only the first time', () => {
    expect(counted(['cache-first.example', 'CACHE-First.Example', 'cache-first.example'])).toEqual({
      read: ['cache-first.example', 'cache-first.example', 'cache-first.example'],
      hits: 2,
      made: 1,
    });
  });

  it('reads a label followed by a length octet that is a printable byte (a label of 33 or more) as itself', () => {
    const long = 'b'.repeat(40); // its length octet, 0x28, is "("
    expect(counted([`a.${long}.c`, `a.${long}.c`])).toEqual({ read: [`a.${long}.c`, `a.${long}.c`], hits: 1, made: 1 });
  });

  it('reads 10,000 names, more than the cache holds, each as itself, twice over', () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `n${i.toString(36)}.x${(i * 7919) % 9973}.example`);
    for (let round = 0; round < 2; round++) {
      for (const n of names) expect(nameRead(n)).toBe(n);
    }
    expect(nameRead('N1.X7919.EXAMPLE')).toBe('n1.x7919.example');
  });

  it('tells apart names of one slot: of the same length, and one the start of the other', () => {
    const a = 'slot-a.example';
    const b = sameSlot((i) => `${i.toString(36).padStart(6, '0')}.example`, a); // same length, other first letters
    expect(b.length).toBe(a.length);
    expect(counted([a, b, a, b])).toEqual({ read: [a, b, a, b], hits: 0, made: 4 });
    const short = 'prefix.example';
    const long = sameSlot((i) => `${short}.x${i.toString(36)}`, short); // starts with the short name
    expect(counted([long, short, long, short])).toEqual({ read: [long, short, long, short], hits: 0, made: 4 });
  });
});

describe('cachedName: a server_name from the same cache', () => {
  it('finds a name the client looked up in the cache (a hit, nothing made), lowercased', () => {
    const looked = parse(queryFor(Buffer.from('\x0aflysafe-id\x03dji\x03com\x00', 'latin1'))).message?.questions[0]
      .name;
    const before = nameCacheCounters();
    const sni = cachedName(Buffer.from('..FlySafe-ID.dji.COM..', 'latin1'), 2, 18);
    const after = nameCacheCounters();
    expect(sni).toBe('flysafe-id.dji.com');
    expect(sni).toBe(looked);
    expect([after.hits - before.hits, after.made - before.made]).toEqual([1, 0]);
    // A name not met before is made, then found.
    const fresh = Buffer.from('sni-only.example', 'latin1');
    expect([cachedName(fresh, 0, fresh.length), cachedName(fresh, 0, fresh.length)]).toEqual([
      'sni-only.example',
      'sni-only.example',
    ]);
    const last = nameCacheCounters();
    expect([last.hits - after.hits, last.made - after.made]).toEqual([1, 1]);
  });

  it.each([
    ['a space', 'a b.example'],
    ['a control byte', 'a\x01b.example'],
    ['DEL', 'a\x7fb.example'],
    ['a byte above ASCII', 'bü.example'],
  ])('is null for a name with %s', (_what, text) => {
    const b = Buffer.from(text, 'latin1');
    expect(cachedName(b, 0, b.length)).toBeNull();
  });

  it('takes every other printable byte as it is: dots, backslashes, quotes, the ends of the range', () => {
    const text = '!"\\.~[]{}@_`';
    const b = Buffer.from(text, 'latin1');
    expect(cachedName(b, 0, b.length)).toBe(text);
  });
});
