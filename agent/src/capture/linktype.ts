// Link-layer header types as registered by tcpdump.org (LINKTYPE_* values),
// https://www.tcpdump.org/linktypes.html. The number in a pcap file header
// or a pcapng Interface Description Block.

export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in the writer's byte order
  ETHERNET: 1,
  RAW_DLT12: 12, // DLT_RAW as written on some BSDs
  RAW_DLT14: 14, // DLT_RAW as written on OpenBSD
  RAW: 101,
  C_HDLC: 104, // Cisco HDLC: address, control, 2-byte protocol (an EtherType)
  LOOP: 108, // OpenBSD loopback: 4-byte address family, network byte order
  LINUX_SLL: 113,
  IPV4: 228, // raw IPv4, no version guessing
  IPV6: 229, // raw IPv6
  LINUX_SLL2: 276,
} as const;
