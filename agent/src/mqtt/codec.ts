// MQTT payloads: the agent's records as protobuf messages of schema egress.v1
// (agent/proto/egress/v1/egress.proto, which states the versioning rules).
// Pure functions over the static code that agent/scripts/gen-proto.mjs
// generates (no reflection, no eval). Here: the traffic records (alert,
// flow, stats) and what every message shares; the agent's status, sessions
// and commands in codec-control.ts; decoding in codec-decode.ts.
//
// The schema's field names are those of the NDJSON events, so a record
// becomes a message the way flowEventLine/alertEventLine make a JSON line:
// null becomes an unset `optional` field, ISO timestamps become `_us`
// integers, verdicts and protocols become enums.

// Same relative path from src/mqtt and dist/mqtt: both sit two levels below agent/.
import { egress } from '../../proto/gen/egress.js';
import type { CaptureGap } from '../capture/types.js';
import type { FlowApp } from '../names/flow-app.js';
import type { AlertRecord, FlowRecord, ProtoName } from '../output/flow-record.js';
import type { ScanStats } from '../output/ndjson.js';
import type { Verdict } from '../policy/policy.js';

const pb = egress.v1;

export { egress };

/** Who is publishing: the same for every message of one agent run. */
export interface MessageContext {
  /** Gateway id, also a topic level (checkGatewayId). */
  gateway: string;
  /** Flight session id; '' outside a session. */
  session: string;
  /** Unique per agent run (e.g. its start time in µs, base 36): flow ids start at 1 again in every run. */
  run: string;
}

export const SEVERITY: Record<Verdict, egress.v1.Severity> = {
  allowed: pb.Severity.ALLOWED,
  medium: pb.Severity.MEDIUM,
  high: pb.Severity.HIGH,
};
const VERDICT_OF: Record<number, Verdict> = { 1: 'allowed', 2: 'medium', 3: 'high' };

export const TRANSPORT: Record<ProtoName, egress.v1.Transport> = {
  TCP: pb.Transport.TCP,
  UDP: pb.Transport.UDP,
  ICMP: pb.Transport.ICMP,
  ICMPv6: pb.Transport.ICMPV6,
};
const PROTO_OF: Record<number, ProtoName> = { 1: 'TCP', 2: 'UDP', 3: 'ICMP', 4: 'ICMPv6' };

/** NDJSON's verdict/severity for an enum value; null for SEVERITY_UNSPECIFIED or a value newer than this code. */
export function verdictName(v: egress.v1.Severity): Verdict | null {
  return VERDICT_OF[v] ?? null;
}

/** NDJSON's proto (TCP|UDP|ICMP|ICMPv6) for an enum value; null when unset or unknown. */
export function protoNameOf(v: egress.v1.Transport): ProtoName | null {
  return PROTO_OF[v] ?? null;
}

/** A uint64 field as a number: decoding gives a Long for values the schema types as 64-bit. */
export function u64(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * The alert's id, the same every time the same alert is published: a flow
 * alerts at most once per severity, and flow ids are unique within a run.
 */
export function alertId(ctx: MessageContext, a: AlertRecord): string {
  return `${ctx.gateway}/${ctx.run}/${a.app.flowId}/${a.severity}`;
}

function destination(app: FlowApp, names: string[]): egress.v1.Destination.$Properties {
  return { names, country: app.country, asn: app.asn, as_org: app.asOrg, as_country: app.asCountry };
}

/** A message's bytes as a Buffer, without a copy when they are one already. */
export function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export function alertMessage(a: AlertRecord, ctx: MessageContext): egress.v1.Alert.$Properties {
  const app = a.app;
  return {
    id: alertId(ctx, a),
    gateway: ctx.gateway,
    session: ctx.session,
    ts_us: a.tsUs,
    flow_id: app.flowId,
    src_ip: app.srcIp,
    src_port: app.srcPort,
    dest_ip: app.destIp,
    dest_port: app.destPort,
    proto: TRANSPORT[app.proto],
    app_proto: app.appProto,
    dest: destination(app, a.names),
    severity: SEVERITY[a.severity],
    reasons: a.reasons,
    text: a.text,
    names_hidden_by: app.hiddenBy(),
    kind: pb.AlertKind.CONNECTION,
  };
}

export function encodeAlert(a: AlertRecord, ctx: MessageContext): Buffer {
  return toBuffer(pb.Alert.encode(alertMessage(a, ctx)).finish());
}

export function flowMessage(r: FlowRecord, ctx: MessageContext): egress.v1.Flow.$Properties {
  const app = r.app;
  return {
    gateway: ctx.gateway,
    session: ctx.session,
    flow_id: r.flowId,
    src_ip: r.srcIp,
    src_port: r.srcPort,
    dest_ip: r.destIp,
    dest_port: r.destPort,
    proto: TRANSPORT[r.proto],
    app_proto: app.appProto,
    dest: destination(app, r.names),
    verdict: SEVERITY[r.verdict],
    reasons: r.reasons,
    pkts_toserver: r.pktsToServer,
    pkts_toclient: r.pktsToClient,
    bytes_toserver: r.bytesToServer,
    bytes_toclient: r.bytesToClient,
    start_us: r.startUs,
    end_us: r.endUs,
    tcp_state: r.tcpState,
    end_reason: r.endReason,
    names_hidden_by: app.hiddenBy(),
  };
}

export function encodeFlow(r: FlowRecord, ctx: MessageContext): Buffer {
  return toBuffer(pb.Flow.encode(flowMessage(r, ctx)).finish());
}

/** Live capture health (the CaptureHealth message). */
export interface CaptureHealthInfo {
  packets: number;
  kernelDrops: number;
  restarts: number;
  /** null before the first packet. */
  lastPacketAgeMs: number | null;
  interfaceDrops?: number;
  /** Gaps that ended since the previous stats message. */
  gaps?: CaptureGap[];
}

/** NDJSON's capture_gap as the CaptureGap message. */
export function gapMessage(g: CaptureGap): egress.v1.CaptureGap.$Properties {
  return { start_us: g.startUs, end_us: g.endUs, cause: g.cause, packets_dropped: g.packetsDropped };
}

/** What a stats message has beyond ScanStats. */
export interface StatsExtra {
  tsUs: number;
  /** Other components' counters, named "<component>.<counter>" (spool.dropped_flow, ...). */
  counters?: Record<string, number>;
  capture?: CaptureHealthInfo | null;
}

export function statsMessage(s: ScanStats, ctx: MessageContext, extra: StatsExtra): egress.v1.Stats.$Properties {
  const c = extra.capture;
  return {
    gateway: ctx.gateway,
    session: ctx.session,
    ts_us: extra.tsUs,
    packets: s.packets,
    bytes: s.bytes,
    flows: s.flows,
    flows_internet: s.flowsInternet,
    flows_local: s.flowsLocal,
    alerts: s.alerts,
    decoder: s.decoded,
    flow_table: s.flowTable,
    names: s.names,
    anomalies: s.anomalies,
    counters: extra.counters ?? {},
    capture: c
      ? {
          packets: c.packets,
          kernel_drops: c.kernelDrops,
          restarts: c.restarts,
          last_packet_age_ms: c.lastPacketAgeMs,
          interface_drops: c.interfaceDrops ?? 0,
          gaps: (c.gaps ?? []).map(gapMessage),
        }
      : undefined,
  };
}

export function encodeStats(s: ScanStats, ctx: MessageContext, extra: StatsExtra): Buffer {
  return toBuffer(pb.Stats.encode(statsMessage(s, ctx, extra)).finish());
}
