// Link-layer decoders: Ethernet II (IEEE 802.3) with 802.1Q / 802.1ad tags,
// Linux cooked capture v1 and v2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html,
// .../LINKTYPE_LINUX_SLL2.html), BSD null/loop, raw IP (guessed, or fixed by
// LINKTYPE_IPV4/IPV6 228/229) and Cisco HDLC (LINKTYPE_C_HDLC, 104). Each
// returns the offset of the network header and leaves its EtherType in
// `linkResult.etherType`.

import { LinkType } from '../capture/linktype.js';
import { u16be, u32be, u32le } from '../util/bytes.js';
import { Anomaly } from './anomaly.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // IEEE 802.1Q
  QINQ: 0x88a8, // IEEE 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard double tagging
  IPV6: 0x86dd,
  PPPOE_DISCOVERY: 0x8863, // RFC 2516 §4
  PPPOE_SESSION: 0x8864, // RFC 2516 §5
  /** Transparent Ethernet Bridging: an Ethernet frame follows (GRE "gretap", Geneve). */
  TEB: 0x6558,
} as const;

/** BSD address-family values for IPv6 differ by OS; IPv4 is 2 everywhere. */
const AF_INET = 2;
const AF_INET6_VALUES = [10, 24, 28, 30] as const; // Linux, NetBSD/OpenBSD, FreeBSD, Darwin

const ETHERNET_HEADER_LEN = 14;
const VLAN_TAG_LEN = 4;
const MAX_VLAN_TAGS = 4;
const SLL_HEADER_LEN = 16;
const SLL2_HEADER_LEN = 20;
const NULL_HEADER_LEN = 4;
/** Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control (0), protocol (an EtherType). */
const C_HDLC_HEADER_LEN = 4;

/** Out-parameter of decodeLink, reused. */
export const linkResult = { etherType: 0 };

/**
 * Returns the offset of the network header within buf, or -1 when the frame
 * is too short or not decodable (counted in `counts`).
 */
export function decodeLink(buf: Buffer, off: number, end: number, linkType: number, counts: Float64Array): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet(buf, off, end, counts);
    case LinkType.LINUX_SLL:
      if (end - off < SLL_HEADER_LEN) return truncated(counts);
      return decodeEtherTypeChain(buf, off + SLL_HEADER_LEN - 2, end, counts);
    case LinkType.LINUX_SLL2:
      if (end - off < SLL2_HEADER_LEN) return truncated(counts);
      linkResult.etherType = u16be(buf, off);
      return off + SLL2_HEADER_LEN;
    case LinkType.RAW:
    case LinkType.RAW_DLT12:
    case LinkType.RAW_DLT14:
      return rawIp(buf, off, end, counts);
    case LinkType.NULL:
    case LinkType.LOOP:
      return decodeNull(buf, off, end, linkType, counts);
    case LinkType.IPV4:
      linkResult.etherType = EtherType.IPV4;
      return off;
    case LinkType.IPV6:
      linkResult.etherType = EtherType.IPV6;
      return off;
    case LinkType.C_HDLC:
      if (end - off < C_HDLC_HEADER_LEN) return truncated(counts);
      linkResult.etherType = u16be(buf, off + 2);
      return off + C_HDLC_HEADER_LEN;
    default:
      counts[Anomaly.UNKNOWN_LINKTYPE]++;
      return -1;
  }
}

/** An Ethernet header (also inside a tunnel); the offset after it, or -1 (counted). */
export function decodeEthernet(buf: Buffer, off: number, end: number, counts: Float64Array): number {
  if (end - off < ETHERNET_HEADER_LEN) return truncated(counts);
  return decodeEtherTypeChain(buf, off + 12, end, counts);
}

/** Reads the EtherType at `off`, skipping VLAN tags; returns the offset after it. */
function decodeEtherTypeChain(buf: Buffer, off: number, end: number, counts: Float64Array): number {
  let etherType = u16be(buf, off);
  off += 2;
  for (
    let tags = 0;
    etherType === EtherType.VLAN || etherType === EtherType.QINQ || etherType === EtherType.QINQ_OLD;
    tags++
  ) {
    if (tags === MAX_VLAN_TAGS) {
      counts[Anomaly.LINK_VLAN_TOO_DEEP]++;
      return -1;
    }
    if (end - off < VLAN_TAG_LEN) return truncated(counts);
    etherType = u16be(buf, off + 2);
    off += VLAN_TAG_LEN;
  }
  linkResult.etherType = etherType;
  return off;
}

function decodeNull(buf: Buffer, off: number, end: number, linkType: number, counts: Float64Array): number {
  if (end - off < NULL_HEADER_LEN) return truncated(counts);
  // LOOP is network order; NULL is the writer's host order, which we do not know: accept either.
  const family = linkType === LinkType.LOOP ? u32be(buf, off) : u32le(buf, off);
  const swapped = u32be(buf, off); // for LOOP, the same word as `family`
  if (family === AF_INET || swapped === AF_INET) linkResult.etherType = EtherType.IPV4;
  else if (isInet6(family) || isInet6(swapped)) linkResult.etherType = EtherType.IPV6;
  else linkResult.etherType = 0;
  return off + NULL_HEADER_LEN;
}

function isInet6(family: number): boolean {
  return (
    family === AF_INET6_VALUES[0] ||
    family === AF_INET6_VALUES[1] ||
    family === AF_INET6_VALUES[2] ||
    family === AF_INET6_VALUES[3]
  );
}

function rawIp(buf: Buffer, off: number, end: number, counts: Float64Array): number {
  if (end - off < 1) return truncated(counts);
  const version = buf[off] >> 4;
  linkResult.etherType = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : 0;
  return off;
}

function truncated(counts: Float64Array): number {
  counts[Anomaly.LINK_TRUNC_HEADER]++;
  return -1;
}
