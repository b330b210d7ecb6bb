// Tunnels, opened in the decode stage so that the inner packet becomes the
// flow: IP in IP (RFC 2003 IPv4-in-IPv4, RFC 4213 §3.5 6in4, RFC 2473 4in6 and
// 6in6), GRE (RFC 2784; key and sequence number RFC 2890; Ethernet payloads,
// "Transparent Ethernet Bridging"), VXLAN (RFC 7348 §5, UDP 4789) and Geneve
// (RFC 8926 §3, UDP 6081). PPPoE session frames (RFC 2516 §5) carry PPP
// (RFC 1661 §2): IPv4 (0x0021, RFC 1332) and IPv6 (0x0057, RFC 5072).
//
// The outermost tunnel's addresses (and ports, for UDP tunnels) are kept in
// the Packet; nesting is bounded by MAX_TUNNEL_DEPTH. Each kind opened is
// counted (`tunnel.<kind>`), each malformation has its own counter.

import { u16be } from '../util/bytes.js';
import { Anomaly } from './anomaly.js';
import { decodeEthernet, EtherType, linkResult } from './link.js';
import { decodeNetwork } from './network.js';
import { DecodeResult, IpProto, type Packet } from './packet.js';

export const TunnelType = {
  NONE: 0,
  IPIP: 1,
  SIX_IN_FOUR: 2,
  FOUR_IN_SIX: 3,
  SIX_IN_SIX: 4,
  GRE: 5,
  VXLAN: 6,
  GENEVE: 7,
} as const;

/** The name of each TunnelType in output (`tunnel.type`) and in the `tunnel.<kind>` counters. */
export const TUNNEL_NAMES = ['none', 'ipip', '6in4', '4in6', '6in6', 'gre', 'vxlan', 'geneve'] as const;
export type TunnelName = (typeof TUNNEL_NAMES)[number];

const TUNNEL_COUNTERS = [
  -1,
  Anomaly.TUNNEL_IPIP,
  Anomaly.TUNNEL_6IN4,
  Anomaly.TUNNEL_4IN6,
  Anomaly.TUNNEL_6IN6,
  Anomaly.TUNNEL_GRE,
  Anomaly.TUNNEL_VXLAN,
  Anomaly.TUNNEL_GENEVE,
] as const;

/** Tunnels inside tunnels opened at most; deeper is counted (`tunnel.too_deep`), not followed. */
export const MAX_TUNNEL_DEPTH = 4;

/** IANA-assigned destination ports of the UDP tunnels. */
export const UdpTunnelPort = { VXLAN: 4789, GENEVE: 6081 } as const;

// GRE flags and version (RFC 2784 §2, RFC 2890 §2): C K S bits add 4 bytes each.
const GRE_HEADER = 4;
const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000; // RFC 1701 source routing, deprecated by RFC 2784
const GRE_KEY = 0x2000;
const GRE_SEQ = 0x1000;
const GRE_VERSION = 0x0007; // 1 is PPTP's enhanced GRE, not followed
const VXLAN_HEADER = 8;
const VXLAN_I_FLAG = 0x08; // RFC 7348 §5: the VNI is valid; must be set
const GENEVE_HEADER = 8;
const PPPOE_HEADER = 6;
const PPPOE_VER_TYPE = 0x11;
const PPPOE_CODE_SESSION = 0x00;
const PppProto = { IPV4: 0x0021, IPV6: 0x0057 } as const;

/** Enter a tunnel: remember the outermost one, bound the depth, count the kind. */
function enter(p: Packet, type: number, counts: Float64Array): boolean {
  if (p.tunnelDepth >= MAX_TUNNEL_DEPTH) {
    counts[Anomaly.TUNNEL_TOO_DEEP]++;
    return false;
  }
  if (p.tunnelDepth++ === 0) {
    p.tunnelType = type;
    p.outerIpVersion = p.ipVersion;
    p.outerSrcAddrOff = p.srcAddrOff;
    p.outerDstAddrOff = p.dstAddrOff;
    p.outerAddrLen = p.addrLen;
    p.outerProto = p.proto;
    p.outerSrcPort = p.srcPort;
    p.outerDstPort = p.dstPort;
  }
  // The outer transport's fields belong to the outer header: the inner packet starts clean.
  p.srcPort = 0;
  p.dstPort = 0;
  p.tcpFlags = 0;
  p.payloadLen = 0;
  counts[TUNNEL_COUNTERS[type]]++;
  return true;
}

/** An IP protocol other than TCP/UDP/ICMP: a tunnel we open, or only counted. */
export function decodeIpTunnel(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  switch (p.proto) {
    case IpProto.IPIP:
      if (!enter(p, p.ipVersion === 4 ? TunnelType.IPIP : TunnelType.FOUR_IN_SIX, counts)) return DecodeResult.IP_ONLY;
      return decodeNetwork(buf, off, end, EtherType.IPV4, p, counts);
    case IpProto.IPV6:
      if (!enter(p, p.ipVersion === 4 ? TunnelType.SIX_IN_FOUR : TunnelType.SIX_IN_SIX, counts)) {
        return DecodeResult.IP_ONLY;
      }
      return decodeNetwork(buf, off, end, EtherType.IPV6, p, counts);
    case IpProto.GRE:
      return decodeGre(buf, off, end, p, counts);
    default:
      counts[Anomaly.IP_OTHER_PROTO]++;
      return DecodeResult.IP_ONLY;
  }
}

function decodeGre(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < GRE_HEADER) {
    counts[Anomaly.GRE_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  const flags = u16be(buf, off);
  if ((flags & (GRE_VERSION | GRE_ROUTING)) !== 0) {
    counts[Anomaly.GRE_UNSUPPORTED]++;
    return DecodeResult.IP_ONLY;
  }
  const protocol = u16be(buf, off + 2);
  let o = off + GRE_HEADER;
  if (flags & GRE_CHECKSUM) o += 4; // checksum and reserved1
  if (flags & GRE_KEY) o += 4;
  if (flags & GRE_SEQ) o += 4;
  if (o > end) {
    counts[Anomaly.GRE_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  if (protocol !== EtherType.IPV4 && protocol !== EtherType.IPV6 && protocol !== EtherType.TEB) {
    counts[Anomaly.GRE_OTHER_PROTO]++;
    return DecodeResult.IP_ONLY;
  }
  if (!enter(p, TunnelType.GRE, counts)) return DecodeResult.IP_ONLY;
  return payload(buf, o, end, protocol, p, counts);
}

/** What a GRE or Geneve header says follows: an IP packet or an Ethernet frame. */
function payload(buf: Buffer, off: number, end: number, protocol: number, p: Packet, counts: Float64Array): number {
  if (protocol !== EtherType.TEB) return decodeNetwork(buf, off, end, protocol, p, counts);
  const o = decodeEthernet(buf, off, end, counts);
  if (o === -1) return DecodeResult.MALFORMED; // decodeEthernet: -1, or the offset after its header
  return decodeNetwork(buf, o, end, linkResult.etherType, p, counts);
}

/**
 * A UDP datagram to the VXLAN or Geneve port (the caller checked). A payload
 * that is not the tunnel's header stays a plain UDP datagram, counted.
 */
export function decodeUdpTunnel(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (p.dstPort === UdpTunnelPort.VXLAN) {
    if (end - off < VXLAN_HEADER) {
      counts[Anomaly.VXLAN_TRUNC_HEADER]++;
      return DecodeResult.TRANSPORT;
    }
    if ((buf[off] & VXLAN_I_FLAG) === 0) {
      counts[Anomaly.VXLAN_BAD_FLAGS]++;
      return DecodeResult.TRANSPORT;
    }
    if (!enter(p, TunnelType.VXLAN, counts)) return DecodeResult.TRANSPORT;
    const o = decodeEthernet(buf, off + VXLAN_HEADER, end, counts);
    if (o === -1) return DecodeResult.MALFORMED; // decodeEthernet: -1, or the offset after its header
    return decodeNetwork(buf, o, end, linkResult.etherType, p, counts);
  }
  // Geneve: version (2 bits) and option length in 4-byte words (6 bits), flags, protocol type, VNI.
  if (end - off < GENEVE_HEADER) {
    counts[Anomaly.GENEVE_TRUNC_HEADER]++;
    return DecodeResult.TRANSPORT;
  }
  const o = off + GENEVE_HEADER + (buf[off] & 0x3f) * 4;
  if (buf[off] >> 6 !== 0 || o > end) {
    counts[Anomaly.GENEVE_BAD_HEADER]++;
    return DecodeResult.TRANSPORT;
  }
  const protocol = u16be(buf, off + 2);
  if (protocol !== EtherType.IPV4 && protocol !== EtherType.IPV6 && protocol !== EtherType.TEB) {
    counts[Anomaly.GENEVE_OTHER_PROTO]++;
    return DecodeResult.TRANSPORT;
  }
  if (!enter(p, TunnelType.GENEVE, counts)) return DecodeResult.TRANSPORT;
  return payload(buf, o, end, protocol, p, counts);
}

/** A PPPoE session frame: its PPP payload when that is IPv4 or IPv6; link control and the rest are counted. */
export function decodePppoeSession(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < PPPOE_HEADER + 2) {
    counts[Anomaly.PPPOE_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  if (buf[off] !== PPPOE_VER_TYPE || buf[off + 1] !== PPPOE_CODE_SESSION) {
    counts[Anomaly.PPPOE_BAD_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  counts[Anomaly.TUNNEL_PPPOE]++;
  // The PPPoE length covers the PPP frame; Ethernet padding follows it.
  const pppEnd = Math.min(end, off + PPPOE_HEADER + u16be(buf, off + 4));
  // RFC 1661 §6.5: a compressed (1-byte) protocol field is odd; PPPoE peers should not use it, some do.
  const compressed = (buf[off + PPPOE_HEADER] & 1) === 1;
  const proto = compressed ? buf[off + PPPOE_HEADER] : u16be(buf, off + PPPOE_HEADER);
  const o = off + PPPOE_HEADER + (compressed ? 1 : 2);
  if (proto === PppProto.IPV4) return decodeNetwork(buf, o, pppEnd, EtherType.IPV4, p, counts);
  if (proto === PppProto.IPV6) return decodeNetwork(buf, o, pppEnd, EtherType.IPV6, p, counts);
  counts[Anomaly.PPPOE_NOT_IP]++;
  return DecodeResult.NOT_IP;
}
