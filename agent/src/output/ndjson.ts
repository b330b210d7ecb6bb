// NDJSON events per DESIGN.md ("scan NDJSON"), field names after Suricata's
// EVE JSON. One JSON object a line; `stats` is always the last line.

import type { CaptureGap } from '../capture/types.js';
import type { EgressError } from '../errors.js';
import { rcodeName, rrTypeName } from '../names/app-events.js';
import type { DnsMessage } from '../names/dns.js';
import type { EncryptedDns } from '../names/encrypted-dns.js';
import type { AppProto } from '../names/flow-app.js';
import { type AlertRecord, type AppEventRecord, appEventBody, type FlowRecord, type ProtoName } from './flow-record.js';
import { type JsonBytes, jsonText } from './json-bytes.js';
import { isoMicros, writeIsoMicros } from './time.js';
import { type TunnelInfo, writeTunnel } from './tunnel.js';

/**
 * What the event lines read of a flow: a FlowApp has it, and the scan's
 * event thread makes it again from a record (output/event-ring.ts).
 */
export interface EventFlow {
  readonly flowId: number;
  readonly srcIp: string;
  readonly srcPort: number | null;
  readonly destIp: string;
  readonly destPort: number | null;
  readonly proto: ProtoName;
  readonly appProto: AppProto | null;
  readonly country: string | null;
  readonly asn: number | null;
  readonly asOrg: string | null;
  readonly asCountry: string | null;
  readonly ech: boolean;
  readonly encryptedDns: EncryptedDns | null;
  hiddenBy(): string[];
}

/** What a flow line reads of its record. */
export type FlowLine = Omit<
  FlowRecord,
  'app' | 'flowId' | 'srcIp' | 'srcPort' | 'destIp' | 'destPort' | 'proto' | 'internet'
> & {
  app: EventFlow;
};
export type AlertLine = Omit<AlertRecord, 'app'> & { app: EventFlow };
export type AppLine = Omit<AppEventRecord, 'app'> & { app: EventFlow };

/** `"timestamp":"…"` with the event's opening brace. */
function head(out: JsonBytes, tsUs: number): void {
  out.raw('{"timestamp":"');
  out.room(28);
  out.pos = writeIsoMicros(out.buf, out.pos, tsUs);
  out.byte(0x22);
}

/** A timestamp as a JSON string. */
function time(out: JsonBytes, us: number): void {
  out.room(29);
  out.buf[out.pos++] = 0x22;
  out.pos = writeIsoMicros(out.buf, out.pos, us);
  out.buf[out.pos++] = 0x22;
}

/** The tuple every flow-scoped event starts with. Addresses, ports and protocol names need no escaping. */
function tuple(out: JsonBytes, a: EventFlow): void {
  out.raw(',"flow_id":');
  out.num(a.flowId);
  out.raw(',"src_ip":"');
  out.raw(a.srcIp);
  out.raw('","src_port":');
  out.num(a.srcPort);
  out.raw(',"dest_ip":"');
  out.raw(a.destIp);
  out.raw('","dest_port":');
  out.num(a.destPort);
  out.raw(',"proto":"');
  out.raw(a.proto);
  out.byte(0x22);
}

/** Strings from closed sets (country codes, protocol and state names) need no escaping. */
function closed(out: JsonBytes, v: string | null): void {
  if (v === null) {
    out.raw('null');
    return;
  }
  out.byte(0x22);
  out.raw(v);
  out.byte(0x22);
}

function dest(out: JsonBytes, a: EventFlow, names: readonly string[]): void {
  out.raw(',"dest":{"names":');
  out.strs(names);
  out.raw(',"country":');
  closed(out, a.country);
  out.raw(',"asn":');
  out.num(a.asn);
  out.raw(',"as_org":');
  out.str(a.asOrg);
  out.raw(',"as_country":');
  closed(out, a.asCountry);
  out.byte(0x7d);
}

/** Reason codes and what hides names are closed sets of identifiers. */
function closedList(out: JsonBytes, list: readonly string[]): void {
  out.byte(0x5b);
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out.byte(0x2c);
    closed(out, list[i]);
  }
  out.byte(0x5d);
}

function hiddenBy(out: JsonBytes, a: EventFlow): void {
  out.raw(',"names_hidden_by":');
  if (!a.ech && a.encryptedDns === null) out.raw('[]');
  else closedList(out, a.hiddenBy());
}

/** How a flow or alert event starts: time, type, tuple, app protocol, destination. */
function flowScoped(
  out: JsonBytes,
  tsUs: number,
  type: 'flow' | 'alert',
  a: EventFlow,
  names: readonly string[],
): void {
  head(out, tsUs);
  out.raw(',"event_type":"');
  out.raw(type);
  out.byte(0x22);
  tuple(out, a);
  out.raw(',"app_proto":');
  closed(out, a.appProto);
  dest(out, a, names);
}

/** How a flow or alert event ends: what hides its names, the tunnel it came through. */
function flowScopedEnd(out: JsonBytes, a: EventFlow, tunnel: TunnelInfo | null | undefined): void {
  hiddenBy(out, a);
  writeTunnel(out, tunnel);
  out.byte(0x7d);
}

/** One `flow` event, encoded into `out` (the line's end is the caller's). */
export function writeFlowEvent(out: JsonBytes, r: FlowLine): void {
  flowScoped(out, r.endUs, 'flow', r.app, r.names);
  out.raw(',"verdict":"');
  out.raw(r.verdict);
  out.raw('","reasons":');
  closedList(out, r.reasons);
  out.raw(',"pkts_toserver":');
  out.num(r.pktsToServer);
  out.raw(',"pkts_toclient":');
  out.num(r.pktsToClient);
  out.raw(',"bytes_toserver":');
  out.num(r.bytesToServer);
  out.raw(',"bytes_toclient":');
  out.num(r.bytesToClient);
  out.raw(',"start":');
  time(out, r.startUs);
  out.raw(',"end":');
  time(out, r.endUs);
  out.raw(',"tcp_state":');
  closed(out, r.tcpState);
  out.raw(',"end_reason":"');
  out.raw(r.endReason);
  out.byte(0x22);
  flowScopedEnd(out, r.app, r.tunnel);
}

export function writeAlertEvent(out: JsonBytes, a: AlertLine): void {
  flowScoped(out, a.tsUs, 'alert', a.app, a.names);
  out.raw(',"alert":{"severity":"');
  out.raw(a.severity);
  out.raw('","reasons":');
  closedList(out, a.reasons);
  out.raw(',"text":');
  out.str(a.text);
  out.byte(0x7d);
  flowScopedEnd(out, a.app, a.tunnel);
}

/** A dns, tls, quic or http event: the tuple and the body under the event's type. */
export function writeAppEvent(out: JsonBytes, e: AppLine): void {
  appEventHead(out, e.tsUs, e.type, e.app);
  // Stryker disable next-line ConditionalExpression: `e.dns !== null` as true only changes a record with neither body nor message, which throws a TypeError either way (appEventBody reads its message); the `e.body === null` variants fail dns-body.test.ts
  if (e.body === null && e.dns !== null) writeDnsBody(out, e.dns.message);
  else out.value(appEventBody(e));
  out.byte(0x7d);
}

/** A DNS event from its parsed message. */
export function writeDnsEvent(out: JsonBytes, tsUs: number, app: EventFlow, m: DnsMessage): void {
  appEventHead(out, tsUs, 'dns', app);
  writeDnsBody(out, m);
  out.byte(0x7d);
}

/** An app event up to its body (`"tls":`): the caller writes the body and the closing brace. */
export function appEventHead(out: JsonBytes, tsUs: number, type: AppProto, app: EventFlow): void {
  head(out, tsUs);
  out.raw(',"event_type":"');
  out.raw(type);
  out.byte(0x22);
  tuple(out, app);
  out.raw(',"');
  out.raw(type);
  out.raw('":');
}

/**
 * A DNS event's body, the very bytes JSON.stringify makes of dnsEventBody(m)
 * (names/app-events.ts), without making that object: a DNS event is about
 * half the lines of a scan of a gateway's traffic.
 */
export function writeDnsBody(out: JsonBytes, m: DnsMessage): void {
  const q = m.questions.length > 0 ? m.questions[0] : null;
  out.raw(m.response ? '{"type":"answer","id":' : '{"type":"query","id":');
  out.num(m.id);
  out.raw(',"rrname":');
  out.str(q === null ? null : q.name);
  out.raw(',"rrtype":');
  out.str(q === null ? null : rrTypeName(q.type));
  if (m.response) {
    out.raw(',"rcode":');
    out.str(rcodeName(m.rcode));
    out.raw(',"answers":[');
    const answers = m.answers;
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if (i > 0) out.byte(0x2c);
      out.raw('{"rrname":');
      out.str(a.name);
      out.raw(',"rrtype":');
      out.str(rrTypeName(a.type));
      out.raw(',"ttl":');
      out.num(a.ttl);
      out.raw(',"rdata":');
      out.str(a.address ?? a.target ?? null);
      out.byte(0x7d);
    }
    out.byte(0x5d);
  }
  out.byte(0x7d);
}

/** The same events as strings (the evidence log). */
export function flowEventLine(r: FlowRecord): string {
  return jsonText((out) => writeFlowEvent(out, r));
}

export function alertEventLine(a: AlertRecord): string {
  return jsonText((out) => writeAlertEvent(out, a));
}

export function appEventLine(e: AppEventRecord): string {
  return jsonText((out) => writeAppEvent(out, e));
}

/** A `capture_gap` event: when the capture was blind, why, and how much it missed (null when unknown). */
export function captureGapLine(g: CaptureGap): string {
  return (
    `{"timestamp":"${isoMicros(g.endUs)}","event_type":"capture_gap","start":"${isoMicros(g.startUs)}",` +
    `"end":"${isoMicros(g.endUs)}","cause":"${g.cause}","packets_dropped":${g.packetsDropped}}`
  );
}

export interface ScanStats {
  packets: number;
  bytes: number;
  firstUs: number;
  lastUs: number;
  format: string | null;
  linkTypes: number[];
  decoded: { transport: number; ip_only: number; not_ip: number; malformed: number };
  flows: number;
  flowsInternet: number;
  flowsLocal: number;
  flowTable: Record<string, number>;
  alerts: number;
  names: Record<string, number>;
  policy: string;
  databases: Record<string, string>;
  anomalies: Record<string, number>;
  error: EgressError | null;
}

export function statsEvent(s: ScanStats): Record<string, unknown> {
  return {
    timestamp: isoMicros(Math.max(s.lastUs, 0)),
    event_type: 'stats',
    packets: s.packets,
    bytes: s.bytes,
    flows: s.flows,
    flows_internet: s.flowsInternet,
    flows_local: s.flowsLocal,
    truncated: s.error !== null,
    error: s.error ? { code: s.error.code, offset: s.error.facts.offset ?? null, message: s.error.message } : null,
    capture: { format: s.format, link_types: s.linkTypes },
    decoder: s.decoded,
    alerts: s.alerts,
    flow_table: s.flowTable,
    names: s.names,
    policy: s.policy,
    databases: s.databases,
    anomalies: s.anomalies,
  };
}
