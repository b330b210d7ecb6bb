// The `tunnel` of a flow record: which tunnel carried the flow's first
// packet and the outer header's addresses, as the wire showed them
// (decode/tunnel.ts opened it). Made once per tunnelled flow, at its start.

import type { Packet } from '../decode/packet.js';
import { TUNNEL_NAMES, type TunnelName } from '../decode/tunnel.js';
import { i32be } from '../util/bytes.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';
import type { JsonBytes } from './json-bytes.js';

export interface TunnelInfo {
  type: TunnelName;
  outerSrcIp: string;
  outerDestIp: string;
}

/** Plain words for the kinds, for alert text. */
const TUNNEL_TEXT: Record<TunnelName, string> = {
  none: 'no',
  ipip: 'an IP-in-IP',
  '6in4': 'a 6in4',
  '4in6': 'a 4in6',
  '6in6': 'an IPv6-in-IPv6',
  gre: 'a GRE',
  vxlan: 'a VXLAN',
  geneve: 'a Geneve',
};

export function readTunnel(p: Packet, buf: Buffer): TunnelInfo {
  return {
    type: TUNNEL_NAMES[p.tunnelType],
    outerSrcIp: formatAddress(buf, p.outerSrcAddrOff, p.outerAddrLen),
    outerDestIp: formatAddress(buf, p.outerDstAddrOff, p.outerAddrLen),
  };
}

function formatAddress(buf: Buffer, off: number, len: number): string {
  if (len === 4) return formatIpv4(i32be(buf, off));
  return formatIpv6(i32be(buf, off), i32be(buf, off + 4), i32be(buf, off + 8), i32be(buf, off + 12));
}

/** The NDJSON member, with its leading comma: nothing for a flow that came through no tunnel. Names and addresses need no escaping. */
export function writeTunnel(out: JsonBytes, t: TunnelInfo | null | undefined): void {
  if (!t) return;
  out.raw(',"tunnel":{"type":"');
  out.raw(t.type);
  out.raw('","outer_src_ip":"');
  out.raw(t.outerSrcIp);
  out.raw('","outer_dest_ip":"');
  out.raw(t.outerDestIp);
  out.raw('"}');
}

/** A sentence for alert text: the destination was reached through a tunnel. */
export function tunnelText(t: TunnelInfo): string {
  return ` Tunnelled: carried inside ${TUNNEL_TEXT[t.type]} tunnel from ${t.outerSrcIp} to ${t.outerDestIp}.`;
}
