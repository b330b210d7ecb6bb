// The per-client DNS answer cache: which names an address was given, for whom,
// for how long, and within which bounds.

import { describe, expect, it } from 'vitest';
import { type DnsMessage, DnsType } from '../../agent/src/names/dns.js';
import { DnsAnswerCache, MAX_CNAME_CHAIN } from '../../agent/src/names/dns-cache.js';
import { CNAME_CHAIN, parse, S } from '../support/dns-vectors.js';

const T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
const CLIENT = '10.0.0.2';

/** A NOERROR response to `question` with the given answers, as parsed (the cache reads nothing else). */
function response(question: string, answers: DnsMessage['answers']): DnsMessage {
  return {
    id: 1,
    response: true,
    opcode: 0,
    rcode: 0,
    truncated: false,
    questions: [{ name: question, type: DnsType.A }],
    answers,
    partial: false,
  };
}
const a = (name: string, address: string, ttl = 3600) => ({ name, type: DnsType.A, ttl, address });
const cname = (name: string, target: string, ttl = 3600) => ({ name, type: DnsType.CNAME, ttl, target });

describe('DnsAnswerCache', () => {
  it('gives an address every name of the chain that led to it, for that client only', () => {
    const cache = new DnsAnswerCache();
    expect(cache.record(CLIENT, parse(CNAME_CHAIN).message!, T0)).toBe(3); // (address, name) pairs
    expect(cache.namesFor(CLIENT, '192.0.2.80', T0)).toEqual([
      'cdn.example.org',
      'edge.example.org',
      'www.example.org',
    ]);
    expect(cache.namesFor('10.0.0.3', '192.0.2.80', T0)).toEqual([]);
    expect(cache.namesFor(CLIENT, '192.0.2.81', T0)).toEqual([]);
  });

  it('follows CNAMEs in any order, ignores records off the chain, survives a CNAME loop', () => {
    const cache = new DnsAnswerCache();
    const msg = response('q.example', [
      a('y.example', '203.0.113.5'),
      cname('x.example', 'y.example'),
      cname('q.example', 'x.example'),
      a('unrelated.example', '203.0.113.6'), // not on the chain from the question
    ]);
    expect(cache.record(CLIENT, msg, T0)).toBe(3);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['q.example', 'x.example', 'y.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.6', T0)).toEqual([]);
    const loop = response('l1.example', [
      cname('l1.example', 'l2.example'),
      cname('l2.example', 'l1.example'),
      a('l2.example', '203.0.113.7'),
    ]);
    cache.record(CLIENT, loop, T0);
    expect(cache.namesFor(CLIENT, '203.0.113.7', T0)).toEqual(['l1.example', 'l2.example']);
  });

  it('adds names from later lookups, sorted and once each', () => {
    const cache = new DnsAnswerCache();
    cache.record(CLIENT, response('b.example', [a('b.example', '203.0.113.5')]), T0);
    cache.record(CLIENT, response('a.example', [a('a.example', '203.0.113.5')]), T0 + S);
    cache.record(CLIENT, response('b.example', [a('b.example', '203.0.113.5')]), T0 + 2 * S);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 3 * S)).toEqual(['a.example', 'b.example']);
    expect(cache.size).toBe(1);
  });

  it('learns nothing from queries, errors and other opcodes', () => {
    const cache = new DnsAnswerCache();
    const ok = response('a.example', [a('a.example', '203.0.113.5')]);
    expect(cache.record(CLIENT, { ...ok, response: false }, T0)).toBe(0);
    expect(cache.record(CLIENT, { ...ok, rcode: 3 }, T0)).toBe(0);
    expect(cache.record(CLIENT, { ...ok, opcode: 5 }, T0)).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('expires names after their TTL, never sooner than the minimum nor later than the maximum', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 300, maxTtlSeconds: 86_400 });
    cache.record(CLIENT, response('zero.example', [a('zero.example', '203.0.113.1', 0)]), T0);
    cache.record(CLIENT, response('hour.example', [a('hour.example', '203.0.113.2', 3600)]), T0);
    cache.record(CLIENT, response('year.example', [a('year.example', '203.0.113.3', 31_536_000)]), T0);
    // The chain's smallest TTL counts: a CNAME of 0 s makes the A of an hour last 300 s.
    cache.record(
      CLIENT,
      response('c.example', [cname('c.example', 'd.example', 0), a('d.example', '203.0.113.4')]),
      T0,
    );
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0 + 300 * S - 1)).toEqual(['zero.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0 + 300 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.4', T0 + 300 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0 + 3600 * S - 1)).toEqual(['hour.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0 + 3600 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.3', T0 + 86_400 * S - 1)).toEqual(['year.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.3', T0 + 86_400 * S)).toEqual([]);
    expect(cache.size).toBe(0); // entries with nothing left are removed on lookup
  });

  it('expires each name on its own clock', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 0 });
    cache.record(CLIENT, response('old.example', [a('old.example', '203.0.113.5', 60)]), T0);
    cache.record(CLIENT, response('new.example', [a('new.example', '203.0.113.5', 60)]), T0 + 30 * S);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 61 * S)).toEqual(['new.example']);
    expect(cache.sweep(T0 + 91 * S)).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, ending the least recently used and counting it', () => {
    const cache = new DnsAnswerCache({ maxEntries: 3 });
    for (let i = 1; i <= 3; i++) cache.record(CLIENT, response('n.example', [a('n.example', `203.0.113.${i}`)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0)).toEqual(['n.example']); // .1 is now the most recent
    cache.record(CLIENT, response('n.example', [a('n.example', '203.0.113.4')]), T0);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0)).toEqual([]); // the least recently used went
    for (const i of [1, 3, 4]) expect(cache.namesFor(CLIENT, `203.0.113.${i}`, T0)).toEqual(['n.example']);
    for (let i = 10; i < 1010; i++)
      cache.record(CLIENT, response('m.example', [a('m.example', `10.1.${i >> 8}.${i & 255}`)]), T0);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1001);
  });

  it('holds at most maxNamesPerEntry names for one address, dropping the one that expires first', () => {
    const cache = new DnsAnswerCache({ maxNamesPerEntry: 2, minTtlSeconds: 0 });
    cache.record(CLIENT, response('long.example', [a('long.example', '203.0.113.5', 7200)]), T0);
    cache.record(CLIENT, response('short.example', [a('short.example', '203.0.113.5', 60)]), T0);
    cache.record(CLIENT, response('new.example', [a('new.example', '203.0.113.5', 3600)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['long.example', 'new.example']);
    expect(cache.namesDropped).toBe(1);
    // A chain longer than an entry holds keeps the name the client asked for.
    const chain = response('q.example', [
      cname('q.example', 'c1.example'),
      cname('c1.example', 'c2.example'),
      a('c2.example', '203.0.113.9'),
    ]);
    cache.record(CLIENT, chain, T0);
    expect(cache.namesFor(CLIENT, '203.0.113.9', T0)).toEqual(['c1.example', 'q.example']);
  });

  it('rejects limits that cannot bound anything', () => {
    expect(() => new DnsAnswerCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new DnsAnswerCache({ maxNamesPerEntry: 1.5 })).toThrow(RangeError);
    expect(() => new DnsAnswerCache({ minTtlSeconds: 10, maxTtlSeconds: 5 })).toThrow(RangeError);
  });
});

describe('DnsAnswerCache edges', () => {
  it.each([
    [{ maxEntries: 0 }, /^maxEntries must be a positive integer, got 0$/],
    [{ maxNamesPerEntry: 1.5 }, /^maxNamesPerEntry must be a positive integer, got 1.5$/],
    [{ minTtlSeconds: -1 }, /^TTL bounds must satisfy 0 <= minTtlSeconds <= maxTtlSeconds, got -1 and 86400$/],
    [{ minTtlSeconds: 10, maxTtlSeconds: 5 }, /got 10 and 5$/],
  ])('rejects %j with a message naming the limit', (options, message) => {
    expect(() => new DnsAnswerCache(options)).toThrow(message);
  });

  it.each([
    { maxEntries: 1 },
    { maxNamesPerEntry: 1 },
    { minTtlSeconds: 0, maxTtlSeconds: 0 },
    { minTtlSeconds: 60, maxTtlSeconds: 60 },
  ])('accepts the tightest limits %j', (options) => {
    const cache = new DnsAnswerCache(options);
    expect(cache.record(CLIENT, response('a.example', [a('a.example', '203.0.113.5')]), T0)).toBe(1);
  });

  it('follows the first CNAME of an owner that has two', () => {
    const cache = new DnsAnswerCache();
    const msg = response('q.example', [
      cname('q.example', 'x.example'),
      cname('q.example', 'z.example'),
      a('x.example', '203.0.113.5'),
      a('z.example', '203.0.113.6'),
    ]);
    expect(cache.record(CLIENT, msg, T0)).toBe(2);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['q.example', 'x.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.6', T0)).toEqual([]);
  });

  it(`follows at most ${MAX_CNAME_CHAIN} CNAME hops from a question`, () => {
    const cache = new DnsAnswerCache({ maxNamesPerEntry: 32 });
    const hop = (k: number) => (k === 0 ? 'q.example' : `c${k}.example`);
    const answers = [];
    for (let k = 0; k < MAX_CNAME_CHAIN + 4; k++) answers.push(cname(hop(k), hop(k + 1)));
    answers.push(a(hop(MAX_CNAME_CHAIN), '203.0.113.16'), a(hop(MAX_CNAME_CHAIN + 1), '203.0.113.17'));
    expect(cache.record(CLIENT, response('q.example', answers), T0)).toBe(MAX_CNAME_CHAIN + 1);
    expect(cache.namesFor(CLIENT, '203.0.113.16', T0)).toHaveLength(MAX_CNAME_CHAIN + 1);
    expect(cache.namesFor(CLIENT, '203.0.113.17', T0)).toEqual([]);
  });

  it('makes no entry for an address record off the chain', () => {
    const cache = new DnsAnswerCache();
    cache.record(CLIENT, response('q.example', [a('q.example', '203.0.113.5'), a('other.example', '203.0.113.6')]), T0);
    expect(cache.size).toBe(1);
  });

  it('keeps each name with its own expiry when the sorted answer differs from the recorded order', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 0 });
    cache.record(CLIENT, response('b.example', [a('b.example', '203.0.113.5', 60)]), T0);
    cache.record(CLIENT, response('a.example', [a('a.example', '203.0.113.5', 600)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['a.example', 'b.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 120 * S)).toEqual(['a.example']);
  });

  it.each([
    ['a longer TTL extends', 300, 600, true],
    ['a shorter TTL does not shorten', 600, 300, true],
    ['the same TTL keeps', 300, 300, false],
  ])('a name seen again: %s its expiry', (_what, first, second, alive) => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 0 });
    cache.record(CLIENT, response('n.example', [a('n.example', '203.0.113.5', first)]), T0);
    cache.record(CLIENT, response('n.example', [a('n.example', '203.0.113.5', second)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 400 * S)).toEqual(alive ? ['n.example'] : []);
  });

  it('counts a new answer for a held entry as a use (least recently used goes first)', () => {
    const cache = new DnsAnswerCache({ maxEntries: 2 });
    const answer = (ip: string) => response('n.example', [a('n.example', ip)]);
    cache.record(CLIENT, answer('203.0.113.1'), T0);
    cache.record(CLIENT, answer('203.0.113.2'), T0);
    cache.record(CLIENT, answer('203.0.113.1'), T0); // .1 is now the most recent
    cache.record(CLIENT, answer('203.0.113.3'), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0)).toEqual(['n.example']);
  });

  it('keeps entries apart by client and address, also when an eviction takes a client’s last entry', () => {
    const other = '192.0.2.77';
    const cache = new DnsAnswerCache({ maxEntries: 2 });
    cache.record(CLIENT, response('c.example', [a('c.example', '203.0.113.1')]), T0);
    cache.record(other, response('o.example', [a('o.example', '203.0.113.1')]), T0);
    expect(cache.namesFor(other, '203.0.113.1', T0)).toEqual(['o.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0)).toEqual(['c.example']);
    // The other client's entry is now the least recently used and its only one: it goes, and its
    // next answer must make a new place for that client.
    cache.record(CLIENT, response('d.example', [a('d.example', '203.0.113.2')]), T0);
    expect(cache.namesFor(other, '203.0.113.1', T0)).toEqual([]);
    cache.record(other, response('p.example', [a('p.example', '203.0.113.3')]), T0);
    expect(cache.namesFor(other, '203.0.113.3', T0)).toEqual(['p.example']);
    expect(cache.size).toBe(2);
    // A client whose only entry is evicted by its own next answer.
    const one = new DnsAnswerCache({ maxEntries: 1 });
    one.record(CLIENT, response('x.example', [a('x.example', '203.0.113.8')]), T0);
    one.record(CLIENT, response('y.example', [a('y.example', '203.0.113.9')]), T0);
    expect(one.namesFor(CLIENT, '203.0.113.9', T0)).toEqual(['y.example']);
    expect(one.namesFor(CLIENT, '203.0.113.8', T0)).toEqual([]);
    expect([one.size, one.evictions]).toEqual([1, 1]);
    // Emptied by expiry (namesFor removes an entry with nothing left): a new answer still lands.
    expect(one.namesFor(CLIENT, '203.0.113.9', T0 + 100_000 * S)).toEqual([]);
    expect(one.size).toBe(0);
    one.record(CLIENT, response('z.example', [a('z.example', '203.0.113.9')]), T0 + 100_000 * S);
    expect(one.namesFor(CLIENT, '203.0.113.9', T0 + 100_000 * S)).toEqual(['z.example']);
    expect([one.size, one.evictions]).toEqual([1, 1]);
  });

  it('keeps IPv4 and IPv6 entries in one recency order and one bound', () => {
    // IPv4 pairs are found by their words, other pairs by their text: eviction must not tell them apart.
    const v6Client = '2001:db8::2';
    const cache = new DnsAnswerCache({ maxEntries: 3 });
    cache.record(CLIENT, response('a.example', [a('a.example', '203.0.113.1')]), T0);
    expect([cache.size, cache.sizeByWords]).toEqual([1, 1]);
    cache.record(v6Client, response('b.example', [a('b.example', '203.0.113.1')]), T0);
    expect([cache.size, cache.sizeByWords]).toEqual([2, 1]);
    cache.record(
      CLIENT,
      response('c.example', [{ name: 'c.example', type: DnsType.AAAA, ttl: 3600, address: '2001:db8::c' }]),
      T0,
    );
    expect(cache.size).toBe(3);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0)).toEqual(['a.example']); // the IPv4 pair is now the newest
    cache.record(CLIENT, response('d.example', [a('d.example', '203.0.113.4')]), T0); // evicts the IPv6 client's entry
    expect(cache.namesFor(v6Client, '203.0.113.1', T0)).toEqual([]);
    cache.record(CLIENT, response('e.example', [a('e.example', '203.0.113.5')]), T0); // evicts the IPv6 address's entry
    expect(cache.namesFor(CLIENT, '2001:db8::c', T0)).toEqual([]);
    expect(cache.evictions).toBe(2);
    for (const [ip, name] of [
      ['203.0.113.1', 'a.example'],
      ['203.0.113.4', 'd.example'],
      ['203.0.113.5', 'e.example'],
    ])
      expect(cache.namesFor(CLIENT, ip, T0)).toEqual([name]);
    // A text that is not a canonical dotted quad is its own address, never the one it might be read as.
    cache.record(CLIENT, response('z.example', [a('z.example', '203.0.113.05')]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['e.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.05', T0)).toEqual(['z.example']);
  });

  it('agrees with a plain model over many clients and addresses of both families, through evictions', () => {
    const cache = new DnsAnswerCache({ maxEntries: 50, minTtlSeconds: 0 });
    /** The model: insertion-ordered Map as the recency list (delete + set on use). */
    const model = new Map<string, string[]>();
    const use = (k: string) => {
      const v = model.get(k);
      if (v === undefined) return undefined;
      model.delete(k);
      model.set(k, v);
      return v;
    };
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const clients = ['10.0.0.2', '10.0.0.3', '2001:db8::2', '2001:db8::3', '0.0.0.1'];
    const addrs = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? `2001:db8::${i.toString(16)}` : `198.51.100.${i}`,
    );
    for (let step = 0; step < 5000; step++) {
      const c = clients[rnd(clients.length)];
      const d = addrs[rnd(addrs.length)];
      const key = `${c} ${d}`;
      if (rnd(2) === 0) {
        const name = `n${rnd(5)}.example`;
        cache.record(c, response(name, [a(name, d)]), T0);
        const held = use(key);
        if (held === undefined) {
          if (model.size >= 50) model.delete(model.keys().next().value as string);
          model.set(key, [name]);
        } else if (!held.includes(name)) held.push(name);
      } else {
        expect(cache.namesFor(c, d, T0)).toEqual([...(use(key) ?? [])].sort());
      }
      expect(cache.size).toBe(model.size);
    }
  });

  it('sweeps only entries with nothing left', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 0 });
    cache.record(CLIENT, response('s.example', [a('s.example', '203.0.113.1', 60)]), T0);
    cache.record(CLIENT, response('l.example', [a('l.example', '203.0.113.2', 600)]), T0);
    cache.record(CLIENT, response('m.example', [a('m.example', '203.0.113.3', 60)]), T0);
    cache.record(CLIENT, response('m2.example', [a('m2.example', '203.0.113.3', 600)]), T0);
    expect(cache.sweep(T0 + 120 * S)).toBe(1);
    expect(cache.size).toBe(2);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0 + 120 * S)).toEqual(['l.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.3', T0 + 120 * S)).toEqual(['m2.example']);
  });
});

describe('DnsAnswerCache.namesForFlow', () => {
  it('answers a flow as namesFor() answers its addresses as text: IPv4 by its words, IPv6 by its text', () => {
    const cache = new DnsAnswerCache();
    const aaaa = (name: string, address: string) => ({ name, type: DnsType.AAAA, ttl: 3600, address });
    cache.record(CLIENT, response('v4.example', [a('v4.example', '192.0.2.80')]), T0);
    cache.record('0.0.0.0', response('zero.example', [a('zero.example', '255.255.255.255')]), T0);
    cache.record('2001:db8::2', response('v6.example', [aaaa('v6.example', '2001:db8::80')]), T0);
    cache.record(CLIENT, response('mixed.example', [aaaa('mixed.example', '2001:db8::81')]), T0);
    const flows = [
      { v6: false, c0: 0x0a000002, d0: 0xc0000250 | 0, srcIp: CLIENT, destIp: '192.0.2.80' },
      { v6: false, c0: 0, d0: -1, srcIp: '0.0.0.0', destIp: '255.255.255.255' },
      { v6: false, c0: 0x0a000003, d0: 0xc0000250 | 0, srcIp: '10.0.0.3', destIp: '192.0.2.80' },
      { v6: true, c0: 0x20010db8, d0: 0x20010db8, srcIp: '2001:db8::2', destIp: '2001:db8::80' },
      { v6: true, c0: 0x20010db8, d0: 0x20010db8, srcIp: '2001:db8::3', destIp: '2001:db8::80' },
    ];
    const got = flows.map((f) => cache.namesForFlow(f, T0 + S));
    expect(got).toEqual(flows.map((f) => cache.namesFor(f.srcIp, f.destIp, T0 + S)));
    expect(got).toEqual([['v4.example'], ['zero.example'], [], ['v6.example'], []]);
    // Expired names go as they do for namesFor().
    expect(cache.namesForFlow(flows[0], T0 + 86_401 * S)).toEqual([]);
    expect(cache.size).toBe(3);
  });
});
