// A finished flow, read out of the flow table into a plain object: the one
// shape every output (NDJSON, table, later MQTT and evidence) starts from.

import { IpProto } from '../decode/packet.js';
import { isInternetV4, isInternetV6 } from '../enrich/scope.js';
import { END_REASON_NAMES, TCP_STATE_NAMES } from '../flow/state.js';
import type { FlowTable } from '../flow/table.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';

export type ProtoName = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6';

export interface FlowRecord {
  flowId: number;
  srcIp: string;
  srcPort: number | null;
  destIp: string;
  destPort: number | null;
  proto: ProtoName;
  /** The destination (server side) is an internet address, not LAN/loopback/link-local/multicast/ULA. */
  internet: boolean;
  pktsToServer: number;
  pktsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  startUs: number;
  endUs: number;
  tcpState: (typeof TCP_STATE_NAMES)[number] | null;
  endReason: (typeof END_REASON_NAMES)[number];
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

export function readFlowRecord(t: FlowTable, slot: number, reason: number): FlowRecord {
  const v6 = t.addrLen(slot) === 16;
  const proto = protoName(t.proto(slot));
  const icmp = proto === 'ICMP' || proto === 'ICMPv6';
  const c = (i: number) => t.clientWord(slot, i);
  const s = (i: number) => t.serverWord(slot, i);
  return {
    flowId: t.id[slot],
    srcIp: v6 ? formatIpv6(c(0), c(1), c(2), c(3)) : formatIpv4(c(0)),
    srcPort: icmp ? null : t.clientPort(slot),
    destIp: v6 ? formatIpv6(s(0), s(1), s(2), s(3)) : formatIpv4(s(0)),
    destPort: icmp ? null : t.serverPort(slot),
    proto,
    internet: v6 ? isInternetV6(s(0), s(1), s(2), s(3)) : isInternetV4(s(0)),
    pktsToServer: t.pkts[2 * slot],
    pktsToClient: t.pkts[2 * slot + 1],
    bytesToServer: t.bytes[2 * slot],
    bytesToClient: t.bytes[2 * slot + 1],
    startUs: t.firstUs[slot],
    endUs: t.lastUs[slot],
    tcpState: t.proto(slot) === IpProto.TCP ? TCP_STATE_NAMES[t.tcpState[slot]] : null,
    endReason: END_REASON_NAMES[reason],
  };
}
