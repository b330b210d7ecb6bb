// The network layer by EtherType (IEEE 802 numbers, the same ones GRE and
// Geneve use for their payloads): IPv4, IPv6, PPPoE session and discovery
// (RFC 2516 §4–§5). Shared by the link layer and the tunnels that carry
// Ethernet or IP.

import { Anomaly } from './anomaly.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import { EtherType } from './link.js';
import { DecodeResult, type Packet } from './packet.js';
import { decodePppoeSession } from './tunnel.js';

export function decodeNetwork(
  buf: Buffer,
  off: number,
  end: number,
  etherType: number,
  p: Packet,
  counts: Float64Array,
): number {
  switch (etherType) {
    case EtherType.IPV4:
      return decodeIpv4(buf, off, end, p, counts);
    case EtherType.IPV6:
      return decodeIpv6(buf, off, end, p, counts);
    case EtherType.PPPOE_SESSION:
      return decodePppoeSession(buf, off, end, p, counts);
    case EtherType.PPPOE_DISCOVERY:
      // PADI/PADO/PADR/PADS/PADT: a DSL uplink being set up or torn down; no IP in them.
      counts[Anomaly.PPPOE_DISCOVERY]++;
      return DecodeResult.NOT_IP;
    default:
      counts[Anomaly.LINK_NOT_IP]++;
      return DecodeResult.NOT_IP;
  }
}
