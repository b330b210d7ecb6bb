// A finished flow, read out of the flow table and its FlowApp into one plain
// object: the shape every output (NDJSON, table, later MQTT and evidence)
// starts from. Alerts and app-layer events have their own small records.

import { IpProto } from '../decode/packet.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../flow/state.js';
import type { FlowTable } from '../flow/table.js';
import { type DnsWire, dnsEventBody } from '../names/app-events.js';
import type { AppProto, FlowApp } from '../names/flow-app.js';
import type { Reason, Verdict } from '../policy/policy.js';
import type { Judgement } from '../policy/verdict.js';
import type { TunnelInfo } from './tunnel.js';

export type ProtoName = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6';

export interface FlowRecord {
  app: FlowApp;
  flowId: number;
  srcIp: string;
  srcPort: number | null;
  destIp: string;
  destPort: number | null;
  proto: ProtoName;
  /** The destination (server side) is on the internet, not LAN/loopback/link-local/multicast/ULA. */
  internet: boolean;
  names: string[];
  verdict: Verdict;
  reasons: Reason[];
  pktsToServer: number;
  pktsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  startUs: number;
  endUs: number;
  tcpState: (typeof TCP_STATE_NAMES)[number] | null;
  endReason: (typeof END_REASON_NAMES)[number];
  /** The tunnel the flow came through (its inner packets are the flow); absent or null when none. */
  tunnel?: TunnelInfo | null;
}

export interface AlertRecord {
  tsUs: number;
  app: FlowApp;
  names: string[];
  severity: 'medium' | 'high';
  reasons: Reason[];
  /** Plain language for people: "Connects to … (AS…, registered in …)". */
  text: string;
  tunnel?: TunnelInfo | null;
}

/**
 * An alert before its text is made: what describeJudgement (describe.ts)
 * makes the text from. For an output that makes the text itself, off the
 * pipeline's thread (EventOutput.alertFacts).
 */
export interface AlertFactsRecord {
  tsUs: number;
  app: FlowApp;
  names: string[];
  severity: 'medium' | 'high';
  judgement: Judgement;
  tunnel: TunnelInfo | null;
}

export interface AppEventRecord {
  tsUs: number;
  app: FlowApp;
  type: AppProto;
  /** The event's body; null for a DNS event, whose body is made from `dns` when wanted (appEventBody). */
  body: Record<string, unknown> | null;
  /** A DNS event's message and its bytes (valid only during the call that hands the record on). */
  dns: DnsWire | null;
}

/** The body of an app-layer event, as its line carries it under its type. */
export function appEventBody(e: Pick<AppEventRecord, 'body' | 'dns'>): Record<string, unknown> {
  return e.body ?? dnsEventBody((e.dns as DnsWire).message);
}

export function protoName(proto: number): ProtoName {
  switch (proto) {
    case IpProto.TCP:
      return 'TCP';
    case IpProto.UDP:
      return 'UDP';
    case IpProto.IPV6_ICMP:
      return 'ICMPv6';
    default:
      return 'ICMP';
  }
}

export function readFlowRecord(
  t: FlowTable,
  slot: number,
  reason: number,
  app: FlowApp,
  tunnel: TunnelInfo | null = null,
): FlowRecord {
  const j = app.judgement;
  return {
    app,
    flowId: app.flowId,
    srcIp: app.srcIp,
    srcPort: app.srcPort,
    destIp: app.destIp,
    destPort: app.destPort,
    proto: app.proto,
    internet: app.internet,
    names: app.names(),
    verdict: j?.verdict ?? 'allowed',
    reasons: j?.reasons ?? [],
    pktsToServer: t.pkts[2 * slot],
    pktsToClient: t.pkts[2 * slot + 1],
    bytesToServer: t.bytes[2 * slot],
    bytesToClient: t.bytes[2 * slot + 1],
    startUs: t.firstUs[slot],
    endUs: t.lastUs[slot],
    tcpState: t.proto(slot) === IpProto.TCP ? TCP_STATE_NAMES[t.tcpState[slot]] : null,
    endReason: END_REASON_NAMES[reason],
    tunnel,
  };
}
