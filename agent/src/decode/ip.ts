// IPv4 (RFC 791, fragments per RFC 791 §3.2) and IPv6 (RFC 8200: extension
// header chain §4, fragment header §4.5). Fill the shared Packet with the
// address offsets and transport protocol; the first fragment is attributed
// to its flow, later fragments are only counted (they carry no ports).

import { u16be } from '../util/bytes.js';
import { Anomaly } from './anomaly.js';
import { DecodeResult, type Packet } from './packet.js';
import { decodeTransport } from './transport.js';

const IPV4_MIN_HEADER = 20;
const IPV4_MF = 0x2000;
const IPV4_OFFSET_MASK = 0x1fff;
const IPV6_HEADER = 40;
const MAX_EXT_HEADERS = 16;

/** IPv6 extension headers this decoder walks past (RFC 8200 §4, RFC 7045). */
export const Ipv6Ext = {
  HOP_BY_HOP: 0,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AUTH: 51,
  NO_NEXT: 59,
  DEST_OPTS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

export function decodeIpv4(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < IPV4_MIN_HEADER) {
    counts[Anomaly.IPV4_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  const vihl = buf[off];
  if (vihl >> 4 !== 4) {
    counts[Anomaly.IPV4_BAD_VERSION]++;
    return DecodeResult.MALFORMED;
  }
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < IPV4_MIN_HEADER) {
    counts[Anomaly.IPV4_BAD_IHL]++;
    return DecodeResult.MALFORMED;
  }
  if (end - off < ihl) {
    counts[Anomaly.IPV4_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  const totalLen = u16be(buf, off + 2);
  // 0 is what TSO/GSO captures show (handled below), not a malformed header.
  if (totalLen !== 0 && totalLen < ihl) {
    counts[Anomaly.IPV4_BAD_TOTAL_LENGTH]++;
    return DecodeResult.MALFORMED;
  }
  p.ipVersion = 4;
  p.ipOff = off;
  p.addrLen = 4;
  p.srcAddrOff = off + 12;
  p.dstAddrOff = off + 16;
  p.proto = buf[off + 9];
  // Ethernet pads short frames; TSO captures can show totalLen 0. Trust the smaller of the two
  // (a snaplen cut is normal, not an anomaly).
  const ipEnd = totalLen === 0 ? end : Math.min(off + totalLen, end);
  const fragField = u16be(buf, off + 6);
  const fragOffset = fragField & IPV4_OFFSET_MASK;
  if (fragOffset !== 0) {
    counts[Anomaly.IPV4_FRAG_LATER]++;
    return DecodeResult.IP_ONLY;
  }
  if (fragField & IPV4_MF) counts[Anomaly.IPV4_FRAG_FIRST]++;
  return decodeTransport(buf, off + ihl, ipEnd, p, counts);
}

export function decodeIpv6(buf: Buffer, off: number, end: number, p: Packet, counts: Float64Array): number {
  if (end - off < IPV6_HEADER) {
    counts[Anomaly.IPV6_TRUNC_HEADER]++;
    return DecodeResult.MALFORMED;
  }
  if (buf[off] >> 4 !== 6) {
    counts[Anomaly.IPV6_BAD_VERSION]++;
    return DecodeResult.MALFORMED;
  }
  p.ipVersion = 6;
  p.ipOff = off;
  p.addrLen = 16;
  p.srcAddrOff = off + 8;
  p.dstAddrOff = off + 24;
  const payloadLen = u16be(buf, off + 4);
  // Jumbograms (payload length 0 with a hop-by-hop option) and snaplen cuts: use what we have.
  const ipEnd = payloadLen === 0 ? end : Math.min(off + IPV6_HEADER + payloadLen, end);
  let next = buf[off + 6];
  let o = off + IPV6_HEADER;
  for (let n = 0; ; n++) {
    // n headers walked so far: up to MAX_EXT_HEADERS are allowed before the upper-layer header.
    if (n > MAX_EXT_HEADERS) {
      counts[Anomaly.IPV6_EXT_CHAIN_TOO_LONG]++;
      return DecodeResult.MALFORMED;
    }
    switch (next) {
      case Ipv6Ext.HOP_BY_HOP:
      case Ipv6Ext.ROUTING:
      case Ipv6Ext.DEST_OPTS:
      case Ipv6Ext.MOBILITY:
      case Ipv6Ext.HIP:
      case Ipv6Ext.SHIM6: {
        if (ipEnd - o < 8) return truncExt(counts);
        const len = (buf[o + 1] + 1) * 8;
        if (ipEnd - o < len) return truncExt(counts);
        next = buf[o];
        o += len;
        continue;
      }
      case Ipv6Ext.AUTH: {
        if (ipEnd - o < 8) return truncExt(counts);
        const len = (buf[o + 1] + 2) * 4; // RFC 4302 §2.2: in 32-bit words, minus 2
        if (ipEnd - o < len) return truncExt(counts);
        next = buf[o];
        o += len;
        continue;
      }
      case Ipv6Ext.FRAGMENT: {
        if (ipEnd - o < 8) return truncExt(counts);
        const fragField = u16be(buf, o + 2);
        next = buf[o];
        o += 8;
        if (fragField >> 3 !== 0) {
          counts[Anomaly.IPV6_FRAG_LATER]++;
          p.proto = next;
          return DecodeResult.IP_ONLY;
        }
        if (fragField & 1) counts[Anomaly.IPV6_FRAG_FIRST]++;
        continue;
      }
      default:
        p.proto = next;
        return decodeTransport(buf, o, ipEnd, p, counts);
    }
  }
}

function truncExt(counts: Float64Array): number {
  counts[Anomaly.IPV6_TRUNC_EXT_HEADER]++;
  return DecodeResult.MALFORMED;
}
