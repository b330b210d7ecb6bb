// NDJSON events per DESIGN.md ("scan NDJSON"), field names after Suricata's
// EVE JSON. One JSON object a line; `stats` is always the last line.

import type { EgressError } from '../errors.js';
import type { FlowRecord } from './flow-record.js';
import { isoMicros } from './time.js';

/** What no later stage has filled in yet: names, geo and network are unknown, so null. */
const UNKNOWN_DEST = { names: [] as string[], country: null, asn: null, as_org: null, as_country: null };

export function flowEvent(r: FlowRecord): Record<string, unknown> {
  return {
    timestamp: isoMicros(r.endUs),
    flow_id: r.flowId,
    event_type: 'flow',
    src_ip: r.srcIp,
    src_port: r.srcPort,
    dest_ip: r.destIp,
    dest_port: r.destPort,
    proto: r.proto,
    app_proto: null,
    dest: UNKNOWN_DEST,
    // With no policy every internet destination is outside the (empty) allow list.
    verdict: 'medium',
    reasons: ['not_allowlisted'],
    pkts_toserver: r.pktsToServer,
    pkts_toclient: r.pktsToClient,
    bytes_toserver: r.bytesToServer,
    bytes_toclient: r.bytesToClient,
    start: isoMicros(r.startUs),
    end: isoMicros(r.endUs),
    tcp_state: r.tcpState,
    end_reason: r.endReason,
  };
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
    flow_table: s.flowTable,
    anomalies: s.anomalies,
  };
}
