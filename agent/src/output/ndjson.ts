// NDJSON events per DESIGN.md ("scan NDJSON"), field names after Suricata's
// EVE JSON. One JSON object a line; `stats` is always the last line.

import type { EgressError } from '../errors.js';
import type { FlowRecord } from './flow-record.js';
import { isoMicros } from './time.js';

/**
 * One `flow` event as a JSON line. Written by hand rather than through
 * JSON.stringify of an object: it is the one event per flow on the hot output
 * path, and every value here is a number, null, or a string from a closed
 * set (addresses, protocol, state names, timestamps) that needs no escaping.
 * Names, geo and network come from later stages; until then they are unknown (null).
 */
export function flowEventLine(r: FlowRecord): string {
  const end = isoMicros(r.endUs);
  return (
    `{"timestamp":"${end}","flow_id":${r.flowId},"event_type":"flow",` +
    `"src_ip":"${r.srcIp}","src_port":${r.srcPort},"dest_ip":"${r.destIp}","dest_port":${r.destPort},` +
    `"proto":"${r.proto}","app_proto":null,` +
    '"dest":{"names":[],"country":null,"asn":null,"as_org":null,"as_country":null},' +
    // With no policy every internet destination is outside the (empty) allow list.
    '"verdict":"medium","reasons":["not_allowlisted"],' +
    `"pkts_toserver":${r.pktsToServer},"pkts_toclient":${r.pktsToClient},` +
    `"bytes_toserver":${r.bytesToServer},"bytes_toclient":${r.bytesToClient},` +
    `"start":"${isoMicros(r.startUs)}","end":"${end}",` +
    `"tcp_state":${r.tcpState === null ? 'null' : `"${r.tcpState}"`},"end_reason":"${r.endReason}"}`
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
