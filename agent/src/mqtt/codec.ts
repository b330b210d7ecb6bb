// MQTT payloads: the agent's records as protobuf messages of schema egress.v1
// (agent/proto/egress/v1/egress.proto, which states the versioning rules),
// and back. Pure functions over the static code that
// agent/scripts/gen-proto.mjs generates (no reflection, no eval).
//
// The schema's field names are those of the NDJSON events, so a record
// becomes a message the way flowEventLine/alertEventLine make a JSON line:
// null becomes an unset `optional` field, ISO timestamps become `_us`
// integers, verdicts and protocols become enums.

// Same relative path from src/mqtt and dist/mqtt: both sit two levels below agent/.
import { egress } from '../../proto/gen/egress.js';
import type { CaptureGap } from '../capture/types.js';
import { EgressError, ErrorCode } from '../errors.js';
import type { FlowApp } from '../names/flow-app.js';
import type { AlertRecord, FlowRecord, ProtoName } from '../output/flow-record.js';
import type { ScanStats } from '../output/ndjson.js';
import type { Verdict } from '../policy/policy.js';
import { type ParsedTopic, parseTopic } from './topics.js';

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

function toBuffer(u8: Uint8Array): Buffer {
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

export type AgentState = 'online' | 'offline' | 'degraded';
const STATE: Record<AgentState, egress.v1.Status.State> = {
  online: pb.Status.State.ONLINE,
  offline: pb.Status.State.OFFLINE,
  degraded: pb.Status.State.DEGRADED,
};

export interface StatusInfo {
  gateway: string;
  tsUs: number;
  state: AgentState;
  agentVersion: string;
  databases: Record<string, string>;
  startedAtUs: number;
  text: string;
  /** The open flight session; '' when none is open. */
  session: string;
  /** Date, age and staleness of the geo data in use (enrich/geo-age.ts); absent: unknown. */
  geoData?: { dataDate: string | null; ageDays: number | null; stale: boolean } | null;
  /** Evidence signing key fingerprint; '' when there is none. */
  keyFingerprint?: string;
  evidenceRecords?: number;
  /** The active policy's source. */
  policy?: string;
  /** Entries of the allow overlay. */
  allowOverlay?: string[];
  /** Clock synchronised (NTP); null or absent when unknown. */
  clockSynchronised?: boolean | null;
  /** A capture gap less than a clean interval ago (live/capture-gaps.ts). */
  captureIncomplete?: boolean;
  /** The latest capture gap of this run. */
  lastCaptureGap?: CaptureGap | null;
  /** What `text` says, as ids and facts (live/agent-condition.ts). */
  problems?: readonly { id: string; count: number; detail: string }[];
  /** The gateway's lights (live/signals.ts); absent without --gpio. */
  signals?: StatusSignals;
}

/** A preflight check that warned or failed, with its fix as id and facts (egress.proto PreflightCheck). */
export interface PreflightCheckInfo {
  id: string;
  status: string;
  summary: string;
  fix: string;
  fixId: string;
  fixFacts: Record<string, string>;
}

/** Status fields 25-28, 33 and 35: what the gateway's lights show. */
export interface StatusSignals {
  preflight: 'pass' | 'warn' | 'fail' | '';
  preflightProblems: string[];
  /** The same checks as ids and facts (egress.proto PreflightCheck); absent from older callers. */
  preflightChecks?: readonly PreflightCheckInfo[];
  alertLatched: boolean;
  alertsUnacknowledged: number;
  /** Acknowledgements of the latched red light since the agent started. */
  acknowledgements: number;
}

export function encodeStatus(s: StatusInfo): Buffer {
  return toBuffer(
    pb.Status.encode({
      gateway: s.gateway,
      ts_us: s.tsUs,
      state: STATE[s.state],
      agent_version: s.agentVersion,
      databases: s.databases,
      started_at_us: s.startedAtUs,
      text: s.text,
      session: s.session,
      geo_data_date: s.geoData?.dataDate ?? '',
      geo_data_age_days: s.geoData?.ageDays ?? null,
      geo_data_stale: s.geoData?.stale ?? false,
      key_fingerprint: s.keyFingerprint ?? '',
      evidence_records: s.evidenceRecords ?? 0,
      policy: s.policy ?? '',
      allow_overlay: s.allowOverlay ?? [],
      clock_synchronised: s.clockSynchronised ?? null,
      preflight: s.signals?.preflight ?? '',
      preflight_problems: s.signals?.preflightProblems ?? [],
      preflight_checks: (s.signals?.preflightChecks ?? []).map((c) => ({
        id: c.id,
        status: c.status,
        summary: c.summary,
        fix: c.fix,
        fix_id: c.fixId,
        fix_facts: c.fixFacts,
      })),
      alert_latched: s.signals?.alertLatched ?? false,
      alerts_unacknowledged: s.signals?.alertsUnacknowledged ?? 0,
      acknowledgements: s.signals?.acknowledgements ?? 0,
      capture_incomplete: s.captureIncomplete ?? false,
      last_capture_gap: s.lastCaptureGap ? gapMessage(s.lastCaptureGap) : undefined,
      problems: (s.problems ?? []).map((p) => ({ id: p.id, count: p.count, detail: p.detail })),
    }).finish(),
  );
}

export interface SessionInfo {
  id: string;
  gateway: string;
  name: string;
  state: 'open' | 'closed';
  startUs: number;
  /** null while open. */
  endUs: number | null;
  /** Evidence facts, when the session is recorded. */
  evidence?: {
    unit?: string;
    droneSerial?: string;
    controllerSerial?: string;
    missionRef?: string;
    keyFingerprint: string;
    records: number;
    captureGaps: number;
    resumed: number;
  };
}

export function encodeSession(s: SessionInfo): Buffer {
  return toBuffer(
    pb.Session.encode({
      id: s.id,
      gateway: s.gateway,
      name: s.name,
      state: s.state === 'open' ? pb.Session.State.OPEN : pb.Session.State.CLOSED,
      start_us: s.startUs,
      end_us: s.endUs,
      unit: s.evidence?.unit ?? '',
      drone_serial: s.evidence?.droneSerial ?? '',
      controller_serial: s.evidence?.controllerSerial ?? '',
      mission_ref: s.evidence?.missionRef ?? '',
      key_fingerprint: s.evidence?.keyFingerprint ?? '',
      records: s.evidence?.records ?? 0,
      capture_gaps: s.evidence?.captureGaps ?? 0,
      resumed: s.evidence?.resumed ?? 0,
    }).finish(),
  );
}

export interface CommandInfo {
  id: string;
  verb: string;
  token: string;
  args: Record<string, string>;
}

export function encodeCommand(c: CommandInfo): Buffer {
  return toBuffer(pb.Command.encode(c).finish());
}

export interface CommandReplyInfo {
  id: string;
  ok: boolean;
  /** A stable error code when not ok; '' when ok. */
  code: string;
  message: string;
}

export function encodeCommandReply(r: CommandReplyInfo): Buffer {
  return toBuffer(pb.CommandReply.encode(r).finish());
}

/** Decoders by what the topic carries. */
const MESSAGE = {
  alert: pb.Alert,
  flow: pb.Flow,
  stats: pb.Stats,
  status: pb.Status,
  session: pb.Session,
  cmd: pb.Command,
  reply: pb.CommandReply,
} as const;

type MessageKind = keyof typeof MESSAGE;

/** Decode, turning protobuf's exceptions into EGRESS_PAYLOAD_INVALID. Unknown fields are kept ($unknowns). */
function decode<K extends MessageKind>(kind: K, buf: Uint8Array): ReturnType<(typeof MESSAGE)[K]['decode']> {
  try {
    return MESSAGE[kind].decode(buf) as ReturnType<(typeof MESSAGE)[K]['decode']>;
  } catch (err) {
    throw new EgressError(
      ErrorCode.PAYLOAD_INVALID,
      `not an egress.v1 ${kind} payload (${buf.length} bytes): ${(err as Error).message}`,
      { kind, length: buf.length },
    );
  }
}

export const decodeAlert = (buf: Uint8Array): egress.v1.Alert => decode('alert', buf);
export const decodeFlow = (buf: Uint8Array): egress.v1.Flow => decode('flow', buf);
export const decodeStats = (buf: Uint8Array): egress.v1.Stats => decode('stats', buf);
export const decodeStatus = (buf: Uint8Array): egress.v1.Status => decode('status', buf);
export const decodeSession = (buf: Uint8Array): egress.v1.Session => decode('session', buf);
export const decodeCommand = (buf: Uint8Array): egress.v1.Command => decode('cmd', buf);
export const decodeCommandReply = (buf: Uint8Array): egress.v1.CommandReply => decode('reply', buf);

/** Enum fields shown as NDJSON shows them: "high", "ICMPv6", "online", "open". */
function readable(key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (key === 'severity' || key === 'verdict') return verdictName(value) ?? value;
  if (key === 'proto') return protoNameOf(value) ?? value;
  if (key === 'kind') return value === pb.AlertKind.LOOKUP ? 'lookup' : 'connection';
  return value;
}

/**
 * A payload received on `topic` as a plain JSON-ready object for `egress
 * tail`: NDJSON's field names, 64-bit integers as numbers, enums as NDJSON
 * names them, proto3 defaults filled in, unset `optional` fields left out.
 * Null when the topic is not an egress/v1 topic.
 */
export function decodeForTopic(topic: string, payload: Uint8Array): { topic: ParsedTopic; message: object } | null {
  const parsed = parseTopic(topic);
  if (parsed === null) return null;
  const type = MESSAGE[parsed.kind];
  const msg = decode(parsed.kind, payload);
  const plain = (type.toObject as (m: unknown, o: object) => Record<string, unknown>)(msg, {
    longs: Number,
    enums: Number,
    defaults: true,
  });
  for (const key of Object.keys(plain)) plain[key] = readable(key, plain[key]);
  if (typeof plain.state === 'number') {
    const names = parsed.kind === 'status' ? pb.Status.State : pb.Session.State;
    plain.state = (names as unknown as Record<number, string>)[plain.state]?.toLowerCase() ?? plain.state;
  }
  return { topic: parsed, message: plain };
}
