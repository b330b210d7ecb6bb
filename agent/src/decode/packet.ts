// The decoded view of one packet: offsets into the capture buffer and the
// few header fields later stages need. One instance is reused for every
// packet (gopacket's DecodingLayerParser idea): decoding never allocates.

export const IpProto = {
  ICMP: 1,
  IPIP: 4, // IPv4 in IP (RFC 2003)
  TCP: 6,
  UDP: 17,
  IPV6: 41, // IPv6 in IP (RFC 4213 §3.5, RFC 2473)
  GRE: 47, // RFC 2784
  IPV6_ICMP: 58,
} as const;

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** What a decoder got out of a packet. */
export const DecodeResult = {
  /** Transport header decoded: the packet belongs to a flow. */
  TRANSPORT: 0,
  /** An IP packet with no usable transport header (later fragment, other protocol). */
  IP_ONLY: 1,
  /** Not IP (ARP, LLDP, …). */
  NOT_IP: 2,
  /** Malformed; an anomaly counter says why. */
  MALFORMED: 3,
} as const;

export class Packet {
  /** 4 or 6. */
  ipVersion = 0;
  /** Offset of the source address in the buffer; the destination follows after addrLen bytes. */
  srcAddrOff = 0;
  dstAddrOff = 0;
  /** 4 or 16. */
  addrLen = 0;
  /** IP protocol number of the transport header (after any IPv6 extension headers). */
  proto = 0;
  /** TCP/UDP ports; for ICMP echo both are the identifier, otherwise 0. */
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** TCP sequence number (unsigned). */
  tcpSeq = 0;
  icmpType = 0;
  icmpCode = 0;
  /** True for ICMP/ICMPv6 echo request/reply. */
  // Stryker disable next-line BooleanLiteral: decodePacket calls reset() before it fills a Packet, so the initial value is never read
  icmpEcho = false;
  /** Transport payload: buf[payloadOff, payloadOff + payloadLen), clipped to what was captured. */
  payloadOff = 0;
  payloadLen = 0;
  /** Offset of the IP header. */
  ipOff = 0;
  /** TunnelType of the outermost tunnel the packet came through; 0 when it came through none. */
  tunnelType = 0;
  /** Tunnels opened so far (decode/tunnel.ts bounds it). */
  tunnelDepth = 0;
  /** The outermost tunnel's IP header and (for UDP tunnels) ports, as they were before decapsulation. */
  outerIpVersion = 0;
  outerSrcAddrOff = 0;
  outerDstAddrOff = 0;
  outerAddrLen = 0;
  outerProto = 0;
  outerSrcPort = 0;
  outerDstPort = 0;

  reset(): void {
    this.ipVersion = 0;
    this.proto = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.icmpEcho = false;
    this.payloadOff = 0;
    this.payloadLen = 0;
    this.tunnelType = 0;
    this.tunnelDepth = 0;
  }
}
