// Transport — TCP, UDP, ICMP, ICMPv6 — and snaplen-cut packets, the reused
// Packet, and the shape of the anomaly names, on the annotated byte vectors of
// test/support/decode-vectors.ts: each test asserts what the decoder reports and
// exactly which named anomaly counters fired.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { ANOMALY_NAMES, Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, Packet, TcpFlag } from '../../agent/src/decode/packet.js';
import {
  decode,
  ETH_MACS,
  expectMatch,
  hex,
  IPV4_TCP_SYN,
  IPV6_UDP,
  ipv4Header,
  ipv6Header,
  udpV6,
} from '../support/decode-vectors.js';

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
