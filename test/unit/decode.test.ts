// Annotated byte vectors for every decoder (after gopacket's layer tests and
// suricata-verify): each frame is written out field by field, then the test
// asserts what the decoder reports — result, addresses, ports, flags, payload
// range — and exactly which named anomaly counters fired.
// Addresses are documentation ranges (RFC 5737, RFC 3849); checksums are zero
// because nothing here checks them.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { ANOMALY_NAMES, Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, Packet, TcpFlag } from '../../agent/src/decode/packet.js';
import { i32be } from '../../agent/src/util/bytes.js';
import { formatIpv4, formatIpv6 } from '../../agent/src/util/ip.js';

/** Hex fields, whitespace ignored, into bytes; a typo (odd digit count, non-hex) fails loudly. */
function hex(...fields: string[]): Buffer {
  const s = fields.join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error(`bad hex vector: ${s}`);
  return Buffer.from(s, 'hex');
}

const RESULT_NAMES = Object.fromEntries(Object.entries(DecodeResult).map(([name, value]) => [value, name]));

// The frame sits at a non-zero offset with 0xee junk on both sides, so a decoder
// that reads before `off` or past `off + caplen` gets garbage and the vector shows it.
const PAD = 5;

/** Decode `frame` (only its first `caplen` bytes captured) and report what a later stage would see. */
function decode(frame: Buffer, linkType: number, caplen = frame.length) {
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
function expectMatch(d: Decoded, want: Partial<Decoded>) {
  const { anomalies, ...fields } = want;
  expect(d).toMatchObject(fields);
  if (anomalies) expect(d.anomalies).toEqual(anomalies);
}

// ---- Shared layers ---------------------------------------------------------

const ETH_MACS = [
  '02 00 00 00 00 02', // destination MAC
  '02 00 00 00 00 01', // source MAC
];

/** IPv4 + TCP SYN, 10.0.0.2:40001 → 198.51.100.10:443, 40 bytes. */
const IPV4_TCP_SYN = [
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
const synV4 = (ipOff: number) => ({
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
const IPV6_UDP = [
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

const udpV6 = (ipOff: number) => ({
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
function ipv4Header(totalLen: string, frag: string, proto: string): string[] {
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
function ipv6Header(payloadLen: string, next: string): string[] {
  return [
    '60 00 00 00', // version 6, traffic class 0, flow label 0
    payloadLen, // payload length
    next, // next header
    '40', // hop limit 64
    '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02', // source 2001:db8::2
    '20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 53', // destination 2001:db8:1::53
  ];
}

const TCP_SYN_V6 = [
  '9c 41', // TCP source port 40001
  '01 bb', // destination port 443
  '00 00 03 e8', // sequence number
  '00 00 00 00', // acknowledgment number
  '50', // data offset 5 words
  '02', // flags SYN
  'ff ff', // window
  '00 00 00 00', // checksum, urgent pointer
];

const synV6 = (payloadOff: number) => ({
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

// ---- Link layer ------------------------------------------------------------

describe('link layer', () => {
  it('Ethernet II carrying IPv4', () => {
    const frame = hex(
      ...ETH_MACS,
      '08 00', // EtherType IPv4
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(synV4(14));
  });

  it('Ethernet II carrying IPv6', () => {
    const frame = hex(
      ...ETH_MACS,
      '86 dd', // EtherType IPv6
      ...IPV6_UDP,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(udpV6(14));
  });

  it('802.1Q: one VLAN tag before the EtherType', () => {
    const frame = hex(
      ...ETH_MACS,
      '81 00', // TPID 802.1Q
      '00 64', // TCI: PCP 0, DEI 0, VID 100
      '08 00', // EtherType IPv4
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(synV4(18));
  });

  it('QinQ: an 802.1ad service tag around an 802.1Q customer tag', () => {
    const frame = hex(
      ...ETH_MACS,
      '88 a8', // TPID 802.1ad (S-tag)
      '00 c8', // TCI: VID 200
      '81 00', // TPID 802.1Q (C-tag)
      '00 64', // TCI: VID 100
      '86 dd', // EtherType IPv6
      ...IPV6_UDP,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(udpV6(22));
  });

  it('four stacked tags (including pre-standard 0x9100) are the most it walks', () => {
    const frame = hex(
      ...ETH_MACS,
      '88 a8 00 c8', // 802.1ad, VID 200
      '91 00 00 c9', // pre-standard QinQ, VID 201
      '81 00 00 64', // 802.1Q, VID 100
      '81 00 00 65', // 802.1Q, VID 101
      '08 00', // EtherType IPv4
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(synV4(30));
  });

  it('five stacked tags: link.vlan_too_deep', () => {
    const frame = hex(
      ...ETH_MACS,
      '88 a8 00 c8', // 802.1ad, VID 200
      '81 00 00 64', // 802.1Q, VID 100
      '81 00 00 65', // 802.1Q, VID 101
      '81 00 00 66', // 802.1Q, VID 102
      '81 00 00 67', // 802.1Q, VID 103: the fifth
      '08 00', // EtherType IPv4
      ...IPV4_TCP_SYN,
    );
    const d = decode(frame, LinkType.ETHERNET);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'link.vlan_too_deep': 1 });
  });

  it('a VLAN tag cut by the capture: link.trunc_header', () => {
    const frame = hex(
      ...ETH_MACS,
      '81 00', // TPID 802.1Q
      '00', // half a TCI, then the capture ends
    );
    const d = decode(frame, LinkType.ETHERNET);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'link.trunc_header': 1 });
  });

  it('an Ethernet header cut short: link.trunc_header', () => {
    const frame = hex(
      ...ETH_MACS,
      '08', // first byte of the EtherType only
    );
    const d = decode(frame, LinkType.ETHERNET);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'link.trunc_header': 1 });
  });

  it('ARP is not IP: link.not_ip', () => {
    const frame = hex(
      'ff ff ff ff ff ff', // destination MAC: broadcast
      '02 00 00 00 00 01', // source MAC
      '08 06', // EtherType ARP
      '00 01', // hardware type Ethernet
      '08 00', // protocol type IPv4
      '06', // hardware address length
      '04', // protocol address length
      '00 01', // operation: request
      '02 00 00 00 00 01', // sender MAC
      '0a 00 00 02', // sender IP 10.0.0.2
      '00 00 00 00 00 00', // target MAC (unknown)
      '0a 00 00 01', // target IP 10.0.0.1
    );
    const d = decode(frame, LinkType.ETHERNET);
    expectMatch(d, { result: 'NOT_IP', ipVersion: 0, src: null, srcPort: 0, dstPort: 0 });
    expect(d.anomalies).toEqual({ 'link.not_ip': 1 });
  });

  it('Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113)', () => {
    const frame = hex(
      '00 04', // packet type: sent by us
      '00 01', // ARPHRD_ETHER
      '00 06', // link-layer address length 6
      '02 00 00 00 00 01 00 00', // link-layer address, padded to 8 bytes
      '08 00', // protocol: IPv4
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.LINUX_SLL)).toEqual(synV4(16));
  });

  it('Linux cooked capture v1 with a VLAN tag left in the frame', () => {
    const frame = hex(
      '00 00', // packet type: to us
      '00 01', // ARPHRD_ETHER
      '00 06', // link-layer address length 6
      '02 00 00 00 00 02 00 00', // link-layer address, padded to 8 bytes
      '81 00', // protocol: 802.1Q
      '00 64', // TCI: VID 100
      '08 00', // EtherType IPv4
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.LINUX_SLL)).toEqual(synV4(20));
  });

  it('Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276)', () => {
    const frame = hex(
      '86 dd', // protocol type: IPv6
      '00 00', // reserved
      '00 00 00 03', // interface index 3
      '00 01', // ARPHRD_ETHER
      '04', // packet type: sent by us
      '06', // link-layer address length 6
      '02 00 00 00 00 01 00 00', // link-layer address, padded to 8 bytes
      ...IPV6_UDP,
    );
    expect(decode(frame, LinkType.LINUX_SLL2)).toEqual(udpV6(20));
  });

  it('a Linux cooked v2 header cut short: link.trunc_header', () => {
    const frame = hex(
      '08 00', // protocol type: IPv4
      '00 00', // reserved
      '00 00 00 03', // interface index 3
      '00 01', // ARPHRD_ETHER; the rest is missing
    );
    const d = decode(frame, LinkType.LINUX_SLL2);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'link.trunc_header': 1 });
  });

  for (const lt of [LinkType.RAW, LinkType.RAW_DLT12, LinkType.RAW_DLT14]) {
    it(`raw IP (${lt}): the version nibble picks IPv4 or IPv6`, () => {
      expect(decode(hex(...IPV4_TCP_SYN), lt)).toEqual(synV4(0));
      expect(decode(hex(...IPV6_UDP), lt)).toEqual(udpV6(0));
    });
  }

  it('raw IP with version 5 is not IP; an empty raw frame is truncated', () => {
    const v5 = hex(
      '50', // version 5 (ST-II), nibble only matters
      '00 00 14',
    );
    expectMatch(decode(v5, LinkType.RAW), { result: 'NOT_IP', anomalies: { 'link.not_ip': 1 } });
    const empty = decode(Buffer.alloc(0), LinkType.RAW);
    expect(empty.result).toBe('MALFORMED');
    expect(empty.anomalies).toEqual({ 'link.trunc_header': 1 });
  });

  it('BSD NULL (0): address family in the writer’s byte order, AF_INET little-endian', () => {
    const frame = hex(
      '02 00 00 00', // family AF_INET (2), little-endian host
      ...IPV4_TCP_SYN,
    );
    expect(decode(frame, LinkType.NULL)).toEqual(synV4(4));
  });

  it('BSD NULL (0): AF_INET6 as Darwin writes it (30), little-endian', () => {
    const frame = hex(
      '1e 00 00 00', // family AF_INET6 on Darwin (30), little-endian host
      ...IPV6_UDP,
    );
    expect(decode(frame, LinkType.NULL)).toEqual(udpV6(4));
  });

  it('BSD NULL (0) from a big-endian writer is read too; an unknown family is not IP', () => {
    const be = hex(
      '00 00 00 02', // family AF_INET (2), big-endian host
      ...IPV4_TCP_SYN,
    );
    expect(decode(be, LinkType.NULL)).toEqual(synV4(4));
    const appletalk = hex(
      '10 00 00 00', // family 16 (AF_APPLETALK)
      '00 00 00 00',
    );
    expectMatch(decode(appletalk, LinkType.NULL), { result: 'NOT_IP', anomalies: { 'link.not_ip': 1 } });
  });

  it('OpenBSD LOOP (108): address family in network byte order', () => {
    const v4 = hex(
      '00 00 00 02', // family AF_INET (2), big-endian
      ...IPV4_TCP_SYN,
    );
    expect(decode(v4, LinkType.LOOP)).toEqual(synV4(4));
    const v6 = hex(
      '00 00 00 18', // family AF_INET6 on OpenBSD (24), big-endian
      ...IPV6_UDP,
    );
    expect(decode(v6, LinkType.LOOP)).toEqual(udpV6(4));
  });

  it('an unknown link type: capture.unknown_linktype', () => {
    const d = decode(hex(...IPV4_TCP_SYN), 147); // LINKTYPE_USER0
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'capture.unknown_linktype': 1 });
  });
});

// ---- IPv4 ------------------------------------------------------------------

describe('IPv4', () => {
  it('options (IHL 6) are skipped to reach UDP', () => {
    const frame = hex(
      '46', // version 4, IHL 6 (24 bytes)
      '00', // DSCP, ECN
      '00 24', // total length 36
      '00 02', // identification
      '00 00', // no flags, fragment offset 0
      '01', // TTL 1
      '11', // protocol UDP
      '00 00', // header checksum
      '0a 00 00 02', // source 10.0.0.2
      'c6 33 64 0a', // destination 198.51.100.10
      '94 04 00 00', // option Router Alert (148), length 4, value 0
      'c3 50', // UDP source port 50000
      '00 35', // destination port 53
      '00 0c', // length 12
      '00 00', // checksum
      'ca fe ba be', // payload
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'TRANSPORT',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 17,
      srcPort: 50000,
      dstPort: 53,
      tcpFlags: 0,
      icmpEcho: false,
      payloadOff: 32,
      payloadLen: 4,
      anomalies: {},
    });
  });

  it('Ethernet padding after the IP total length is not payload', () => {
    const frame = hex(
      ...ETH_MACS,
      '08 00', // EtherType IPv4
      ...ipv4Header('00 1c', '00 00', '11'), // total length 28, UDP
      'c3 50 00 35', // UDP ports 50000 → 53
      '00 08', // length 8: no payload
      '00 00', // checksum
      '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00', // 18 bytes of padding to the 60-byte minimum
    );
    expectMatch(decode(frame, LinkType.ETHERNET), {
      result: 'TRANSPORT',
      payloadOff: 42,
      payloadLen: 0,
      anomalies: {},
    });
  });

  it('total length 0 (TCP segmentation offload) falls back to the captured length', () => {
    // Regression: the `totalLen < ihl` check used to reject 0 as ipv4.bad_total_length before the TSO fallback.
    const frame = hex(
      ...ipv4Header('00 00', '40 00', '06'), // total length 0, DF, TCP
      '9c 41 01 bb', // TCP ports 40001 → 443
      '00 00 03 e8 00 00 00 01', // sequence, acknowledgment
      '50', // data offset 5 words
      '18', // flags PSH ACK
      'ff ff 00 00 00 00', // window, checksum, urgent pointer
      '47 45 54 20 2f', // payload "GET /"
    );
    expectMatch(decode(frame, LinkType.RAW), {
      result: 'TRANSPORT',
      tcpFlags: TcpFlag.PSH | TcpFlag.ACK,
      payloadOff: 40,
      payloadLen: 5,
      anomalies: {},
    });
  });

  it('first fragment (MF, offset 0): ports attributed, ipv4.frag_first', () => {
    const frame = hex(
      ...ipv4Header('00 24', '20 00', '11'), // total length 36, flags MF, offset 0, UDP
      'c3 50', // UDP source port 50000
      '01 bb', // destination port 443
      '03 f0', // length 1008: the whole datagram, most of it in later fragments
      '00 00', // checksum
      '00 01 02 03 04 05 06 07', // first 8 payload bytes
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'TRANSPORT',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 17,
      srcPort: 50000,
      dstPort: 443,
      tcpFlags: 0,
      icmpEcho: false,
      payloadOff: 28,
      payloadLen: 8,
      anomalies: { 'ipv4.frag_first': 1 },
    });
  });

  it('later fragment (offset > 0): IP only, no ports even if the bytes look like a UDP header', () => {
    const frame = hex(
      ...ipv4Header('00 1c', '00 02', '11'), // total length 28, no MF, offset 2 (16 bytes), UDP
      'c3 50 01 bb 03 f0 00 00', // 8 bytes of datagram that happen to look like ports
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'IP_ONLY',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 17,
      srcPort: 0,
      dstPort: 0,
      tcpFlags: 0,
      icmpEcho: false,
      payloadOff: null,
      payloadLen: 0,
      anomalies: { 'ipv4.frag_later': 1 },
    });
  });

  it('version other than 4 behind an IPv4 EtherType: ipv4.bad_version', () => {
    const frame = hex(
      ...ETH_MACS,
      '08 00', // EtherType IPv4
      '65', // version 6 (!), low nibble 5
      '00 00 28 00 01 40 00 40 06 00 00', // rest of a plausible IPv4 header
      '0a 00 00 02 c6 33 64 0a', // addresses
    );
    const d = decode(frame, LinkType.ETHERNET);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv4.bad_version': 1 });
  });

  it('IHL below 5: ipv4.bad_ihl', () => {
    const frame = hex(
      '44', // version 4, IHL 4 (16 bytes, below the 20-byte minimum)
      '00', // DSCP, ECN
      '00 28', // total length 40
      '00 01 40 00 40 06 00 00', // identification, flags, TTL, protocol TCP, checksum
      '0a 00 00 02 c6 33 64 0a', // addresses
      '9c 41 01 bb 00 00 03 e8 00 00 00 00 50 02 ff ff 00 00 00 00', // TCP SYN
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv4.bad_ihl': 1 });
  });

  it('total length below the header length: ipv4.bad_total_length', () => {
    const frame = hex(
      '45', // version 4, IHL 5 (20 bytes)
      '00', // DSCP, ECN
      '00 13', // total length 19 (< 20)
      '00 01 40 00 40 06 00 00', // identification, flags, TTL, protocol TCP, checksum
      '0a 00 00 02 c6 33 64 0a', // addresses
      '9c 41 01 bb 00 00 03 e8 00 00 00 00 50 02 ff ff 00 00 00 00', // TCP SYN
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv4.bad_total_length': 1 });
  });

  it('header cut before 20 bytes, or before its IHL: ipv4.trunc_header', () => {
    const short = hex(
      '45 00 00 28', // version, IHL 5, DSCP, total length 40
      '00 01 40 00 40 06 00 00', // identification, flags, TTL, protocol, checksum
      '0a 00 00 02 c6 33 64', // addresses, last byte cut: 19 bytes
    );
    expectMatch(decode(short, LinkType.RAW), { result: 'MALFORMED', anomalies: { 'ipv4.trunc_header': 1 } });
    const longIhl = hex(
      '4f', // version 4, IHL 15 (60 bytes)
      '00 00 50', // DSCP, total length 80
      '00 01 40 00 40 06 00 00', // identification, flags, TTL, protocol, checksum
      '0a 00 00 02 c6 33 64 0a', // addresses
      '01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01', // 20 of the 40 option bytes (NOPs)
    );
    const d = decode(longIhl, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv4.trunc_header': 1 });
  });

  it('GRE (47) and other protocols: IP only, ip.other_proto', () => {
    const frame = hex(
      ...ipv4Header('00 18', '00 00', '2f'), // total length 24, protocol GRE
      '00 00', // GRE flags, version 0
      '08 00', // GRE protocol type IPv4 (inner packet not captured)
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'IP_ONLY',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 47,
      srcPort: 0,
      dstPort: 0,
      tcpFlags: 0,
      icmpEcho: false,
      payloadOff: null,
      payloadLen: 0,
      anomalies: { 'ip.other_proto': 1 },
    });
  });
});

// ---- IPv6 ------------------------------------------------------------------

describe('IPv6', () => {
  it('hop-by-hop, destination options and routing headers, then TCP', () => {
    const frame = hex(
      ...ETH_MACS,
      '86 dd', // EtherType IPv6
      ...ipv6Header('00 44', '00'), // payload length 68, next header hop-by-hop (0)
      '3c', // hop-by-hop: next header destination options (60)
      '00', // header extension length 0 (8 bytes)
      '05 02 00 00', // option Router Alert (5), length 2, value 0
      '01 00', // option PadN, length 0
      '2b', // destination options: next header routing (43)
      '01', // header extension length 1 (16 bytes)
      '01 0c 00 00 00 00 00 00 00 00 00 00 00 00', // option PadN, length 12
      '06', // routing: next header TCP
      '02', // header extension length 2 (24 bytes)
      '02', // routing type 2 (Mobile IPv6)
      '01', // segments left 1
      '00 00 00 00', // reserved
      '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 99', // home address 2001:db8::99
      ...TCP_SYN_V6,
    );
    expect(decode(frame, LinkType.ETHERNET)).toEqual(synV6(14 + 40 + 8 + 16 + 24 + 20));
  });

  it('fragment header, first fragment (M=1, offset 0): ports attributed, ipv6.frag_first', () => {
    const frame = hex(
      ...ipv6Header('00 18', '2c'), // payload length 24, next header fragment (44)
      '11', // fragment: next header UDP
      '00', // reserved
      '00 01', // fragment offset 0, M=1
      '00 00 12 34', // identification
      'd4 31 00 35', // UDP ports 54321 → 53
      '03 f0', // length 1008: the whole datagram
      '00 00', // checksum
      '00 01 02 03 04 05 06 07', // first 8 payload bytes
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      ...udpV6(0),
      payloadOff: 56,
      payloadLen: 8,
      anomalies: { 'ipv6.frag_first': 1 },
    });
  });

  it('fragment header, later fragment (offset > 0): IP only with the upper protocol, ipv6.frag_later', () => {
    const frame = hex(
      ...ipv6Header('00 10', '2c'), // payload length 16, next header fragment (44)
      '11', // fragment: next header UDP
      '00', // reserved
      '00 10', // fragment offset 2 (16 bytes), M=0
      '00 00 12 34', // identification
      'd4 31 00 35 03 f0 00 00', // 8 bytes of datagram that happen to look like ports
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'IP_ONLY',
      ipVersion: 6,
      src: '2001:db8::2',
      dst: '2001:db8:1::53',
      proto: 17,
      srcPort: 0,
      dstPort: 0,
      tcpFlags: 0,
      icmpEcho: false,
      payloadOff: null,
      payloadLen: 0,
      anomalies: { 'ipv6.frag_later': 1 },
    });
  });

  it('authentication header (RFC 4302: length in 32-bit words minus 2), then TCP', () => {
    const frame = hex(
      ...ipv6Header('00 2c', '33'), // payload length 44, next header AH (51)
      '06', // AH: next header TCP
      '04', // payload length 4: (4 + 2) * 4 = 24 bytes
      '00 00', // reserved
      '00 00 01 00', // SPI 256
      '00 00 00 01', // sequence number 1
      '00 00 00 00 00 00 00 00 00 00 00 00', // ICV, 96 bits
      ...TCP_SYN_V6,
    );
    expect(decode(frame, LinkType.RAW)).toEqual(synV6(40 + 24 + 20));
  });

  /** `n` destination-options headers of 8 bytes each, chained, ending in TCP. */
  function destOptsChain(n: number): string[] {
    const headers: string[] = [];
    for (let i = 0; i < n; i++) {
      headers.push(
        i === n - 1 ? '06' : '3c', // next header: TCP after the last, else destination options (60)
        '00', // header extension length 0 (8 bytes)
        '01 04 00 00 00 00', // option PadN, length 4
      );
    }
    return headers;
  }

  it('sixteen extension headers are walked (the limit), then TCP', () => {
    // Regression: the walk used to give up after 15 headers, one short of the documented limit.
    const frame = hex(...ipv6Header('00 94', '3c'), ...destOptsChain(16), ...TCP_SYN_V6); // payload 16*8 + 20
    expect(decode(frame, LinkType.RAW)).toEqual(synV6(40 + 16 * 8 + 20));
  });

  it('a chain of 17 extension headers: ipv6.ext_chain_too_long', () => {
    const frame = hex(...ipv6Header('00 9c', '3c'), ...destOptsChain(17), ...TCP_SYN_V6); // payload 17*8 + 20
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv6.ext_chain_too_long': 1 });
  });

  it('an extension header longer than the packet: ipv6.trunc_ext_header', () => {
    const frame = hex(
      ...ipv6Header('00 08', '00'), // payload length 8, next header hop-by-hop
      '06', // hop-by-hop: next header TCP
      '01', // header extension length 1: 16 bytes, but only 8 follow
      '01 04 00 00 00 00', // option PadN, length 4
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv6.trunc_ext_header': 1 });
    const stub = hex(
      ...ipv6Header('00 04', '3c'), // payload length 4, next header destination options
      '06 00 01 00', // half of the 8-byte minimum
    );
    expect(decode(stub, LinkType.RAW).anomalies).toEqual({ 'ipv6.trunc_ext_header': 1 });
  });

  it('header cut before 40 bytes: ipv6.trunc_header; version other than 6: ipv6.bad_version', () => {
    const cut = hex(...IPV6_UDP).subarray(0, 39);
    expectMatch(decode(cut, LinkType.RAW), { result: 'MALFORMED', anomalies: { 'ipv6.trunc_header': 1 } });
    const v4InV6 = hex(
      ...ETH_MACS,
      '86 dd', // EtherType IPv6
      ...IPV4_TCP_SYN, // but an IPv4 packet: version 4
    );
    const d = decode(v4InV6, LinkType.ETHERNET);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv6.bad_version': 1 });
  });

  it('ESP (50) and No Next Header (59) end the walk: IP only, ip.other_proto', () => {
    const esp = hex(
      ...ipv6Header('00 08', '32'), // payload length 8, next header ESP (50)
      '00 00 01 00', // SPI 256
      '00 00 00 01', // sequence number 1
    );
    expectMatch(decode(esp, LinkType.RAW), {
      result: 'IP_ONLY',
      proto: 50,
      anomalies: { 'ip.other_proto': 1 },
    });
    const none = hex(...ipv6Header('00 00', '3b')); // payload length 0, next header none (59)
    expectMatch(decode(none, LinkType.RAW), { result: 'IP_ONLY', proto: 59, anomalies: { 'ip.other_proto': 1 } });
  });
});

// ---- Transport ---------------------------------------------------------------

describe('transport', () => {
  it('TCP options are skipped to reach the payload', () => {
    const frame = hex(
      ...ipv4Header('00 3c', '40 00', '06'), // total length 60, DF, TCP
      'c3 51 01 bb', // ports 50001 → 443
      '00 00 03 e8 00 00 00 00', // sequence, acknowledgment
      '80', // data offset 8 words (32 bytes)
      '12', // flags SYN ACK
      'ff ff 00 00 00 00', // window, checksum, urgent pointer
      '02 04 05 b4', // MSS 1460
      '01', // NOP
      '03 03 07', // window scale 7
      '01 01', // NOP NOP
      '04 02', // SACK permitted
      '00 00 00 00 00 00 00 00', // 8 bytes of payload
    );
    expectMatch(decode(frame, LinkType.RAW), {
      result: 'TRANSPORT',
      srcPort: 50001,
      dstPort: 443,
      tcpFlags: TcpFlag.SYN | TcpFlag.ACK,
      payloadOff: 52,
      payloadLen: 8,
      anomalies: {},
    });
  });

  it('TCP data offset below 5: tcp.bad_offset', () => {
    const frame = hex(
      ...ipv4Header('00 28', '40 00', '06'), // total length 40, TCP
      '9c 41 01 bb', // ports
      '00 00 03 e8 00 00 00 00', // sequence, acknowledgment
      '40', // data offset 4 words (16 bytes: below the minimum)
      '02', // flags SYN
      'ff ff 00 00 00 00', // window, checksum, urgent pointer
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'tcp.bad_offset': 1 });
  });

  it('TCP header cut before 20 bytes: tcp.trunc_header', () => {
    const frame = hex(
      ...ipv4Header('00 27', '40 00', '06'), // total length 39, TCP
      '9c 41 01 bb', // ports
      '00 00 03 e8 00 00 00 00', // sequence, acknowledgment
      '50 02 ff ff 00 00 00', // offset, flags, window, 3 of 4 checksum/urgent bytes
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'tcp.trunc_header': 1 });
  });

  it('UDP length below 8: udp.bad_length, the datagram still counts with the IP payload', () => {
    const frame = hex(
      ...ipv4Header('00 20', '00 00', '11'), // total length 32, UDP
      'c3 50 00 35', // ports 50000 → 53
      '00 07', // length 7 (< 8)
      '00 00', // checksum
      'ca fe ba be', // payload
    );
    expectMatch(decode(frame, LinkType.RAW), {
      result: 'TRANSPORT',
      srcPort: 50000,
      dstPort: 53,
      payloadOff: 28,
      payloadLen: 4,
      anomalies: { 'udp.bad_length': 1 },
    });
  });

  it('UDP length 0 over IPv6 (jumbogram, RFC 2675) is not an anomaly', () => {
    const frame = hex(
      ...ipv6Header('00 0c', '11'), // payload length 12, UDP
      'd4 31 00 35', // ports
      '00 00', // length 0
      '00 00', // checksum
      'de ad be ef', // payload
    );
    expect(decode(frame, LinkType.RAW)).toEqual(udpV6(0));
  });

  it('UDP header cut: udp.trunc_header', () => {
    const frame = hex(
      ...ipv4Header('00 1b', '00 00', '11'), // total length 27, UDP
      'c3 50 00 35 00 08 00', // 7 of the 8 header bytes
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'udp.trunc_header': 1 });
  });

  it('ICMP echo request and reply: the identifier is both ports', () => {
    for (const [type, name] of [
      ['08', 'request'],
      ['00', 'reply'],
    ]) {
      const frame = hex(
        ...ipv4Header('00 20', '00 00', '01'), // total length 32, ICMP
        type, // type: echo request (8) or reply (0)
        '00', // code 0
        '00 00', // checksum
        '12 34', // identifier 0x1234
        '00 01', // sequence number 1
        'ab cd ef 01', // data
      );
      expect(decode(frame, LinkType.RAW), name).toEqual({
        result: 'TRANSPORT',
        ipVersion: 4,
        src: '10.0.0.2',
        dst: '198.51.100.10',
        proto: 1,
        srcPort: 0x1234,
        dstPort: 0x1234,
        tcpFlags: 0,
        icmpEcho: true,
        payloadOff: 28,
        payloadLen: 4,
        anomalies: {},
      });
    }
  });

  it('ICMP destination unreachable: not echo, ports 0, the quoted packet is payload', () => {
    const frame = hex(
      ...ipv4Header('00 38', '00 00', '01'), // total length 56, ICMP
      '03', // type destination unreachable
      '03', // code port unreachable
      '00 00', // checksum
      '00 00 00 00', // unused
      '45 00 00 24 00 02 00 00 40 11 00 00 c6 33 64 0a 0a 00 00 02', // quoted IPv4 header
      '00 35 c3 50 00 10 00 00', // quoted UDP header
    );
    expectMatch(decode(frame, LinkType.RAW), {
      result: 'TRANSPORT',
      proto: 1,
      srcPort: 0,
      dstPort: 0,
      icmpEcho: false,
      payloadOff: 28,
      payloadLen: 28,
      anomalies: {},
    });
  });

  it('ICMP header cut before 4 bytes: icmp.trunc_header', () => {
    const frame = hex(
      ...ipv4Header('00 17', '00 00', '01'), // total length 23, ICMP
      '08 00 00', // type, code, half a checksum
    );
    const d = decode(frame, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'icmp.trunc_header': 1 });
  });

  it('ICMPv6 echo request and reply: the identifier is both ports', () => {
    for (const type of ['80', '81']) {
      const frame = hex(
        ...ipv6Header('00 0c', '3a'), // payload length 12, next header ICMPv6 (58)
        type, // type: echo request (128) or reply (129)
        '00', // code 0
        '00 00', // checksum
        'be ef', // identifier 0xbeef
        '00 07', // sequence number 7
        '01 02 03 04', // data
      );
      expect(decode(frame, LinkType.RAW), type).toEqual({
        result: 'TRANSPORT',
        ipVersion: 6,
        src: '2001:db8::2',
        dst: '2001:db8:1::53',
        proto: 58,
        srcPort: 0xbeef,
        dstPort: 0xbeef,
        tcpFlags: 0,
        icmpEcho: true,
        payloadOff: 48,
        payloadLen: 4,
        anomalies: {},
      });
    }
  });

  it('ICMPv6 neighbour solicitation is not echo; a cut ICMPv6 header is icmpv6.trunc_header', () => {
    const ns = hex(
      ...ipv6Header('00 18', '3a'), // payload length 24, ICMPv6
      '87', // type 135 neighbour solicitation
      '00 00 00', // code, checksum
      '00 00 00 00', // reserved
      '20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 53', // target address
    );
    expectMatch(decode(ns, LinkType.RAW), {
      result: 'TRANSPORT',
      icmpEcho: false,
      srcPort: 0,
      dstPort: 0,
      anomalies: {},
    });
    const cut = hex(
      ...ipv6Header('00 02', '3a'), // payload length 2, ICMPv6
      '80 00', // type, code; no checksum
    );
    const d = decode(cut, LinkType.RAW);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'icmpv6.trunc_header': 1 });
  });
});

// ---- Snaplen ---------------------------------------------------------------

describe('snaplen-cut packets', () => {
  it('TCP header complete, payload cut: still TRANSPORT, payloadLen is what was captured', () => {
    const frame = hex(
      ...ETH_MACS,
      '08 00', // EtherType IPv4
      ...ipv4Header('05 dc', '40 00', '06'), // total length 1500, DF, TCP
      '9c 41 01 bb', // ports 40001 → 443
      '00 00 03 e9 00 00 00 01', // sequence, acknowledgment
      '50', // data offset 5 words
      '18', // flags PSH ACK
      'ff ff 00 00 00 00', // window, checksum, urgent pointer
      '47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a', // "GET / HTTP/1.1\r\n", of 1460 on the wire
    );
    expect(decode(frame, LinkType.ETHERNET, 64)).toEqual({
      result: 'TRANSPORT',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 6,
      srcPort: 40001,
      dstPort: 443,
      tcpFlags: TcpFlag.PSH | TcpFlag.ACK,
      icmpEcho: false,
      payloadOff: 54,
      payloadLen: 10, // 64-byte snaplen minus 54 bytes of headers
      anomalies: {},
    });
  });

  it('TCP options cut by the snaplen: ports and flags kept, empty payload at the cut', () => {
    const frame = hex(
      ...ipv4Header('00 34', '40 00', '06'), // total length 52, TCP
      'c3 51 01 bb', // ports 50001 → 443
      '00 00 03 e8 00 00 00 00', // sequence, acknowledgment
      '80', // data offset 8 words (32 bytes)
      '02', // flags SYN
      'ff ff 00 00 00 00', // window, checksum, urgent pointer
      '02 04 05 b4', // MSS 1460 (captured)
      '01 03 03 07 01 01 04 02', // NOP, window scale, NOPs, SACK permitted (cut away)
    );
    expectMatch(decode(frame, LinkType.RAW, 44), {
      result: 'TRANSPORT',
      srcPort: 50001,
      dstPort: 443,
      tcpFlags: TcpFlag.SYN,
      payloadOff: 44,
      payloadLen: 0,
      anomalies: {},
    });
  });

  it('UDP over IPv6 cut inside the payload: payloadLen is what was captured', () => {
    const frame = hex(...IPV6_UDP);
    expect(decode(frame, LinkType.RAW, 50)).toEqual({ ...udpV6(0), payloadLen: 2 });
  });

  it('IPv4 header cut by the snaplen: ipv4.trunc_header, nothing past the cut is read', () => {
    const frame = hex(...ETH_MACS, '08 00', ...IPV4_TCP_SYN);
    const d = decode(frame, LinkType.ETHERNET, 30);
    expect(d.result).toBe('MALFORMED');
    expect(d.anomalies).toEqual({ 'ipv4.trunc_header': 1 });
  });
});

describe('the reused Packet', () => {
  it('carries nothing over from the previous packet', () => {
    const p = new Packet();
    const counts = new Anomalies().counts;
    const echo = hex(...ipv4Header('00 1c', '00 00', '01'), '08 00 00 00 12 34 00 01'); // ICMP echo request
    expect(decodePacket(echo, 0, echo.length, LinkType.RAW, p, counts)).toBe(DecodeResult.TRANSPORT);
    expect([p.icmpEcho, p.srcPort]).toEqual([true, 0x1234]);
    const arp = hex(...ETH_MACS, '08 06', '00 01 08 00 06 04 00 01'); // ARP, body cut
    expect(decodePacket(arp, 0, arp.length, LinkType.ETHERNET, p, counts)).toBe(DecodeResult.NOT_IP);
    expect([p.ipVersion, p.proto, p.srcPort, p.dstPort, p.icmpEcho, p.payloadLen]).toEqual([0, 0, 0, 0, false, 0]);
  });
});

describe('anomaly names', () => {
  it('are unique and shaped layer.snake_case', () => {
    expect(new Set(ANOMALY_NAMES).size).toBe(ANOMALY_NAMES.length);
    for (const name of ANOMALY_NAMES) expect(name).toMatch(/^[a-z0-9]+\.[a-z0-9_]+$/);
  });
});
