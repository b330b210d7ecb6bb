// Shared by the decoder tests (test/unit/decode-*.test.ts): annotated byte
// vectors for every decoder (after gopacket's layer tests and suricata-verify),
// each frame written out field by field, and a `decode` that reports what the
// decoder saw — result, addresses, ports, flags, payload range — and exactly
// which named anomaly counters fired.
// Addresses are documentation ranges (RFC 5737, RFC 3849); checksums are zero
// because nothing here checks them.

import { expect } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, Packet, TcpFlag } from '../../agent/src/decode/packet.js';
import { i32be } from '../../agent/src/util/bytes.js';
import { formatIpv4, formatIpv6 } from '../../agent/src/util/ip.js';

/** Hex fields, whitespace ignored, into bytes; a typo (odd digit count, non-hex) fails loudly. */
export function hex(...fields: string[]): Buffer {
  const s = fields.join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error(`bad hex vector: ${s}`);
  return Buffer.from(s, 'hex');
}

const RESULT_NAMES = Object.fromEntries(Object.entries(DecodeResult).map(([name, value]) => [value, name]));

// The frame sits at a non-zero offset with 0xee junk on both sides, so a decoder
// that reads before `off` or past `off + caplen` gets garbage and the vector shows it.
const PAD = 5;

/** Decode `frame` (only its first `caplen` bytes captured) and report what a later stage would see. */
export function decode(frame: Buffer, linkType: number, caplen = frame.length) {
  const buf = Buffer.concat([Buffer.alloc(PAD, 0xee), frame.subarray(0, caplen), Buffer.alloc(64, 0xee)]);
  const p = new Packet();
  const anomalies = new Anomalies();
  const result = decodePacket(buf, PAD, caplen, linkType, p, anomalies.counts);
  const addr = (o: number) =>
    p.addrLen === 4
      ? formatIpv4(i32be(buf, o))
      : formatIpv6(i32be(buf, o), i32be(buf, o + 4), i32be(buf, o + 8), i32be(buf, o + 12));
  return {
    result: RESULT_NAMES[result],
    ipVersion: p.ipVersion,
    src: p.ipVersion ? addr(p.srcAddrOff) : null,
    dst: p.ipVersion ? addr(p.dstAddrOff) : null,
    proto: p.proto,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    tcpFlags: p.tcpFlags,
    icmpEcho: p.icmpEcho,
    /** The payload range means something only when a transport header was decoded. */
    payloadOff: result === DecodeResult.TRANSPORT ? p.payloadOff - PAD : null,
    payloadLen: p.payloadLen,
    /** Only the counters that fired. */
    anomalies: Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n !== 0)),
  };
}

type Decoded = ReturnType<typeof decode>;

/** toMatchObject for the fields given, but the anomaly counters, when given, must match exactly. */
export function expectMatch(d: Decoded, want: Partial<Decoded>) {
  const { anomalies, ...fields } = want;
  expect(d).toMatchObject(fields);
  if (anomalies) expect(d.anomalies).toEqual(anomalies);
}

// ---- Shared layers ---------------------------------------------------------

export const ETH_MACS = [
  '02 00 00 00 00 02', // destination MAC
  '02 00 00 00 00 01', // source MAC
];

/** IPv4 + TCP SYN, 10.0.0.2:40001 → 198.51.100.10:443, 40 bytes. */
export const IPV4_TCP_SYN = [
  '45', // version 4, IHL 5 (20 bytes)
  '00', // DSCP, ECN
  '00 28', // total length 40
  '00 01', // identification
  '40 00', // flags DF, fragment offset 0
  '40', // TTL 64
  '06', // protocol TCP
  '00 00', // header checksum
  '0a 00 00 02', // source 10.0.0.2
  'c6 33 64 0a', // destination 198.51.100.10
  '9c 41', // TCP source port 40001
  '01 bb', // destination port 443
  '00 00 03 e8', // sequence number
  '00 00 00 00', // acknowledgment number
  '50', // data offset 5 words (20 bytes), reserved
  '02', // flags SYN
  'ff ff', // window
  '00 00', // checksum
  '00 00', // urgent pointer
];

/** What IPV4_TCP_SYN decodes to when its IP header starts at `ipOff`. */
export const synV4 = (ipOff: number) => ({
  result: 'TRANSPORT',
  ipVersion: 4,
  src: '10.0.0.2',
  dst: '198.51.100.10',
  proto: 6,
  srcPort: 40001,
  dstPort: 443,
  tcpFlags: TcpFlag.SYN,
  icmpEcho: false,
  payloadOff: ipOff + 40,
  payloadLen: 0,
  anomalies: {},
});

/** IPv6 + UDP with a 4-byte payload, [2001:db8::2]:54321 → [2001:db8:1::53]:53, 52 bytes. */
export const IPV6_UDP = [
  '60 00 00 00', // version 6, traffic class 0, flow label 0
  '00 0c', // payload length 12
  '11', // next header UDP
  '40', // hop limit 64
  '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02', // source 2001:db8::2
  '20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 53', // destination 2001:db8:1::53
  'd4 31', // UDP source port 54321
  '00 35', // destination port 53
  '00 0c', // length 12
  '00 00', // checksum
  'de ad be ef', // payload
];

export const udpV6 = (ipOff: number) => ({
  result: 'TRANSPORT',
  ipVersion: 6,
  src: '2001:db8::2',
  dst: '2001:db8:1::53',
  proto: 17,
  srcPort: 54321,
  dstPort: 53,
  tcpFlags: 0,
  icmpEcho: false,
  payloadOff: ipOff + 48,
  payloadLen: 4,
  anomalies: {},
});

/** An IPv4 header for 10.0.0.2 → 198.51.100.10 with the given total length, fragment field and protocol. */
export function ipv4Header(totalLen: string, frag: string, proto: string): string[] {
  return [
    '45', // version 4, IHL 5
    '00', // DSCP, ECN
    totalLen, // total length
    '12 34', // identification
    frag, // flags, fragment offset
    '40', // TTL 64
    proto, // protocol
    '00 00', // header checksum
    '0a 00 00 02', // source 10.0.0.2
    'c6 33 64 0a', // destination 198.51.100.10
  ];
}

/** An IPv6 header for 2001:db8::2 → 2001:db8:1::53 with the given payload length and next header. */
export function ipv6Header(payloadLen: string, next: string): string[] {
  return [
    '60 00 00 00', // version 6, traffic class 0, flow label 0
    payloadLen, // payload length
    next, // next header
    '40', // hop limit 64
    '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02', // source 2001:db8::2
    '20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 53', // destination 2001:db8:1::53
  ];
}

export const TCP_SYN_V6 = [
  '9c 41', // TCP source port 40001
  '01 bb', // destination port 443
  '00 00 03 e8', // sequence number
  '00 00 00 00', // acknowledgment number
  '50', // data offset 5 words
  '02', // flags SYN
  'ff ff', // window
  '00 00 00 00', // checksum, urgent pointer
];

export const synV6 = (payloadOff: number) => ({
  result: 'TRANSPORT',
  ipVersion: 6,
  src: '2001:db8::2',
  dst: '2001:db8:1::53',
  proto: 6,
  srcPort: 40001,
  dstPort: 443,
  tcpFlags: TcpFlag.SYN,
  icmpEcho: false,
  payloadOff,
  payloadLen: 0,
  anomalies: {},
});
