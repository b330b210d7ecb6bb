// The flow table on its own (agent/src/flow/): the decisions test/unit/flow.test.ts
// reaches only through whole captures, here one at a time and table-driven —
// timeouts per protocol class at their exact boundary, on the sweep and on the
// flow's own next packet; port reuse and what is not reuse; FIN and RST
// seen from either side; eviction across timeout classes; key symmetry
// (unsigned address order, equal addresses and ports); hash chains that
// hold keys differing in one word only; the end-of-input order.

import { describe, expect, it } from 'vitest';
import { IpProto, Packet, TcpFlag } from '../../agent/src/decode/packet.js';
import { hashWords, KEY_WORDS, KeyBuilder } from '../../agent/src/flow/key.js';
import { C, full, HANDSHAKE, Harness, S, type Seg, SRV, T0, tcp } from '../support/flow-table.js';

const { SYN, ACK, FIN, RST, ECE, CWR } = TcpFlag;

// Distinct timeouts per class, so a flow filed under the wrong class ends at the wrong time.
const TIMEOUTS = { tcpNew: 5, tcpEstablished: 20, tcpClosed: 2, udp: 11, other: 7 };
const CLOSED = { state: 'closed', reason: 'closed' };

type Case = { name: string; feed: (h: Harness) => number; again: (h: Harness, t: number) => void; limit: number };
type Expect = { state: string; reason: string };

const tcpCase = (name: string, segs: Seg[], again: Seg, limit: number, e: Expect): Case & Expect => ({
  name,
  feed: (h) => tcp(h, segs, T0),
  again: (h, t) => tcp(h, [again], t),
  limit,
  ...e,
});

const otherCase = (name: string, key: [string, number, string, number, number], limit: number): Case & Expect => {
  const [src, sport, dst, dport, proto] = key;
  const again = (h: Harness, t: number) => {
    h.send(src, sport, dst, dport, { proto, t });
  };
  const feed = (h: Harness) => {
    again(h, T0);
    return T0;
  };
  return { name, feed, again, limit, state: 'none', reason: 'timeout' };
};

const TIMEOUT = { state: 'x', reason: 'timeout' };
const CLASS_CASES: (Case & Expect)[] = [
  tcpCase('TCP after a lone SYN', [['c', SYN]], ['c', SYN], 5, { ...TIMEOUT, state: 'syn_sent' }),
  tcpCase('TCP after SYN, SYN-ACK', HANDSHAKE.slice(0, 2), ['c', SYN], 5, { ...TIMEOUT, state: 'syn_recv' }),
  tcpCase('TCP established', HANDSHAKE, ['c', ACK], 20, { ...TIMEOUT, state: 'established' }),
  tcpCase('TCP seen from mid-stream', [['s', ACK]], ['s', ACK], 20, { ...TIMEOUT, state: 'established' }),
  tcpCase('TCP half-closed by the client', [...HANDSHAKE, ['c', FIN | ACK]], ['c', ACK], 20, {
    ...TIMEOUT,
    state: 'closing',
  }),
  tcpCase('TCP half-closed by the server', [...HANDSHAKE, ['s', FIN | ACK]], ['c', ACK], 20, {
    ...TIMEOUT,
    state: 'closing',
  }),
  tcpCase('TCP closed by FIN both ways', [...HANDSHAKE, ['c', FIN | ACK], ['s', FIN | ACK]], ['c', ACK], 2, CLOSED),
  tcpCase(
    'TCP whose client FIN is sent twice, then the server FIN',
    [...HANDSHAKE, ['c', FIN | ACK], ['c', FIN | ACK], ['s', FIN | ACK]],
    ['c', ACK],
    2,
    CLOSED,
  ),
  tcpCase('TCP reset by the server', [...HANDSHAKE, ['s', RST]], ['c', ACK], 2, CLOSED),
  tcpCase(
    'TCP answered by RST to its SYN',
    [
      ['c', SYN],
      ['s', RST | ACK],
    ],
    ['c', ACK],
    2,
    CLOSED,
  ),
  tcpCase('TCP whose FIN comes after a RST', [...HANDSHAKE, ['c', RST], ['s', FIN | ACK]], ['c', ACK], 2, CLOSED),
  otherCase('UDP', [C, 5000, SRV, 53, IpProto.UDP], 11),
  otherCase('ICMP echo', [C, 7, SRV, 7, IpProto.ICMP], 7),
  otherCase('ICMPv6 echo', ['fd00::2', 9, '2001:db8::10', 9, IpProto.IPV6_ICMP], 7),
  otherCase('another protocol (SCTP)', [C, 5000, SRV, 5000, 132], 7),
];

describe('flow table: timeouts per protocol class', () => {
  it.each(CLASS_CASES)('$name: idle exactly its timeout it stays, a microsecond more it ends', (c) => {
    const h = new Harness({ timeouts: TIMEOUTS });
    const last = c.feed(h);
    h.table.expireIdle(last + c.limit * S);
    expect(h.ended).toEqual([]);
    expect(h.open().map((f) => f.state)).toEqual([c.state]);
    h.table.expireIdle(last + c.limit * S + 1);
    expect(h.ended.map((f) => [f.state, f.reason])).toEqual([[c.state, c.reason]]);
    expect(h.table.counters).toMatchObject({
      active: 0,
      endedClosed: c.reason === 'closed' ? 1 : 0,
      endedTimeout: c.reason === 'timeout' ? 1 : 0,
    });
  });

  // The flow's own next packet, when no sweep has run since it went stale (sweeps run at most once a second).
  it.each(CLASS_CASES)('$name: its own next packet after the timeout ends it and starts a new flow', (c) => {
    const h = new Harness({ timeouts: TIMEOUTS });
    const last = c.feed(h);
    const probe = (t: number) => h.send('10.0.0.9', 1, SRV, 2, { t }); // another flow: makes the sweep run at t
    probe(last + c.limit * S - 1);
    c.again(h, last + c.limit * S); // idle exactly the timeout: the same flow
    expect(h.ended).toEqual([]);
    const t = last + 2 * c.limit * S + 1;
    probe(t - 1);
    c.again(h, t);
    const ended = h.ended.filter((f) => f.client !== '10.0.0.9');
    expect(ended.map((f) => [f.state, f.reason, f.last])).toEqual([[c.state, c.reason, last + c.limit * S]]);
    expect(h.open().filter((f) => f.client !== '10.0.0.9')).toHaveLength(1);
  });

  it('takes the default timeouts when none are given (TCP established: one hour)', () => {
    const h = new Harness();
    const last = tcp(h, HANDSHAKE, T0);
    h.table.expireIdle(last + 3600 * S);
    expect(h.ended).toEqual([]);
    h.table.expireIdle(last + 3600 * S + 1);
    expect(h.reasons()).toEqual(['timeout']);
  });

  it('sweeps idle flows at most once a second, from the packets themselves', () => {
    const h = new Harness({ timeouts: { udp: 1 } });
    h.send(C, 1, SRV, 53, { t: T0 }); // sweep at T0, next due at T0 + 1 s
    h.send(C, 2, SRV, 53, { t: T0 + 0.5 * S });
    h.send(C, 3, SRV, 53, { t: T0 + S }); // sweep: nothing idle for more than 1 s yet
    h.send(C, 3, SRV, 53, { t: T0 + 1.9 * S }); // no sweep (next at T0 + 2 s): flow 1 is idle 1.9 s but stays
    expect(h.ended).toEqual([]);
    h.send(C, 3, SRV, 53, { t: T0 + 2 * S }); // sweep: flows 1 and 2 are past their timeout
    expect(h.ended.map((f) => f.cport)).toEqual([1, 2]);
  });
});

describe('flow table: port reuse', () => {
  const CASES: { name: string; after: Seg[]; reason: string[]; open: number[] }[] = [
    { name: 'a new SYN on a closed connection', after: [['c', SYN]], reason: ['port_reuse'], open: [1] },
    { name: 'an ECN-setup SYN (SYN+ECE+CWR)', after: [['c', SYN | ECE | CWR]], reason: ['port_reuse'], open: [1] },
    { name: 'a late SYN-ACK', after: [['s', SYN | ACK]], reason: [], open: [10] },
    { name: 'a late ACK', after: [['c', ACK]], reason: [], open: [10] },
  ];
  it.each(CASES)('$name: $reason', (c) => {
    const h = new Harness();
    const last = tcp(
      h,
      [...HANDSHAKE, ['c', FIN | ACK], ['s', FIN | ACK], ['c', ACK], ['s', ACK], ['c', ACK], ['s', ACK]],
      T0,
    );
    tcp(h, c.after, last + 1000);
    expect(h.reasons()).toEqual(c.reason);
    expect(h.table.counters).toMatchObject({ endedPortReuse: c.reason.length, endedClosed: 0, endedTimeout: 0 });
    expect(h.open().map((f) => f.pkts[0] + f.pkts[1])).toEqual(c.open);
  });

  it('a SYN sent again on a connection still open is the same flow', () => {
    const h = new Harness();
    tcp(h, [...HANDSHAKE, ['c', SYN]], T0);
    expect(h.ended).toEqual([]);
    expect(h.open().map((f) => [f.pkts, f.state])).toEqual([[[3, 1], 'established']]);
  });
});

describe('flow table: direction, counts and time', () => {
  it('counts packets and bytes per direction and keeps the latest time when packets come out of order', () => {
    const h = new Harness();
    h.send(C, 5000, SRV, 53, { t: T0 + 10, len: 70 });
    h.send(SRV, 53, C, 5000, { t: T0 + 30, len: 300 });
    h.send(C, 5000, SRV, 53, { t: T0 + 20, len: 80 }); // earlier than the last packet seen
    expect(h.open()).toEqual([
      {
        id: 1,
        client: C,
        server: SRV,
        cport: 5000,
        sport: 53,
        proto: IpProto.UDP,
        pkts: [2, 1],
        bytes: [150, 300],
        first: T0 + 10,
        last: T0 + 30,
        state: 'none',
        reason: 'open',
      },
    ]);
  });

  it('takes the receiver of a first SYN-ACK as client, and the sender of any other first packet', () => {
    const h = new Harness();
    tcp(h, [['s', SYN | ACK]], T0, 40001);
    tcp(h, [['s', ACK]], T0 + 10, 40002);
    expect(h.open().map((f) => [f.client, f.cport, f.server, f.sport, f.pkts])).toEqual([
      [C, 40001, SRV, 443, [0, 1]],
      [SRV, 443, C, 40002, [1, 0]],
    ]);
    expect([h.table.lastCreated, h.table.lastToServer]).toEqual([true, true]);
    tcp(h, [['c', ACK]], T0 + 20, 40002);
    expect([h.table.lastCreated, h.table.lastToServer]).toEqual([false, false]);
  });

  // Both directions of a conversation are one flow, however the endpoints compare: addresses that differ
  // only in one word (so the comparison has to look at every word), share a word with the top bit set
  // (unsigned comparison), or are equal (ports decide), with equal or different ports.
  const PAIRS: [string, number, string, number][] = [
    ['10.0.0.2', 123, '198.51.100.10', 123],
    ['203.0.113.5', 123, '198.51.100.10', 123],
    ['fd00::1', 5353, 'fd00::2', 5353],
    ['2001:db8::1', 500, '2001:db9::1', 500],
    ['2001:db8:0:1::', 500, '2001:db8::', 500],
    ['2001:db8::1:0:0', 500, '2001:db8::', 500],
    ['2001:db8::1', 500, '2001:db8::', 500],
    ['ff02::1', 500, 'fe80::1', 500],
    ['127.0.0.1', 40000, '127.0.0.1', 8080],
    ['127.0.0.1', 8080, '127.0.0.1', 40000],
    ['::1', 5000, '::1', 5000],
  ];
  it.each(PAIRS)('%s port %i and %s port %i, both ways, are one flow', (a, ap, b, bp) => {
    const h = new Harness();
    h.send(a, ap, b, bp, { t: T0 });
    h.send(b, bp, a, ap, { t: T0 + 1 });
    h.send(b, bp, a, ap, { t: T0 + 2 });
    const same = a === b && ap === bp;
    expect(h.open().map((f) => [f.client, f.cport, f.server, f.sport, f.pkts])).toEqual([
      [full(a), ap, full(b), bp, same ? [3, 0] : [1, 2]],
    ]);
  });
});

describe('flow table: hash chains', () => {
  // 64 flows in a table of 64 (128 buckets): some share a bucket for any seed (the chance that none do is
  // about 1e-7), so a lookup that skipped one word of the key would merge two of them.
  const VARIANTS: [string, (i: number) => [string, number, string, number, number]][] = [
    ['client IPv4 address', (i) => [`10.0.1.${i}`, 5000, SRV, 53, IpProto.UDP]],
    ['server IPv4 address', (i) => [C, 5000, `198.51.100.${i}`, 53, IpProto.UDP]],
    // The key puts the lower address first: vary each word of the lower one, then of the higher one.
    ...[0, 1, 2, 3].flatMap((w): [string, (i: number) => [string, number, string, number, number]][] => {
      const v6 = (i: number) => {
        const g = ['2001', 'db8', '0', '0', '0', '0', '0', '1'];
        g[2 * w + 1] = (0x100 + i).toString(16);
        return g.join(':');
      };
      return [
        [`lower IPv6 address (the client), word ${w}`, (i) => [v6(i), 5000, 'ffff::1', 53, IpProto.UDP]],
        [`lower IPv6 address (the server), word ${w}`, (i) => ['ffff::1', 5000, v6(i), 53, IpProto.UDP]],
        [`higher IPv6 address (the client), word ${w}`, (i) => [v6(i), 5000, '::2', 53, IpProto.UDP]],
        [`higher IPv6 address (the server), word ${w}`, (i) => ['::2', 5000, v6(i), 53, IpProto.UDP]],
      ];
    }),
    ['client port', (i) => [C, 5000 + i, SRV, 53, IpProto.UDP]],
    ['server port', (i) => [C, 5000, SRV, 53 + i, IpProto.UDP]],
    ['protocol', (i) => [C, 5000, SRV, 53, 100 + i]],
  ];
  it.each(VARIANTS)('keeps 64 flows apart that differ only in the %s', (_name, make) => {
    const h = new Harness({ maxFlows: 64 });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 64; i++) {
        const [a, ap, b, bp, proto] = make(i);
        h.send(a, ap, b, bp, { proto, t: T0 + round * 100 + i });
      }
    }
    expect(h.ended).toEqual([]);
    const open = h.open();
    expect(open.map((f) => f.pkts)).toEqual(new Array(64).fill([2, 0]));
    expect(open.map((f) => [f.client, f.cport, f.server, f.sport, f.proto])).toEqual(
      Array.from({ length: 64 }, (_, i) => {
        const [a, ap, b, bp, proto] = make(i);
        return [full(a), ap, full(b), bp, proto];
      }),
    );
  });

  it('tells an IPv4 flow from the IPv6 flow whose addresses have the same first word', () => {
    const h = new Harness();
    h.send('1.2.3.4', 1, '5.6.7.8', 2, { t: T0 });
    h.send('102:304::', 1, '506:708::', 2, { t: T0 + 1 });
    expect(h.open().map((f) => [f.client, f.server])).toEqual([
      ['1.2.3.4', '5.6.7.8'],
      ['102:304:0:0:0:0:0:0', '506:708:0:0:0:0:0:0'],
    ]);
  });

  it('unlinks ended flows wherever they sit in their chain, and finds the others after', () => {
    // 64 flows in a table of 64; half of them end one by one in a shuffled order, then every key is sent again:
    // the flows still open must be found (not duplicated), the ended ones start afresh.
    const h = new Harness({ maxFlows: 64, timeouts: { udp: 5 } });
    for (let i = 0; i < 64; i++) h.send(C, 6000 + i, SRV, 53, { t: T0 + i });
    const order = Array.from({ length: 64 }, (_, k) => (k * 37) % 64);
    for (const [k, i] of order.entries()) h.send(C, 6000 + i, SRV, 53, { t: T0 + (k < 32 ? 0 : 3 * S) + k * 10_000 });
    for (let k = 0; k < 32; k++) h.table.expireIdle(T0 + 5 * S + k * 10_000 + 1);
    expect(h.ended.map((f) => f.cport - 6000)).toEqual(order.slice(0, 32));
    for (let i = 0; i < 64; i++) h.send(C, 6000 + i, SRV, 53, { t: T0 + 6 * S });
    const pkts = new Map(h.open().map((f) => [f.cport - 6000, f.pkts[0]]));
    expect([...pkts.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(order.map((i) => pkts.get(i))).toEqual([...new Array(32).fill(1), ...new Array(32).fill(3)]);
    expect(h.table.counters).toMatchObject({ created: 96, active: 64, endedTimeout: 32, evictedLru: 0 });
  });
});

describe('flow table: a full table', () => {
  // One flow per timeout class; the one active longest ago is evicted, whichever class it is in.
  const FEEDS: { cls: string; feed: (h: Harness, t: number) => void }[] = [
    { cls: 'tcp new', feed: (h, t) => tcp(h, [['c', SYN]], t, 41000) },
    { cls: 'tcp established', feed: (h, t) => tcp(h, [['c', ACK]], t, 41001) },
    { cls: 'tcp closed', feed: (h, t) => tcp(h, [['c', RST]], t, 41002) },
    { cls: 'udp', feed: (h, t) => h.send(C, 41003, SRV, 53, { t }) },
    { cls: 'other', feed: (h, t) => h.send(C, 41004, SRV, 41004, { proto: IpProto.ICMP, t }) },
  ];
  it.each(FEEDS.map((f, i) => [f.cls, i] as const))('evicts the least recent flow when it is %s', (_cls, victim) => {
    const h = new Harness({ maxFlows: 5, timeouts: { tcpClosed: 3600 } });
    // The victim goes first; the others in an order that puts a newer flow ahead of it in class order.
    const order = [victim, ...[4, 2, 0, 3, 1].filter((i) => i !== victim)];
    for (const [k, i] of order.entries()) FEEDS[i].feed(h, T0 + k * 10);
    h.send(C, 42000, SRV, 53, { t: T0 + 100 });
    expect(h.ended.map((f) => [f.cport, f.reason])).toEqual([[41000 + victim, 'evicted']]);
    expect(h.table.counters).toEqual({
      created: 6,
      active: 5,
      activeMax: 5,
      endedClosed: 0,
      endedTimeout: 0,
      endedPortReuse: 0,
      endedEndOfInput: 0,
      evictedLru: 1,
    });
  });

  it('ends a flow past its timeout before evicting an active one', () => {
    const h = new Harness({ maxFlows: 2, timeouts: { udp: 0.5 } });
    h.send(C, 1, SRV, 53, { t: T0 }); // sweep now, next one due at T0 + 1 s
    tcp(h, HANDSHAKE, T0 + 0.1 * S);
    h.send(C, 3, SRV, 53, { t: T0 + 0.7 * S }); // full: flow 1 has been idle 0.7 s > 0.5 s
    expect(h.ended.map((f) => [f.cport, f.reason])).toEqual([[1, 'timeout']]);
    expect(h.table.counters).toMatchObject({ evictedLru: 0, endedTimeout: 1, active: 2 });
  });

  it('leaves idle flows to the sweep while there is room: a slot never used, or one freed', () => {
    for (const freeSlot of [false, true]) {
      const h = new Harness({ maxFlows: freeSlot ? 2 : 3, timeouts: { udp: 0.5 } });
      h.send(C, 1, SRV, 53, { t: T0 }); // sweep now, next one due at T0 + 1 s
      const b = h.send(C, 2, SRV, 53, { t: T0 + 0.1 * S });
      if (freeSlot) h.table.endAtEndOfInput(b);
      h.send(C, 3, SRV, 53, { t: T0 + 0.7 * S }); // flow 1 is past its timeout, but no sweep is due
      expect(h.ended.map((f) => f.cport)).toEqual(freeSlot ? [2] : []);
      h.send(C, 3, SRV, 53, { t: T0 + S }); // the sweep
      expect(h.ended.map((f) => f.cport)).toEqual(freeSlot ? [2, 1] : [1, 2]);
    }
  });

  it('counts the most flows open at once', () => {
    const h = new Harness({ timeouts: { udp: 1 } });
    for (let i = 0; i < 3; i++) h.send(C, 1 + i, SRV, 53, { t: T0 + i });
    h.table.expireIdle(T0 + 5 * S);
    h.send(C, 9, SRV, 53, { t: T0 + 6 * S });
    expect(h.table.counters).toMatchObject({ created: 4, active: 1, activeMax: 3, endedTimeout: 3 });
  });

  it('works with room for one flow: each new flow evicts the last', () => {
    const h = new Harness({ maxFlows: 1 });
    h.send(C, 1, SRV, 53, { t: T0, len: 10 });
    h.send(C, 2, SRV, 53, { t: T0 + 1, len: 20 });
    h.send(SRV, 53, C, 2, { t: T0 + 2, len: 30 });
    expect(h.ended.map((f) => [f.cport, f.reason, f.bytes])).toEqual([[1, 'evicted', [10, 0]]]);
    expect(h.open().map((f) => [f.cport, f.bytes])).toEqual([[2, [20, 30]]]);
  });

  it('counts bytes in every slot of a small table, and starts a reused slot from zero', () => {
    const h = new Harness({ maxFlows: 4, timeouts: { udp: 1 } });
    for (let i = 0; i < 4; i++) {
      h.send(C, 100 + i, SRV, 53, { t: T0 + i, len: 10 + i });
      h.send(SRV, 53, C, 100 + i, { t: T0 + i, len: 100 + i });
    }
    expect(h.open().map((f) => [f.cport, f.pkts, f.bytes])).toEqual(
      [0, 1, 2, 3].map((i) => [100 + i, [1, 1], [10 + i, 100 + i]]),
    );
    h.table.expireIdle(T0 + 2 * S); // every slot free again
    for (let i = 0; i < 4; i++) h.send(C, 200 + i, SRV, 53, { t: T0 + 2 * S + i, len: 7 });
    expect(h.open().map((f) => [f.cport, f.pkts, f.bytes])).toEqual([0, 1, 2, 3].map((i) => [200 + i, [1, 0], [7, 0]]));
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxFlows %s', (maxFlows) => {
    expect(() => new Harness({ maxFlows })).toThrow(/maxFlows must be a positive integer/);
  });
});

describe('flow table: end of input', () => {
  it.each([
    ['packed ids', 0],
    ['ids too large to pack', 2 ** 52],
  ])('lists open flows in the order they began (%s), in a table of 5', (_name, base) => {
    const h = new Harness({ maxFlows: 5, timeouts: { udp: 2 } });
    h.table.counters.created = base;
    for (let i = 1; i <= 5; i++) h.send(C, i, SRV, 53, { t: T0 + i });
    h.send(C, 1, SRV, 53, { t: T0 + 1.5 * S }); // flow 1 most recent: LRU order is not begin order
    h.send(C, 2, SRV, 53, { t: T0 + 1.6 * S });
    h.table.expireIdle(T0 + 2.2 * S); // flows 3, 4, 5 idle 2.2 s: ended, their slots free (reused last first)
    h.send(C, 7, SRV, 53, { t: T0 + 2.3 * S });
    h.send(C, 6, SRV, 53, { t: T0 + 2.4 * S });
    h.send(C, 8, SRV, 53, { t: T0 + 2.5 * S });
    expect(h.open().map((f) => [f.cport, f.id - base])).toEqual([
      [1, 1],
      [2, 2],
      [7, 6],
      [6, 7],
      [8, 8],
    ]);
  });

  it('ends a flow at end of input with that reason, once', () => {
    const h = new Harness();
    h.send(C, 1, SRV, 53, { t: T0 });
    for (const slot of h.table.openFlowsInOrder()) h.table.endAtEndOfInput(slot);
    expect(h.reasons()).toEqual(['end_of_input']);
    expect(h.table.counters).toMatchObject({ endedEndOfInput: 1, active: 0 });
    expect(h.open()).toEqual([]);
  });
});

describe('flow key', () => {
  it('is seeded: two tables hash the same key differently (no precomputed collisions)', () => {
    const p = new Packet();
    p.addrLen = 4;
    p.srcAddrOff = 0;
    p.dstAddrOff = 4;
    p.proto = IpProto.UDP;
    const buf = Buffer.from([10, 0, 0, 2, 198, 51, 100, 10]);
    const hashes = new Set<number>();
    for (let seed = 1; seed <= 8; seed++) {
      const k = new KeyBuilder(seed);
      k.build(p, buf);
      hashes.add(k.hash);
      expect(k.words).toHaveLength(KEY_WORDS);
    }
    expect(hashes.size).toBe(8);
  });

  // Any deterministic mix gives the same flows; this checks the mix reads every word of the key, so that
  // flows differing in one word spread over the buckets instead of sharing one chain.
  it.each(Array.from({ length: KEY_WORDS }, (_, w) => w))('hashes word %i of the key', (w) => {
    const k = new KeyBuilder(12345);
    const hashes = new Set<number>();
    for (let i = 0; i < 256; i++) {
      k.words.fill(0);
      k.words[w] = i * 0x01010101;
      hashes.add(hashWords(k.words, 12345));
    }
    expect(hashes.size).toBe(256);
  });
});
