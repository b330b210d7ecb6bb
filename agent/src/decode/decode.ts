// The decode stage: link layer → IP → transport, into one reused Packet.
// Never throws, never allocates; malformed input is counted by name.

import { Anomaly } from './anomaly.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import { decodeLink, EtherType, linkResult } from './link.js';
import { DecodeResult, type Packet } from './packet.js';

export function decodePacket(
  buf: Buffer,
  off: number,
  caplen: number,
  linkType: number,
  p: Packet,
  counts: Float64Array,
): number {
  p.reset();
  const end = off + caplen;
  const ipOff = decodeLink(buf, off, end, linkType, counts);
  if (ipOff < 0) return DecodeResult.MALFORMED;
  switch (linkResult.etherType) {
    case EtherType.IPV4:
      return decodeIpv4(buf, ipOff, end, p, counts);
    case EtherType.IPV6:
      return decodeIpv6(buf, ipOff, end, p, counts);
    default:
      counts[Anomaly.LINK_NOT_IP]++;
      return DecodeResult.NOT_IP;
  }
}
