// NDJSON events per DESIGN.md ("scan NDJSON"), field names after Suricata's
// EVE JSON. One JSON object a line; `stats` is always the last line.

import type { CaptureGap } from '../capture/types.js';
import type { EgressError } from '../errors.js';
import type { FlowApp } from '../names/flow-app.js';
import type { AlertRecord, AppEventRecord, FlowRecord } from './flow-record.js';
import { isoMicros } from './time.js';
import { tunnelJson } from './tunnel.js';

/** The last tuple written: events of one flow often come together (an app event, then its alert). */
let tupleApp: FlowApp | null = null;
let tupleText = '';

/** The tuple every flow-scoped event starts with. */
function tuple(a: FlowApp): string {
  if (a !== tupleApp) {
    tupleApp = a;
    tupleText =
      `"flow_id":${a.flowId},"src_ip":"${a.srcIp}","src_port":${a.srcPort},` +
      `"dest_ip":"${a.destIp}","dest_port":${a.destPort},"proto":"${a.proto}"`;
  }
  return tupleText;
}

function dest(a: FlowApp, names: readonly string[]): string {
  const g = a;
  return (
    `"dest":{"names":${names.length === 0 ? '[]' : JSON.stringify(names)},"country":${str(g.country)},"asn":${g.asn},` +
    `"as_org":${g.asOrg === null ? 'null' : JSON.stringify(g.asOrg)},"as_country":${str(g.asCountry)}}`
  );
}

/** Reason codes are a closed set of identifiers: no escaping. */
function reasons(rs: readonly string[]): string {
  return rs.length === 0 ? '[]' : `["${rs.join('","')}"]`;
}

function hiddenBy(a: FlowApp): string {
  return !a.ech && a.encryptedDns === null ? '[]' : JSON.stringify(a.hiddenBy());
}

/** Strings from closed sets (country codes, protocol and state names, timestamps) need no escaping. */
function str(v: string | null): string {
  return v === null ? 'null' : `"${v}"`;
}

/**
 * One `flow` event as a JSON line, written by hand: it is the one event per
 * flow on the hot output path. Names and organisations go through
 * JSON.stringify; everything else is a number, null or a closed-set string.
 */
export function flowEventLine(r: FlowRecord): string {
  const end = isoMicros(r.endUs);
  return (
    `{"timestamp":"${end}","event_type":"flow",${tuple(r.app)},"app_proto":${str(r.app.appProto)},` +
    `${dest(r.app, r.names)},"verdict":"${r.verdict}","reasons":${reasons(r.reasons)},` +
    `"pkts_toserver":${r.pktsToServer},"pkts_toclient":${r.pktsToClient},` +
    `"bytes_toserver":${r.bytesToServer},"bytes_toclient":${r.bytesToClient},` +
    `"start":"${isoMicros(r.startUs)}","end":"${end}",` +
    `"tcp_state":${str(r.tcpState)},"end_reason":"${r.endReason}","names_hidden_by":${hiddenBy(r.app)}${tunnelJson(r.tunnel)}}`
  );
}

export function alertEventLine(a: AlertRecord): string {
  return (
    `{"timestamp":"${isoMicros(a.tsUs)}","event_type":"alert",${tuple(a.app)},"app_proto":${str(a.app.appProto)},` +
    `${dest(a.app, a.names)},"alert":{"severity":"${a.severity}","reasons":${reasons(a.reasons)},` +
    `"text":${JSON.stringify(a.text)}},"names_hidden_by":${hiddenBy(a.app)}${tunnelJson(a.tunnel)}}`
  );
}

export function appEventLine(e: AppEventRecord): string {
  return `{"timestamp":"${isoMicros(e.tsUs)}","event_type":"${e.type}",${tuple(e.app)},"${e.type}":${JSON.stringify(e.body)}}`;
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
