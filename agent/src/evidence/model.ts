// What a recorded session says, read back from its chained log: the flows,
// the flagged destinations, the capture gaps, the timeline, and the
// "no egress observed" statement with how far the gaps weaken it. The
// report, flows.csv and the manifest are all made from this one reading.

import type { ChainRecord } from './chain.js';
import type { SessionMeta } from './session-store.js';
import { type Statement, statement } from './statement.js';
import { BoundedTimeline, isoToMicros, type TimelineEntry } from './timeline.js';

export type { Statement } from './statement.js';
export type { TimelineEntry } from './timeline.js';

export interface FlowRow {
  flow_id: number;
  start: string;
  end: string;
  src_ip: string;
  src_port: number | null;
  dest_ip: string;
  dest_port: number | null;
  proto: string;
  app_proto: string | null;
  dest: {
    names: string[];
    country: string | null;
    asn: number | null;
    as_org: string | null;
    as_country: string | null;
  };
  verdict: 'allowed' | 'medium' | 'high';
  reasons: string[];
  pkts_toserver: number;
  pkts_toclient: number;
  bytes_toserver: number;
  bytes_toclient: number;
}

export interface Destination {
  ip: string;
  names: string[];
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  asCountry: string | null;
  severity: 'medium' | 'high';
  reasons: string[];
  flows: number;
  bytesToServer: number;
  bytesToClient: number;
  firstSeen: string;
  lastSeen: string;
}

export interface Gap {
  start: string;
  end: string;
  cause: string;
  packets_dropped: number | null;
  note?: string;
}

/** A client asked a resolver for a name the policy denies (a `lookup` record): whether or not a connection followed. */
export interface LookupRow {
  timestamp: string;
  /** The client that asked. */
  src_ip: string;
  /** The resolver it asked (often the gateway's own). */
  dest_ip: string;
  dest_port: number | null;
  name: string;
  /** The deny rule that matched. */
  rule: string;
  severity: 'high';
}

/**
 * Which clock the timeline's times are on. Alerts and lookups carry the time
 * in their packets; the session's start and end (and resume, pcap_truncated)
 * the gateway's clock when it recorded. Live, both are the gateway's clock;
 * a capture replayed at --speed max keeps the times it was captured at.
 */
export interface TimelineClock {
  /** Alerts and lookups dated more than a minute before the session's start or after its end. */
  outside: number;
  /** The earliest and the latest alert or lookup, by the time it carries. */
  first: string | null;
  last: string | null;
}

/**
 * When the breach was discovered: the first alert the gateway recorded.
 * `recorded` is the gateway's clock when it wrote the alert record (the
 * record's `ts`), `packet` the time in the packet that raised it. Live they
 * are within moments of each other; for a capture replayed at --speed max
 * the packet time is the capture's own, days or months before.
 */
export interface Discovery {
  recorded: string;
  packet: string;
}

export interface SessionModel {
  meta: SessionMeta;
  records: number;
  flows: FlowRow[];
  destinations: Destination[];
  gaps: Gap[];
  /** Denied names asked for, in the order asked (at most one per client and name per flight). */
  lookups: LookupRow[];
  /** In time order (stable), at most TIMELINE_MAX: the earliest. */
  timeline: TimelineEntry[];
  /** Entries left out of the timeline by its bound (the latest ones). */
  timelineOmitted: number;
  timelineClock: TimelineClock;
  /** The first alert recorded (log order), or null when the session has none. */
  discovery: Discovery | null;
  alerts: number;
  packets: number;
  flaggedPackets: number;
  pcapTruncated: boolean;
  statement: Statement;
}

const TIMELINE_MAX = 500;
/**
 * How far before the start (or after the end) a live session's packet times
 * can fall: a packet captured just before the flight opened but judged just
 * after, a backlog in tcpdump's pipe. Beyond it the events are on another
 * clock (a replayed capture) or the gateway's clock was changed mid-flight.
 */
export const CLOCK_SLACK_US = 60_000_000;

export function readModel(meta: SessionMeta, records: ChainRecord[]): SessionModel {
  const flows: FlowRow[] = [];
  const gaps: Gap[] = [];
  const lookups: LookupRow[] = [];
  const timeline = new BoundedTimeline(TIMELINE_MAX);
  const start = meta.start;
  const end = meta.end ?? records[records.length - 1]?.ts ?? start;
  const clock: TimelineClock = { outside: 0, first: null, last: null };
  const [startUs, endUs] = [isoToMicros(start), isoToMicros(end)];
  /** An event dated by its packets: widen the span, count it when it lies outside the recording. */
  const packetTime = (ts: string) => {
    const us = isoToMicros(ts);
    if (clock.first === null || us < isoToMicros(clock.first)) clock.first = ts;
    if (clock.last === null || us > isoToMicros(clock.last)) clock.last = ts;
    if (us < startUs - CLOCK_SLACK_US || us > endUs + CLOCK_SLACK_US) clock.outside++;
  };
  /** Every time the log holds from packets (flows, alerts, lookups): the traffic's span, for the statement. */
  const traffic = { first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY, start: '', end: '' };
  const trafficTime = (ts: string) => {
    const us = isoToMicros(ts);
    if (us < traffic.first) [traffic.first, traffic.start] = [us, ts];
    if (us > traffic.last) [traffic.last, traffic.end] = [us, ts];
  };
  let discovery: Discovery | null = null;
  const dests = new Map<string, Destination>();
  let alerts = 0;
  let packets = 0;
  let flaggedPackets = 0;
  let pcapTruncated = false;
  const add = (e: TimelineEntry) => timeline.add(e);
  for (const r of records) {
    // biome-ignore lint/suspicious/noExplicitAny: records are checked JSON of known types, read field by field
    const d = r.data as Record<string, any>;
    switch (r.type) {
      case 'session_start':
        add({ ts: String(d.start), kind: 'start', text: String(d.name ?? '') });
        break;
      case 'flow': {
        const f = d as unknown as FlowRow;
        flows.push(f);
        if (f.verdict !== 'allowed') touch(dests, f.dest_ip, f.dest, f.verdict, f.reasons, f.start, f.end).flows++;
        trafficTime(f.start);
        trafficTime(f.end);
        const dest = dests.get(f.dest_ip);
        if (dest && f.verdict !== 'allowed') {
          dest.bytesToServer += f.bytes_toserver;
          dest.bytesToClient += f.bytes_toclient;
        }
        break;
      }
      case 'alert': {
        alerts++;
        const a = d.alert as { severity: 'medium' | 'high'; reasons: string[]; text: string };
        touch(dests, d.dest_ip, d.dest, a.severity, a.reasons, d.timestamp, d.timestamp);
        add({ ts: String(d.timestamp), kind: 'alert', text: `${a.severity.toUpperCase()}: ${a.text}` });
        packetTime(String(d.timestamp));
        trafficTime(String(d.timestamp));
        discovery ??= { recorded: r.ts, packet: String(d.timestamp) };
        break;
      }
      case 'lookup': {
        const a = d.alert as { severity: 'high'; rule: string };
        const l: LookupRow = {
          timestamp: String(d.timestamp),
          src_ip: String(d.src_ip),
          dest_ip: String(d.dest_ip),
          dest_port: d.dest_port ?? null,
          name: String(d.name),
          rule: String(a.rule),
          severity: a.severity,
        };
        lookups.push(l);
        add({ ts: l.timestamp, kind: 'lookup', text: `${l.src_ip} → ${l.dest_ip}: ${l.name} (${l.rule})` });
        packetTime(l.timestamp);
        trafficTime(l.timestamp);
        break;
      }
      case 'capture_gap':
        gaps.push(d as unknown as Gap);
        add({ ts: String(d.start), kind: 'gap', text: `${d.cause} ${d.start} – ${d.end}` });
        break;
      case 'resume':
        add({ ts: r.ts, kind: 'resume', text: 'agent restarted; session resumed' });
        break;
      case 'pcap_truncated':
        pcapTruncated = true;
        add({ ts: r.ts, kind: 'pcap_truncated', text: `flagged.pcapng reached ${d.max_bytes} bytes` });
        break;
      case 'suspend':
        packets += Number(d.packets ?? 0);
        break;
      case 'session_end':
        packets += Number(d.packets ?? 0);
        flaggedPackets += Number(d.flagged_packets ?? 0);
        add({ ts: String(d.end), kind: 'end', text: '' });
        break;
    }
  }
  return {
    meta,
    records: records.length,
    flows,
    destinations: [...dests.values()].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen)),
    gaps,
    lookups,
    timeline: timeline.list(),
    timelineOmitted: timeline.omitted,
    timelineClock: clock,
    discovery,
    alerts,
    packets,
    flaggedPackets,
    pcapTruncated,
    // The packets' window only when alerts or lookups lie outside the recording (the timeline's test):
    // a live flow that began before the flight opened does not move a live statement off the gateway's clock.
    statement: statement(
      { start, end },
      clock.outside > 0 ? { start: traffic.start, end: traffic.end } : null,
      flows.length,
      gaps,
      packets,
    ),
  };
}

function touch(
  dests: Map<string, Destination>,
  ip: string,
  dest: FlowRow['dest'],
  severity: 'medium' | 'high' | 'allowed',
  reasons: string[],
  first: string,
  last: string,
): Destination {
  let d = dests.get(ip);
  if (d === undefined) {
    d = {
      ip,
      names: [],
      country: dest.country,
      asn: dest.asn,
      asOrg: dest.as_org,
      asCountry: dest.as_country,
      // Stryker disable next-line ConditionalExpression: raised to high just below whenever severity is high
      severity: severity === 'high' ? 'high' : 'medium',
      reasons: [],
      flows: 0,
      bytesToServer: 0,
      bytesToClient: 0,
      firstSeen: first,
      lastSeen: last,
    };
    dests.set(ip, d);
  }
  for (const n of dest.names) if (!d.names.includes(n)) d.names.push(n);
  for (const r of reasons) if (!d.reasons.includes(r)) d.reasons.push(r);
  if (severity === 'high') d.severity = 'high';
  // Stryker disable next-line EqualityOperator: on equality the same value is stored
  if (first < d.firstSeen) d.firstSeen = first;
  // Stryker disable next-line EqualityOperator: on equality the same value is stored
  if (last > d.lastSeen) d.lastSeen = last;
  return d;
}
