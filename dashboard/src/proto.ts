// MQTT payloads of schema egress.v1, decoded with the same static code the
// agent uses (agent/proto/gen, generated from agent/proto/egress/v1/egress.proto:
// one schema, two consumers; no reflection, no eval, so it runs under the
// agent's strict CSP), and turned into the plain values the views use.

import { egress } from '../../agent/proto/gen/egress.js';

const pb = egress.v1;

export type Severity = 'high' | 'medium' | 'allowed' | 'unknown';

/** 64-bit fields arrive as numbers or Long objects, depending on the build. */
function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function severity(v: number | null | undefined): Severity {
  if (v === pb.Severity.HIGH) return 'high';
  if (v === pb.Severity.MEDIUM) return 'medium';
  if (v === pb.Severity.ALLOWED) return 'allowed';
  return 'unknown';
}

const TRANSPORT: Record<number, string> = { 1: 'TCP', 2: 'UDP', 3: 'ICMP', 4: 'ICMPv6' };

export interface Dest {
  names: string[];
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  asCountry: string | null;
}

export interface AlertMsg {
  id: string;
  session: string;
  tsUs: number;
  flowId: number;
  destIp: string;
  destPort: number | null;
  proto: string;
  appProto: string | null;
  dest: Dest;
  severity: Severity;
  reasons: string[];
  namesHiddenBy: string[];
  /** connection: a flow's verdict; lookup: a client asked a resolver for a denied name. */
  kind: 'connection' | 'lookup';
  srcIp: string;
  /** The name asked for (kind lookup), else empty. */
  lookupName: string;
}

export interface FlowMsg {
  flowId: number;
  session: string;
  srcIp: string;
  destIp: string;
  destPort: number | null;
  proto: string;
  appProto: string | null;
  dest: Dest;
  verdict: Severity;
  reasons: string[];
  bytesOut: number;
  bytesIn: number;
  startUs: number;
  endUs: number;
}

export interface StatusMsg {
  gateway: string;
  state: 'online' | 'offline' | 'degraded' | 'unknown';
  text: string;
  agentVersion: string;
  databases: Record<string, string>;
  startedAtUs: number;
  session: string;
  policy: string;
  allowOverlay: string[];
  clockSynchronised: boolean | null;
  /** The gateway's lights (egress run --gpio): preflight result, '' without lights. */
  preflight: 'pass' | 'warn' | 'fail' | '';
  preflightProblems: string[];
  /** The same checks as ids and facts (egress.proto PreflightCheck); empty from older agents. */
  preflightChecks: PreflightCheckMsg[];
  /** Red light and buzzer latched by a high-severity alert, until acknowledged. */
  alertLatched: boolean;
  alertsUnacknowledged: number;
  /** Acknowledgements of the red light since the agent started (long press or dashboard). */
  acknowledgements: number;
  /** A capture gap less than a clean interval ago: "no alert" does not mean "nothing happened". */
  captureIncomplete: boolean;
  lastCaptureGap: CaptureGapMsg | null;
  /** Why the state is degraded, as ids and facts (egress.proto StatusProblem); empty when ready. */
  problems: StatusProblemMsg[];
}

/** A preflight check that warned or failed; its fix as English text and as id and facts. */
export interface PreflightCheckMsg {
  id: string;
  status: string;
  summary: string;
  fix: string;
  fixId: string;
  fixFacts: Record<string, string>;
  /** What was seen as id and facts (agent/src/selftest/seen.ts); '' from older agents and for a program's own message. */
  summaryId: string;
  summaryFacts: Record<string, string>;
}

export interface StatusProblemMsg {
  id: string;
  count: number;
  detail: string;
}

/** NDJSON's capture_gap: when the capture was blind, why, and how much it missed (null: unknown). */
export interface CaptureGapMsg {
  startUs: number;
  endUs: number;
  cause: string;
  packetsDropped: number | null;
}

export interface CaptureMsg {
  packets: number;
  kernelDrops: number;
  restarts: number;
  lastPacketAgeMs: number | null;
}

export interface StatsMsg {
  tsUs: number;
  packets: number;
  flows: number;
  alerts: number;
  counters: Record<string, number>;
  capture: CaptureMsg | null;
}

export interface SessionMsg {
  id: string;
  name: string;
  open: boolean;
  startUs: number;
  endUs: number | null;
}

export interface ReplyMsg {
  id: string;
  ok: boolean;
  code: string;
  message: string;
}

function dest(d: egress.v1.IDestination | null | undefined): Dest {
  return {
    names: d?.names ? [...d.names] : [],
    country: d?.country ?? null,
    asn: d?.asn ?? null,
    asOrg: d?.as_org ?? null,
    asCountry: d?.as_country ?? null,
  };
}

export function decodeAlert(buf: Uint8Array): AlertMsg {
  const a = pb.Alert.decode(buf);
  return {
    id: a.id,
    session: a.session,
    tsUs: num(a.ts_us),
    flowId: num(a.flow_id),
    destIp: a.dest_ip,
    destPort: a.dest_port ?? null,
    proto: TRANSPORT[a.proto] ?? '?',
    appProto: a.app_proto ?? null,
    dest: dest(a.dest),
    severity: severity(a.severity),
    reasons: [...a.reasons],
    namesHiddenBy: [...a.names_hidden_by],
    kind: a.kind === pb.AlertKind.LOOKUP ? 'lookup' : 'connection',
    srcIp: a.src_ip,
    lookupName: a.lookup_name,
  };
}

export function decodeFlow(buf: Uint8Array): FlowMsg {
  const f = pb.Flow.decode(buf);
  return {
    flowId: num(f.flow_id),
    session: f.session,
    srcIp: f.src_ip,
    destIp: f.dest_ip,
    destPort: f.dest_port ?? null,
    proto: TRANSPORT[f.proto] ?? '?',
    appProto: f.app_proto ?? null,
    dest: dest(f.dest),
    verdict: severity(f.verdict),
    reasons: [...f.reasons],
    bytesOut: num(f.bytes_toserver),
    bytesIn: num(f.bytes_toclient),
    startUs: num(f.start_us),
    endUs: num(f.end_us),
  };
}

const STATE: Record<number, StatusMsg['state']> = { 1: 'online', 2: 'offline', 3: 'degraded' };

export function decodeStatus(buf: Uint8Array): StatusMsg {
  const s = pb.Status.decode(buf);
  return {
    gateway: s.gateway,
    state: STATE[s.state] ?? 'unknown',
    text: s.text,
    agentVersion: s.agent_version,
    databases: { ...s.databases },
    startedAtUs: num(s.started_at_us),
    session: s.session,
    policy: s.policy,
    allowOverlay: [...s.allow_overlay],
    clockSynchronised: s.clock_synchronised ?? null,
    preflight: (['pass', 'warn', 'fail'] as const).find((p) => p === s.preflight) ?? '',
    preflightProblems: [...s.preflight_problems],
    preflightChecks: s.preflight_checks.map((c) => ({
      id: c.id,
      status: c.status,
      summary: c.summary,
      fix: c.fix,
      fixId: c.fix_id,
      fixFacts: { ...c.fix_facts },
      summaryId: c.summary_id,
      summaryFacts: { ...c.summary_facts },
    })),
    alertLatched: s.alert_latched,
    alertsUnacknowledged: s.alerts_unacknowledged,
    acknowledgements: s.acknowledgements,
    captureIncomplete: s.capture_incomplete,
    lastCaptureGap: s.last_capture_gap
      ? {
          startUs: num(s.last_capture_gap.start_us),
          endUs: num(s.last_capture_gap.end_us),
          cause: s.last_capture_gap.cause,
          packetsDropped: s.last_capture_gap.packets_dropped == null ? null : num(s.last_capture_gap.packets_dropped),
        }
      : null,
    problems: s.problems.map((p) => ({ id: p.id, count: num(p.count), detail: p.detail })),
  };
}

export function decodeStats(buf: Uint8Array): StatsMsg {
  const s = pb.Stats.decode(buf);
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.counters)) counters[k] = num(v);
  const c = s.capture;
  return {
    tsUs: num(s.ts_us),
    packets: num(s.packets),
    flows: num(s.flows),
    alerts: num(s.alerts),
    counters,
    capture: c
      ? {
          packets: num(c.packets),
          kernelDrops: num(c.kernel_drops),
          restarts: num(c.restarts),
          lastPacketAgeMs: c.last_packet_age_ms === null ? null : num(c.last_packet_age_ms),
        }
      : null,
  };
}

export function decodeSession(buf: Uint8Array): SessionMsg {
  const s = pb.Session.decode(buf);
  return {
    id: s.id,
    name: s.name,
    open: s.state === pb.Session.State.OPEN,
    startUs: num(s.start_us),
    endUs: s.end_us === null || s.end_us === undefined ? null : num(s.end_us),
  };
}

export function decodeReply(buf: Uint8Array): ReplyMsg {
  const r = pb.CommandReply.decode(buf);
  return { id: r.id, ok: r.ok, code: r.code, message: r.message };
}

export function encodeCommand(id: string, verb: string, token: string, args: Record<string, string>): Uint8Array {
  return pb.Command.encode({ id, verb, token, args }).finish();
}
