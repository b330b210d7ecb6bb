// The flow table (agent/src/flow/table.ts) when it is full, across timeout
// classes: a flow past its own class's timeout is ended (closed or timeout)
// before any active flow is evicted, at the exact boundary, whichever class it
// is in; evictions go in least-recent order over all classes, following flows
// that moved class (TCP handshake done, RST); ids and counters add up.

import { describe, expect, it } from 'vitest';
import { IpProto, TcpFlag } from '../../agent/src/decode/packet.js';
import { C, HANDSHAKE, Harness, S, SRV, T0, tcp } from '../support/flow-table.js';

const { SYN, ACK, RST } = TcpFlag;
const LONG = { tcpNew: 5, tcpEstablished: 5, tcpClosed: 5, udp: 5, other: 5 };

// One flow per timeout class, each on its own client port.
const CLASSES: { cls: string; key: keyof typeof LONG; reason: string; feed: (h: Harness, t: number) => void }[] = [
  { cls: 'tcp new', key: 'tcpNew', reason: 'timeout', feed: (h, t) => tcp(h, [['c', SYN]], t, 41000) },
  { cls: 'tcp established', key: 'tcpEstablished', reason: 'timeout', feed: (h, t) => tcp(h, [['c', ACK]], t, 41001) },
  { cls: 'tcp closed', key: 'tcpClosed', reason: 'closed', feed: (h, t) => tcp(h, [['c', RST]], t, 41002) },
  { cls: 'udp', key: 'udp', reason: 'timeout', feed: (h, t) => h.send(C, 41003, SRV, 53, { t }) },
  {
    cls: 'other',
    key: 'other',
    reason: 'timeout',
    feed: (h, t) => h.send(C, 41004, SRV, 41004, { proto: IpProto.ICMP, t }),
  },
];

const ZERO = { endedClosed: 0, endedTimeout: 0, endedPortReuse: 0, endedEndOfInput: 0, evictedLru: 0 };

describe('flow table full: idle flows of any class end before an active flow is evicted', () => {
  // Class X has a timeout of 0.5 s, the others 5 s. X's flow is the most recent of the five, so the least
  // recent flow (the first fed) is what eviction would take; a new flow comes before the next sweep is due.
  const CASES = CLASSES.flatMap((x, i) => [
    { ...x, i, idle: 0.5 * S + 1, ended: [[41000 + i, x.reason]] },
    { ...x, i, idle: 0.5 * S, ended: [[x === CLASSES[0] ? 41001 : 41000, 'evicted']] },
  ]);
  it.each(CASES)('$cls past 0.5 s by $idle µs: $ended', (c) => {
    const h = new Harness({ maxFlows: 5, timeouts: { ...LONG, [c.key]: 0.5 } });
    const order = [...CLASSES.filter((x) => x !== CLASSES[c.i]), CLASSES[c.i]];
    for (const [k, x] of order.entries()) x.feed(h, T0 + k * 10_000); // a sweep at T0, the next due at T0 + 1 s
    const last = T0 + 40_000;
    h.send(C, 42000, SRV, 53, { t: last + c.idle });
    expect(h.ended.map((f) => [f.cport, f.reason])).toEqual(c.ended);
    const reason = c.ended[0][1];
    expect(h.table.counters).toEqual({
      ...ZERO,
      created: 6,
      active: 5,
      activeMax: 5,
      endedClosed: reason === 'closed' ? 1 : 0,
      endedTimeout: reason === 'timeout' ? 1 : 0,
      evictedLru: reason === 'evicted' ? 1 : 0,
    });
    expect(h.open().map((f) => f.cport)).toEqual(
      [...order.map((x) => 41000 + CLASSES.indexOf(x)), 42000].filter((p) => p !== c.ended[0][0]),
    );
  });
});

describe('flow table full: eviction order across classes', () => {
  it('evicts one flow per new flow, least recent first over every class, after flows moved class', () => {
    const h = new Harness({ maxFlows: 5 });
    for (const [k, x] of CLASSES.entries()) x.feed(h, T0 + k * 10); // ids 1..5, ports 41000..41004
    tcp(h, [['s', SYN | ACK]], T0 + 50, 41000); // still a new connection (syn_recv), moved to the front
    tcp(h, [['c', ACK]], T0 + 60, 41000); // established: now in another class's list
    tcp(h, [['c', RST]], T0 + 65, 41001); // established → closed: another class again
    CLASSES[3].feed(h, T0 + 70); // the UDP flow again
    // By last packet: 41002 (20, closed), 41004 (40, other), 41000 (60, established), 41001 (65, closed), 41003 (70, udp).
    for (let i = 0; i < 6; i++) h.send(C, 50000 + i, SRV, 53, { t: T0 + 100 + i });
    expect(h.ended.map((f) => [f.cport, f.id, f.state, f.reason, f.last - T0])).toEqual([
      [41002, 3, 'closed', 'evicted', 20],
      [41004, 5, 'none', 'evicted', 40],
      [41000, 1, 'established', 'evicted', 60],
      [41001, 2, 'closed', 'evicted', 65],
      [41003, 4, 'none', 'evicted', 70],
      [50000, 6, 'none', 'evicted', 100],
    ]);
    expect(h.open().map((f) => [f.cport, f.id])).toEqual([1, 2, 3, 4, 5].map((i) => [50000 + i, 6 + i]));
    expect(h.table.counters).toEqual({ ...ZERO, created: 11, active: 5, activeMax: 5, evictedLru: 6 });
  });

  it('counts every flow once over a run that ends flows in every way', () => {
    const h = new Harness({ maxFlows: 2, timeouts: { udp: 2, tcpClosed: 1 } });
    h.send(C, 1, SRV, 53, { t: T0 }); // a sweep now, the next due at T0 + 1 s
    tcp(h, [...HANDSHAKE, ['c', RST]], T0 + 10); // closed, 1 s of grace
    tcp(h, [['c', SYN]], T0 + 0.5 * S); // a new SYN on it: port reuse, flow 3
    tcp(h, [['c', RST]], T0 + 0.5 * S + 1); // flow 3 reset: closed
    h.send(C, 2, SRV, 53, { t: T0 + 0.6 * S }); // full, nothing idle: evicts the least recent (flow 1)
    h.send(C, 3, SRV, 53, { t: T0 + 3 * S }); // the sweep: flow 3 past its grace, flow 4 past the udp timeout
    for (const slot of h.table.openFlowsInOrder()) h.table.endAtEndOfInput(slot);
    expect(h.ended.map((f) => [f.id, f.cport, f.reason])).toEqual([
      [2, 40000, 'port_reuse'],
      [1, 1, 'evicted'],
      [3, 40000, 'closed'],
      [4, 2, 'timeout'],
      [5, 3, 'end_of_input'],
    ]);
    expect(h.table.counters).toEqual({
      created: 5,
      active: 0,
      activeMax: 2,
      endedClosed: 1,
      endedTimeout: 1,
      endedPortReuse: 1,
      endedEndOfInput: 1,
      evictedLru: 1,
    });
  });
});
