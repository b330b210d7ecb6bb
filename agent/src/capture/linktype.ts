// Link-layer header types as registered by tcpdump.org (LINKTYPE_* values),
// https://www.tcpdump.org/linktypes.html. The number in a pcap file header
// or a pcapng Interface Description Block.

export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in the writer's byte order
  ETHERNET: 1,
  RAW_DLT12: 12, // DLT_RAW as written on some BSDs
  RAW_DLT14: 14, // DLT_RAW as written on OpenBSD
  RAW: 101,
  LOOP: 108, // OpenBSD loopback: 4-byte address family, network byte order
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;
