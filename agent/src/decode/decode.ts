// The decode stage: link layer → network → transport, through tunnels
// (decode/tunnel.ts), into one reused Packet. Never throws, never allocates;
// malformed input is counted by name.

import { decodeLink, linkResult } from './link.js';
import { decodeNetwork } from './network.js';
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
  return decodeNetwork(buf, ipOff, end, linkResult.etherType, p, counts);
}
