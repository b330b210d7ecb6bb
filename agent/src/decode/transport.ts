// Transport headers: TCP (RFC 9293 §3.1), UDP (RFC 768), ICMP (RFC 792),
// ICMPv6 (RFC 4443). Ports, flags and the payload range go into the Packet.
// Echo request/reply carry an identifier that keys the ICMP "flow".

import { u16be, u32be } from '../util/bytes.js';
import { Anomaly } from './anomaly.js';
import { DecodeResult, IpProto, type Packet } from './packet.js';
import { decodeIpTunnel, decodeUdpTunnel, UdpTunnelPort } from './tunnel.js';

const TCP_MIN_HEADER = 20;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

export const IcmpType = {
  ECHO_REPLY: 0,
  ECHO_REQUEST: 8,
} as const;

export const Icmpv6Type = {
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
} as const;

export function decodeTransport(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  switch (p.proto) {
    case IpProto.TCP:
      return decodeTcp(buf, off, end, p, counts);
    case IpProto.UDP:
      return decodeUdp(buf, off, end, p, counts);
    case IpProto.ICMP:
      return decodeIcmp(
        buf,
        off,
        end,
        p,
        counts,
        IcmpType.ECHO_REQUEST,
        IcmpType.ECHO_REPLY,
        Anomaly.ICMP_TRUNC_HEADER,
      );
    case IpProto.IPV6_ICMP:
      return decodeIcmp(
        buf,
        off,
        end,
        p,
        counts,
        Icmpv6Type.ECHO_REQUEST,
        Icmpv6Type.ECHO_REPLY,
        Anomaly.ICMPV6_TRUNC_HEADER,
      );
    default:
      return decodeIpTunnel(buf, off, end, p, counts);
  }
}

function decodeTcp(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < TCP_MIN_HEADER) {
    counts[Anomaly.TCP_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  const dataOff = (buf[off + 12] >> 4) * 4;
  if (dataOff < TCP_MIN_HEADER) {
    counts[Anomaly.TCP_BAD_OFFSET]++;
    return DecodeResult.MALFORMED;
  }
  p.srcPort = u16be(buf, off);
  p.dstPort = u16be(buf, off + 2);
  p.tcpSeq = u32be(buf, off + 4);
  p.tcpFlags = buf[off + 13];
  // Options cut by the snaplen still leave ports and flags usable.
  p.payloadOff = Math.min(off + dataOff, end);
  p.payloadLen = end - p.payloadOff;
  return DecodeResult.TRANSPORT;
}

function decodeUdp(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < UDP_HEADER) {
    counts[Anomaly.UDP_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  p.srcPort = u16be(buf, off);
  p.dstPort = u16be(buf, off + 2);
  const len = u16be(buf, off + 4);
  p.payloadOff = off + UDP_HEADER;
  // Length 0 is legal for IPv6 jumbograms (RFC 2675); below 8 otherwise is bogus.
  if (len !== 0 && len < UDP_HEADER) counts[Anomaly.UDP_BAD_LENGTH]++;
  const udpEnd = len >= UDP_HEADER ? Math.min(off + len, end) : end;
  p.payloadLen = udpEnd - p.payloadOff;
  if (p.dstPort === UdpTunnelPort.VXLAN || p.dstPort === UdpTunnelPort.GENEVE) {
    return decodeUdpTunnel(buf, p.payloadOff, udpEnd, p, counts);
  }
  return DecodeResult.TRANSPORT;
}

function decodeIcmp(
  buf: Buffer,
  off: number,
  end: number,
  p: Packet,
  counts: Float64Array,
  echoRequest: number,
  echoReply: number,
  truncCounter: number,
): number {
  if (end - off < 4) {
    counts[truncCounter]++;
    return DecodeResult.MALFORMED;
  }
  p.icmpType = buf[off];
  p.icmpCode = buf[off + 1];
  if ((p.icmpType === echoRequest || p.icmpType === echoReply) && end - off >= ICMP_HEADER) {
    p.icmpEcho = true;
    const id = u16be(buf, off + 4);
    p.srcPort = id;
    p.dstPort = id;
  }
  p.payloadOff = Math.min(off + ICMP_HEADER, end);
  p.payloadLen = end - p.payloadOff;
  return DecodeResult.TRANSPORT;
}
