// IPv4 and IPv6 — options, fragments, extension headers (hop-by-hop,
// destination options, routing, fragment, AH, ESP) and their anomalies, on the annotated byte vectors of
// test/support/decode-vectors.ts: each test asserts what the decoder reports and
// exactly which named anomaly counters fired.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { TcpFlag } from '../../agent/src/decode/packet.js';
import {
  decode,
  ETH_MACS,
  expectMatch,
  hex,
  IPV4_TCP_SYN,
  IPV6_UDP,
  ipv4Header,
  ipv6Header,
  synV6,
  TCP_SYN_V6,
  udpV6,
} from '../support/decode-vectors.js';

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

  it('ESP (50) and other protocols: IP only, ip.other_proto (tunnels are opened: decode-tunnel.test.ts)', () => {
    const frame = hex(
      ...ipv4Header('00 18', '00 00', '32'), // total length 24, protocol ESP
      '00 00 10 01', // ESP security parameters index
    );
    expect(decode(frame, LinkType.RAW)).toEqual({
      result: 'IP_ONLY',
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '198.51.100.10',
      proto: 50,
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
