// What a recorded session says (agent/src/evidence/model.ts, readModel), in
// process and exactly: each record type read into flows, destinations, gaps,
// lookups, counters and the timeline; destinations merged by address (names
// and reasons once each, severity only raised, first/last seen widened,
// bytes of flagged flows only); the timeline bounded; and the "no egress
// observed" statement's strength for each share of the window the capture
// was down, at its boundary.

import { describe, expect, it } from 'vitest';
import type { ChainRecord } from '../../agent/src/evidence/chain.js';
import { readModel } from '../../agent/src/evidence/model.js';
import type { SessionMeta } from '../../agent/src/evidence/session-store.js';

const T = (s: number) => new Date(Date.parse('2026-05-01T10:00:00Z') + s * 1000).toISOString();

function meta(start: string, end: string | null): SessionMeta {
  return {
    id: 'gw-m-20260501T100000000Z',
    name: 'Model flight',
    gateway: 'gw-m',
    state: end === null ? 'open' : 'closed',
    start,
    end,
    operator: {},
    agent_version: '1.0.0-test',
    policy: { source: 'policy.yaml', sha256: '0'.repeat(64) },
    databases: {},
    clock_start: { synchronized: true, source: 'test' },
    clock_end: null,
    key_fingerprint: 'f'.repeat(64),
    resumed: 0,
  };
}

let seq = 0;
const rec = (type: string, data: Record<string, unknown>, ts = T(0)): ChainRecord => ({
  seq: seq++,
  prev: '0'.repeat(64),
  ts,
  type,
  data,
});

const dest = (names: string[], country = 'CN') => ({
  names,
  country,
  asn: 64500,
  as_org: 'Example AS',
  as_country: country,
});

function flow(id: number, ip: string, verdict: string, reasons: string[], start: string, end: string, names: string[]) {
  return rec('flow', {
    flow_id: id,
    start,
    end,
    src_ip: '10.0.0.2',
    src_port: 50000 + id,
    dest_ip: ip,
    dest_port: 443,
    proto: 'TCP',
    app_proto: 'tls',
    dest: dest(names),
    verdict,
    reasons,
    pkts_toserver: 1,
    pkts_toclient: 1,
    bytes_toserver: 100 * id,
    bytes_toclient: 10 * id,
  });
}

const alert = (ip: string, severity: string, reasons: string[], ts: string, names: string[]) =>
  rec('alert', { dest_ip: ip, dest: dest(names), timestamp: ts, alert: { severity, reasons, text: `to ${ip}` } });

describe('readModel: each record type', () => {
  it('reads a flight of every record type into exact flows, destinations, lookups, gaps, counters and timeline', () => {
    const records = [
      rec('session_start', { start: T(0), name: 'Model flight' }),
      // Allowed: a flow, but not a destination.
      flow(1, '198.51.100.1', 'allowed', [], T(1), T(2), ['ok.example']),
      // Medium then high to the same address: merged, severity raised, names and reasons once each.
      flow(2, '203.0.113.9', 'medium', ['country'], T(10), T(12), ['a.example']),
      alert('203.0.113.9', 'high', ['country', 'asn'], T(5), ['a.example', 'b.example']),
      flow(3, '203.0.113.9', 'high', ['asn'], T(4), T(20), ['b.example']),
      // An allowed flow to a flagged address adds neither a flow nor bytes to it.
      flow(4, '203.0.113.9', 'allowed', [], T(3), T(30), ['c.example']),
      // High first, then medium: stays high.
      alert('203.0.113.20', 'high', ['deny'], T(8), ['d.example']),
      alert('203.0.113.20', 'medium', ['country'], T(9), ['d.example']),
      rec('lookup', {
        timestamp: T(6),
        src_ip: '10.0.0.2',
        dest_ip: '10.0.0.1',
        name: 'evil.example',
        alert: { severity: 'high', rule: 'deny:evil.example' },
      }),
      rec('lookup', {
        timestamp: T(7),
        src_ip: '10.0.0.3',
        dest_ip: '10.0.0.1',
        dest_port: 53,
        name: 'bad.example',
        alert: { severity: 'high', rule: 'deny:bad.example' },
      }),
      rec('capture_gap', { start: T(40), end: T(45), cause: 'capture_restart', packets_dropped: 3 }),
      rec('resume', {}, T(50)),
      rec('pcap_truncated', { max_bytes: 1024 }, T(51)),
      rec('suspend', { packets: 7 }),
      rec('suspend', {}),
      rec('checkpoint', { sig: 'x' }),
      rec('note', { text: 'ignored' }),
      rec('session_end', { end: T(60), packets: 5, flagged_packets: 2 }),
    ];
    const m = readModel(meta(T(0), T(60)), records);
    expect(m.records).toBe(records.length);
    expect(m.flows.map((f) => f.flow_id)).toEqual([1, 2, 3, 4]);
    expect(m.alerts).toBe(3);
    expect([m.packets, m.flaggedPackets, m.pcapTruncated]).toEqual([12, 2, true]);
    expect(m.destinations).toEqual([
      {
        ip: '203.0.113.9',
        names: ['a.example', 'b.example'],
        country: 'CN',
        asn: 64500,
        asOrg: 'Example AS',
        asCountry: 'CN',
        severity: 'high',
        reasons: ['country', 'asn'],
        flows: 2,
        bytesToServer: 500,
        bytesToClient: 50,
        firstSeen: T(4),
        lastSeen: T(20),
      },
      {
        ip: '203.0.113.20',
        names: ['d.example'],
        country: 'CN',
        asn: 64500,
        asOrg: 'Example AS',
        asCountry: 'CN',
        severity: 'high',
        reasons: ['deny', 'country'],
        flows: 0,
        bytesToServer: 0,
        bytesToClient: 0,
        firstSeen: T(8),
        lastSeen: T(9),
      },
    ]);
    expect(m.lookups).toEqual([
      {
        timestamp: T(6),
        src_ip: '10.0.0.2',
        dest_ip: '10.0.0.1',
        dest_port: null,
        name: 'evil.example',
        rule: 'deny:evil.example',
        severity: 'high',
      },
      {
        timestamp: T(7),
        src_ip: '10.0.0.3',
        dest_ip: '10.0.0.1',
        dest_port: 53,
        name: 'bad.example',
        rule: 'deny:bad.example',
        severity: 'high',
      },
    ]);
    expect(m.gaps).toEqual([{ start: T(40), end: T(45), cause: 'capture_restart', packets_dropped: 3 }]);
    // In time order, not log order: the lookups at 6 and 7 s come between the alerts at 5 and 8 s.
    expect(m.timeline).toEqual([
      { ts: T(0), kind: 'start', text: 'Model flight' },
      { ts: T(5), kind: 'alert', text: 'HIGH: to 203.0.113.9' },
      { ts: T(6), kind: 'lookup', text: '10.0.0.2 → 10.0.0.1: evil.example (deny:evil.example)' },
      { ts: T(7), kind: 'lookup', text: '10.0.0.3 → 10.0.0.1: bad.example (deny:bad.example)' },
      { ts: T(8), kind: 'alert', text: 'HIGH: to 203.0.113.20' },
      { ts: T(9), kind: 'alert', text: 'MEDIUM: to 203.0.113.20' },
      { ts: T(40), kind: 'gap', text: `capture_restart ${T(40)} – ${T(45)}` },
      { ts: T(50), kind: 'resume', text: 'agent restarted; session resumed' },
      { ts: T(51), kind: 'pcap_truncated', text: 'flagged.pcapng reached 1024 bytes' },
      { ts: T(60), kind: 'end', text: '' },
    ]);
    expect(m.timelineOmitted).toBe(0);
    // Alerts and lookups all inside the recording: one clock.
    expect(m.timelineClock).toEqual({ outside: 0, first: T(5), last: T(9) });
    // The first alert in log order (recorded at T(0) here), not the earliest by its packet.
    expect(m.discovery).toEqual({ recorded: T(0), packet: T(5) });
    expect(m.statement).toEqual({
      kind: 'egress_observed',
      strength: 'not_applicable',
      window: { start: T(0), end: T(60) },
      clock: 'gateway',
      gapSeconds: 5,
      gaps: 1,
    });
  });

  it('a start record without a name has an empty timeline text; a session_end without counts adds none', () => {
    const m = readModel(meta(T(0), T(10)), [rec('session_start', { start: T(0) }), rec('session_end', { end: T(10) })]);
    expect(m.timeline).toEqual([
      { ts: T(0), kind: 'start', text: '' },
      { ts: T(10), kind: 'end', text: '' },
    ]);
    expect([m.packets, m.flaggedPackets, m.pcapTruncated, m.alerts]).toEqual([0, 0, false, 0]);
  });

  it('keeps at most 500 timeline entries, the first ones', () => {
    const records = Array.from({ length: 600 }, (_, i) => rec('resume', {}, T(i)));
    const m = readModel(meta(T(0), T(600)), records);
    expect(m.timeline).toHaveLength(500);
    expect(m.timeline[499].ts).toBe(T(499));
    expect(m.timelineOmitted).toBe(100);
    expect(m.records).toBe(600);
  });

  it('keeps the 500 earliest by time when the log holds them latest first, equal times in log order', () => {
    // Log order 599 … 0 (a replay's capture time running against the log), every time twice.
    const records = Array.from({ length: 600 }, (_, i) => [
      rec('pcap_truncated', { max_bytes: i }, T(599 - i)),
      rec('resume', {}, T(599 - i)),
    ]).flat();
    const m = readModel(meta(T(0), T(600)), records);
    expect(m.timeline).toHaveLength(500);
    expect(m.timelineOmitted).toBe(700);
    expect(m.timeline.map((e) => e.ts)).toEqual(Array.from({ length: 500 }, (_, i) => T(Math.floor(i / 2))));
    expect(m.timeline.slice(0, 4).map((e) => e.kind)).toEqual(['pcap_truncated', 'resume', 'pcap_truncated', 'resume']);
    expect(m.timeline[0].text).toBe('flagged.pcapng reached 599 bytes');
  });

  it('a replayed capture: packet-dated events before the recording sort before its start and are counted', () => {
    // The shape `egress replay --speed max` writes: the session opens on the gateway's clock (day 10),
    // then alerts and lookups dated by the capture (day 1); an event within a minute of the start is not counted.
    const day = (d: number, s = 0) =>
      new Date(Date.parse('2026-05-01T10:00:00Z') + d * 86_400_000 + s * 1000).toISOString();
    const m = readModel(meta(day(10), day(10, 5)), [
      rec('session_start', { start: day(10), name: 'Replay' }),
      alert('203.0.113.9', 'high', ['deny'], day(1, 30), []),
      rec('lookup', {
        timestamp: day(1, 20),
        src_ip: '10.0.0.2',
        dest_ip: '10.0.0.1',
        name: 'x.example',
        alert: { severity: 'high', rule: 'r' },
      }),
      alert('203.0.113.9', 'high', ['deny'], day(10, -59), []),
      rec('session_end', { end: day(10, 5) }),
    ]);
    expect(m.timeline.map((e) => [e.kind, e.ts])).toEqual([
      ['lookup', day(1, 20)],
      ['alert', day(1, 30)],
      ['alert', day(10, -59)],
      ['start', day(10)],
      ['end', day(10, 5)],
    ]);
    expect(m.timelineClock).toEqual({ outside: 2, first: day(1, 20), last: day(10, -59) });
    // After the end by more than a minute counts too.
    const late = readModel(meta(T(0), T(10)), [
      alert('203.0.113.9', 'high', [], T(71), []),
      alert('203.0.113.9', 'high', [], T(70), []),
    ]);
    expect(late.timelineClock).toEqual({ outside: 1, first: T(70), last: T(71) });
  });

  it('orders destinations by first seen', () => {
    const m = readModel(meta(T(0), T(60)), [
      alert('203.0.113.2', 'medium', ['a'], T(30), []),
      alert('203.0.113.1', 'medium', ['a'], T(10), []),
      alert('203.0.113.3', 'medium', ['a'], T(20), []),
    ]);
    expect(m.destinations.map((d) => [d.ip, d.severity])).toEqual([
      ['203.0.113.1', 'medium'],
      ['203.0.113.3', 'medium'],
      ['203.0.113.2', 'medium'],
    ]);
    // Seen later, then earlier: the window widens both ways, never narrows.
    const back = readModel(meta(T(0), T(60)), [
      alert('203.0.113.1', 'medium', [], T(30), []),
      alert('203.0.113.1', 'medium', [], T(20), []),
      alert('203.0.113.1', 'medium', [], T(25), []),
    ]);
    expect(back.destinations.map((d) => [d.firstSeen, d.lastSeen])).toEqual([[T(20), T(30)]]);
  });
});

describe('readModel: the statement', () => {
  const gap = (from: number, to: number) =>
    rec('capture_gap', { start: T(from), end: T(to), cause: 'capture_down', packets_dropped: null });
  const end = (packets: number) => rec('session_end', { end: T(100), packets });

  it.each([
    ['no gap, packets seen: plain', [end(10)], 'plain', 0, 1],
    ['no packets at all: refused', [end(0)], 'refused', 0, 1],
    ['a short gap: weakened', [gap(10, 20), end(10)], 'weakened', 10, 2],
    ['gaps just under half the window: weakened', [gap(0, 30), gap(50, 69.999), end(10)], 'weakened', 30 + 19.999, 3],
    ['gaps of exactly half the window: refused', [gap(0, 30), gap(50, 70), end(10)], 'refused', 50, 3],
    ['a gap longer than the window: refused', [gap(0, 150), end(10)], 'refused', 150, 2],
    ['a gap that ends before it starts counts 0 s, still weakened', [gap(20, 10), end(10)], 'weakened', 0, 2],
  ])('%s', (_what, records, strength, gapSeconds, n) => {
    const m = readModel(meta(T(0), T(100)), records as ChainRecord[]);
    expect(m.records).toBe(n);
    expect(m.statement).toEqual({
      kind: 'no_egress_observed',
      strength,
      window: { start: T(0), end: T(100) },
      clock: 'gateway',
      gapSeconds,
      gaps: n - 1,
    });
  });

  it('an open session ends at its last record, or at its start when there is none', () => {
    const open = readModel(meta(T(0), null), [rec('suspend', { packets: 1 }, T(40)), rec('resume', {}, T(80))]);
    expect(open.statement).toEqual({
      kind: 'no_egress_observed',
      strength: 'plain',
      window: { start: T(0), end: T(80) },
      clock: 'gateway',
      gapSeconds: 0,
      gaps: 0,
    });
    const empty = readModel(meta(T(0), null), []);
    expect(empty.statement).toEqual({
      kind: 'no_egress_observed',
      strength: 'refused',
      window: { start: T(0), end: T(0) },
      clock: 'gateway',
      gapSeconds: 0,
      gaps: 0,
    });
  });

  it('a window of 0 s with a gap and packets: weakened, not refused (no share of nothing)', () => {
    const m = readModel(meta(T(0), T(0)), [gap(0, 5), rec('suspend', { packets: 3 })]);
    expect(m.statement.strength).toBe('weakened');
    expect(m.statement.gapSeconds).toBe(5);
    // An end before the start is a window of 0 s too.
    const back = readModel(meta(T(10), T(0)), [gap(0, 5), rec('suspend', { packets: 3 })]);
    expect(back.statement.strength).toBe('weakened');
  });

  it('any flow, even allowed, makes it egress observed', () => {
    const m = readModel(meta(T(0), T(100)), [
      flow(1, '198.51.100.1', 'allowed', [], T(1), T(2), []),
      gap(0, 90),
      end(0),
    ]);
    expect(m.statement).toEqual({
      kind: 'egress_observed',
      strength: 'not_applicable',
      window: { start: T(0), end: T(100) },
      clock: 'gateway',
      gapSeconds: 90,
      gaps: 1,
    });
    expect(m.destinations).toEqual([]);
  });
});

describe('readModel: discovery and the clock of the statement', () => {
  const end = (packets: number) => rec('session_end', { end: T(100), packets });
  const lookup = (ts: string) =>
    rec('lookup', { timestamp: ts, src_ip: '10.0.0.2', dest_ip: '10.0.0.1', name: 'x.example', alert: { rule: 'r' } });

  it('discovery: the first alert record as logged (its ts, the gateway clock), lookups not counted; none: null', () => {
    const DAY = -86_400;
    const m = readModel(meta(T(0), T(100)), [
      lookup(T(DAY - 10)),
      alert('203.0.113.9', 'high', ['country'], T(DAY + 5), []),
      alert('203.0.113.8', 'high', ['country'], T(DAY), []),
      end(3),
    ]);
    // rec() dates every record T(0) unless told: the first alert's record, its own packet time.
    expect(m.discovery).toEqual({ recorded: T(0), packet: T(DAY + 5) });
    const withTs = readModel(meta(T(0), T(100)), [
      { ...alert('203.0.113.9', 'high', [], T(DAY), []), ts: T(42) },
      { ...alert('203.0.113.9', 'high', [], T(DAY), []), ts: T(43) },
    ]);
    expect(withTs.discovery).toEqual({ recorded: T(42), packet: T(DAY) });
    expect(readModel(meta(T(0), T(100)), [lookup(T(1)), end(1)]).discovery).toBeNull();
  });

  it('packets outside the recording: the window runs from the first to the last packet time (flows, alerts, lookups)', () => {
    const m = readModel(meta(T(0), T(100)), [
      lookup(T(-5000)),
      flow(1, '198.51.100.1', 'allowed', [], T(-7000), T(-6990), []),
      alert('203.0.113.9', 'high', [], T(-6000), []),
      flow(2, '198.51.100.1', 'allowed', [], T(-6500), T(-4000), []),
      lookup(T(-4500)),
      rec('capture_gap', { start: T(10), end: T(20), cause: 'capture_down', packets_dropped: null }),
      end(9),
    ]);
    expect(m.statement).toEqual({
      kind: 'egress_observed',
      strength: 'not_applicable',
      window: { start: T(-7000), end: T(-4000) },
      clock: 'packets',
      gapSeconds: 10,
      gaps: 1,
    });
  });

  it.each([
    ['lookups a day earlier', 'packets', [-86_400, -86_300]],
    ['lookups a day later', 'packets', [86_500, 86_600]],
    ['one lookup 60 s + 1 ms before the start', 'packets', [-60.001]],
    ['one lookup 60 s + 1 ms after the end', 'packets', [160.001]],
    ['lookups within 60 s of the recording', 'gateway', [-60, 160]],
  ] as const)('no flow, %s: the statement on the %s clock', (_what, clock, at) => {
    const m = readModel(meta(T(0), T(100)), [...at.map((s) => lookup(T(s))), end(4)]);
    const times = at.map((s) => T(s));
    expect(m.statement).toEqual({
      kind: 'no_egress_observed',
      strength: 'plain',
      window: clock === 'packets' ? { start: times[0], end: times[times.length - 1] } : { start: T(0), end: T(100) },
      clock,
      gapSeconds: 0,
      gaps: 0,
    });
  });

  it('a live flow that began long before the flight opened leaves the statement on the gateway clock', () => {
    const m = readModel(meta(T(0), T(100)), [
      flow(1, '198.51.100.1', 'allowed', [], T(-3600), T(50), []),
      lookup(T(30)),
      end(4),
    ]);
    expect(m.statement.clock).toBe('gateway');
    expect(m.statement.window).toEqual({ start: T(0), end: T(100) });
  });

  it('the strength is still judged on the recording: gaps of half the recording refuse it', () => {
    const m = readModel(meta(T(0), T(100)), [
      lookup(T(-100_000)),
      lookup(T(-90_000)),
      rec('capture_gap', { start: T(0), end: T(50), cause: 'capture_down', packets_dropped: null }),
      end(4),
    ]);
    expect(m.statement).toMatchObject({ strength: 'refused', clock: 'packets', gapSeconds: 50 });
  });
});
