// Every decoder at its exact length boundaries — a header of exactly its
// minimum size is decoded, one byte less is truncated — and the fields the
// byte-vector helper does not report (TCP sequence, ICMP code, the outermost
// tunnel). Found by mutation testing (README "Mutation testing"): each case
// here fails under a planted off-by-one, a dropped check or a misread offset
// that the other decoder tests let through. Vectors as in
// test/support/decode-vectors.ts: documentation addresses, 0xee junk around the
// frame, exact anomaly counters.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { ANOMALY_NAMES, Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, Packet } from '../../agent/src/decode/packet.js';
import { TunnelType } from '../../agent/src/decode/tunnel.js';
import {
  decode,
  ETH_MACS,
  expectMatch,
  hex,
  IPV4_TCP_SYN,
  IPV6_UDP,
  ipv4Header,
  ipv6Header,
  synV4,
  synV6,
  TCP_SYN_V6,
  udpV6,
} from '../support/decode-vectors.js';

const ETH = (type: string) => [...ETH_MACS, type];
const len16 = (n: number) => n.toString(16).padStart(4, '0');
const bytes = (fields: string[]) => hex(...fields).length;
const SYN_LEN = 40;
const V6_UDP_LEN = 52;

/** An outer IPv4 header 10.1.0.1 → 10.1.0.2 carrying `payloadLen` bytes of protocol `proto`. */
const outer4 = (proto: string, payloadLen: number) => [
  '45 00',
  len16(20 + payloadLen),
  '00 00 40 00',
  '40',
  proto,
  '00 00',
  '0a 01 00 01', // 10.1.0.1
  '0a 01 00 02', // 10.1.0.2
];
const udp = (dport: string, payloadLen: number) => ['c0 01', dport, len16(8 + payloadLen), '00 00'];
const VXLAN = ['08 00 00 00', '00 00 2a 00']; // I flag, VNI 42
const geneve = (proto: string) => ['00', '00', proto, '00 00 2a 00']; // version 0, no options
const pppoe = (code: string, pppLen: number) => ['11', code, '00 01', len16(pppLen)];

type Want = Parameters<typeof expectMatch>[1];
type Case = [name: string, frame: string[], linkType: number, want: Want];

const TRUNC = (anomaly: string, extra: Record<string, number> = {}): Want => ({
  result: 'MALFORMED',
  anomalies: { [anomaly]: 1, ...extra },
});

describe('link layers at their exact header length', () => {
  const SLL = ['00 00', '00 01', '00 06', '02 00 00 00 00 01 00 00']; // packet type, ARPHRD, address length, address
  const SLL2 = ['08 00', '00 00', '00 00 00 01', '00 01', '00', '06', '02 00 00 00 00 01 00 00'];
  it.each<Case>([
    ['SLL, 15 bytes', [...SLL, '08'], LinkType.LINUX_SLL, TRUNC('link.trunc_header')],
    ['SLL, exactly 16 bytes', [...SLL, '08 00'], LinkType.LINUX_SLL, TRUNC('ipv4.trunc_header')],
    [
      'SLL2, 19 bytes',
      SLL2.slice(0, -1).concat('02 00 00 00 00 01 00'),
      LinkType.LINUX_SLL2,
      TRUNC('link.trunc_header'),
    ],
    ['SLL2, exactly 20 bytes', SLL2, LinkType.LINUX_SLL2, TRUNC('ipv4.trunc_header')],
    ['Cisco HDLC, 3 bytes', ['0f 00 08'], LinkType.C_HDLC, TRUNC('link.trunc_header')],
    ['Cisco HDLC, exactly 4 bytes', ['0f 00 08 00'], LinkType.C_HDLC, TRUNC('ipv4.trunc_header')],
    ['Ethernet, exactly 14 bytes', ETH('08 00'), LinkType.ETHERNET, TRUNC('ipv4.trunc_header')],
    ['802.1Q tag, exactly 4 bytes', [...ETH('81 00'), '00 2a 08 00'], LinkType.ETHERNET, TRUNC('ipv4.trunc_header')],
    ['802.1Q tag, 3 bytes', [...ETH('81 00'), '00 2a 08'], LinkType.ETHERNET, TRUNC('link.trunc_header')],
    ['NULL, exactly 4 bytes', ['02 00 00 00'], LinkType.NULL, TRUNC('ipv4.trunc_header')],
    ['NULL, 3 bytes', ['02 00 00'], LinkType.NULL, TRUNC('link.trunc_header')],
    ['raw IP, exactly 1 byte', ['45'], LinkType.RAW, TRUNC('ipv4.trunc_header')],
  ])('%s', (_name, frame, linkType, want) => {
    expectMatch(decode(hex(...frame), linkType), want);
  });

  // BSD address families for IPv6 (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30), in either byte order for NULL.
  it.each([
    ['NULL', LinkType.NULL, '0a 00 00 00', 'IPv6'],
    ['NULL', LinkType.NULL, '18 00 00 00', 'IPv6'],
    ['NULL', LinkType.NULL, '1c 00 00 00', 'IPv6'],
    ['NULL', LinkType.NULL, '1e 00 00 00', 'IPv6'],
    ['NULL', LinkType.NULL, '00 00 00 0a', 'IPv6'],
    ['NULL', LinkType.NULL, '00 00 00 1c', 'IPv6'],
    ['NULL', LinkType.NULL, '00 00 00 02', 'IPv4'],
    ['NULL', LinkType.NULL, '17 00 00 00', 'not IP'], // 23: not a family we know
    ['LOOP', LinkType.LOOP, '00 00 00 18', 'IPv6'],
    ['LOOP', LinkType.LOOP, '00 00 00 0a', 'IPv6'],
    ['LOOP', LinkType.LOOP, '18 00 00 00', 'not IP'], // LOOP is network order only
    ['LOOP', LinkType.LOOP, '02 00 00 00', 'not IP'],
  ])('%s family %s → %s', (_kind, linkType, family, want) => {
    const d = decode(hex(family, ...(want === 'IPv4' ? IPV4_TCP_SYN : IPV6_UDP)), linkType);
    if (want === 'IPv6') expect(d).toEqual(udpV6(4));
    else if (want === 'IPv4') expect(d).toEqual(synV4(4));
    else expectMatch(d, { result: 'NOT_IP', anomalies: { 'link.not_ip': 1 } });
  });
});

describe('IP at its exact lengths', () => {
  const AH = (next: string, lenByte: string, body: string[]) => [next, lenByte, '00 00', ...body];
  it.each<Case>([
    // a short header is truncated, whatever its first byte says
    [
      'IPv4, 10 bytes with a bad version nibble',
      [...ETH('08 00'), '65 00 00 0a 00 00 00 00 40 06'],
      LinkType.ETHERNET,
      TRUNC('ipv4.trunc_header'),
    ],
    [
      'IPv4 header of exactly 20 bytes, total length 20, protocol 99',
      ipv4Header('00 14', '00 00', '63'),
      LinkType.RAW,
      { result: 'IP_ONLY', anomalies: { 'ip.other_proto': 1 } },
    ],
    [
      'IPv6 hop-by-hop header of exactly 8 bytes, then No Next Header',
      [...ipv6Header('00 08', '00'), '3b 00 00 00 00 00 00 00'],
      LinkType.RAW,
      { result: 'IP_ONLY', proto: 59, anomalies: { 'ip.other_proto': 1 } },
    ],
    [
      'IPv6 hop-by-hop header cut at 7 bytes',
      [...ipv6Header('00 07', '00'), '3b 00 00 00 00 00 00'],
      LinkType.RAW,
      TRUNC('ipv6.trunc_ext_header'),
    ],
    [
      'IPv6 AH of exactly 8 bytes (length field 0), then No Next Header',
      [...ipv6Header('00 08', '33'), ...AH('3b', '00', ['00 00 01 00'])],
      LinkType.RAW,
      { result: 'IP_ONLY', proto: 59, anomalies: { 'ip.other_proto': 1 } },
    ],
    [
      'IPv6 AH of exactly 12 bytes (length field 1), then No Next Header',
      [...ipv6Header('00 0c', '33'), ...AH('3b', '01', ['00 00 01 00', '00 00 00 01'])],
      LinkType.RAW,
      { result: 'IP_ONLY', proto: 59, anomalies: { 'ip.other_proto': 1 } },
    ],
    [
      'IPv6 AH cut at 7 bytes',
      [...ipv6Header('00 07', '33'), '11 01 00 00 00 00 01'],
      LinkType.RAW,
      TRUNC('ipv6.trunc_ext_header'),
    ],
    [
      'IPv6 AH saying 24 bytes with 16 there',
      [...ipv6Header('00 10', '33'), ...AH('11', '04', ['00 00 01 00', '00 00 00 01', '00 00 00 00'])],
      LinkType.RAW,
      TRUNC('ipv6.trunc_ext_header'),
    ],
    [
      'IPv6 fragment header of exactly 8 bytes (first fragment), nothing after',
      [...ipv6Header('00 08', '2c'), '11 00 00 01 00 00 00 2a'],
      LinkType.RAW,
      TRUNC('udp.trunc_header', { 'ipv6.frag_first': 1 }),
    ],
    [
      'IPv6 atomic fragment (offset 0, M=0, RFC 6946): no fragment counted',
      [...ipv6Header('00 14', '2c'), '11 00 00 00 00 00 00 2a', 'd4 31 00 35 00 0c 00 00 de ad be ef'],
      LinkType.RAW,
      { result: 'TRANSPORT', srcPort: 54321, dstPort: 53, payloadOff: 56, payloadLen: 4, anomalies: {} },
    ],
  ])('%s', (_name, frame, linkType, want) => {
    expectMatch(decode(hex(...frame), linkType), want);
  });

  it('IPv6 payload length 0 (a jumbogram, RFC 2675): the packet runs to the end of the capture', () => {
    const f = hex(...ipv6Header('00 00', '11'), 'd4 31 00 35 00 0c 00 00 de ad be ef');
    expect(decode(f, LinkType.RAW)).toEqual(udpV6(0));
  });

  it('an AH cut at the very end of the buffer (its length byte not captured) is truncated, never read past', () => {
    const p = new Packet();
    const a = new Anomalies();
    for (const cut of ['33', '33 01']) {
      // nothing follows the frame in the buffer: a decoder reading on would get undefined, not junk
      const f = hex(...ipv6Header(len16(bytes([cut])), '33'), cut);
      expect(decodePacket(f, 0, f.length, LinkType.RAW, p, a.counts)).toBe(DecodeResult.MALFORMED);
    }
    expect(a.get('ipv6.trunc_ext_header')).toBe(2);
    expect(a.total()).toBe(2);
  });

  it('Ethernet padding after an IPv4 TCP segment is not payload', () => {
    const f = hex(...ETH('08 00'), ...IPV4_TCP_SYN, '00 00 00 00 00 00');
    expect(decode(f, LinkType.ETHERNET)).toEqual(synV4(14));
  });

  it('Ethernet padding after an IPv6 TCP segment is not payload', () => {
    const f = hex(...ETH('86 dd'), ...ipv6Header('00 14', '06'), ...TCP_SYN_V6, '00 00 00 00 00 00');
    expect(decode(f, LinkType.ETHERNET)).toEqual(synV6(14 + 60));
  });

  it('an IPv6 payload length past the capture: the payload ends where the capture does', () => {
    const f = hex(...ipv6Header('00 20', '06'), ...TCP_SYN_V6, 'de ad be ef'); // says 32 bytes, 24 captured
    expect(decode(f, LinkType.RAW)).toEqual({ ...synV6(60), payloadLen: 4 });
  });

  it('UDP after a 12-byte IPv6 AH: the ports come from after AH', () => {
    const f = hex(
      ...ipv6Header('00 18', '33'),
      ...AH('11', '01', ['00 00 01 00', '00 00 00 01']),
      'd4 31 00 35 00 0c 00 00 de ad be ef',
    );
    expectMatch(decode(f, LinkType.RAW), {
      result: 'TRANSPORT',
      srcPort: 54321,
      dstPort: 53,
      payloadOff: 60,
      payloadLen: 4,
    });
  });
});

describe('transport at its exact lengths', () => {
  it.each<Case>([
    [
      'UDP length 12 inside an IP payload of 18: the 6 bytes after the datagram are not payload',
      [...ipv4Header('00 26', '00 00', '11'), 'c3 50 00 35 00 0c 00 00', 'de ad be ef', '00 00 00 00 00 00'],
      LinkType.RAW,
      { result: 'TRANSPORT', payloadOff: 28, payloadLen: 4, anomalies: {} },
    ],
    [
      'UDP length exactly 8 inside an IP payload of 12: no payload',
      [...ipv4Header('00 20', '00 00', '11'), 'c3 50 00 35 00 08 00 00', 'de ad be ef'],
      LinkType.RAW,
      { result: 'TRANSPORT', payloadOff: 28, payloadLen: 0, anomalies: {} },
    ],
    [
      'ICMP header of exactly 4 bytes (type, code, checksum)',
      [...ipv4Header('00 18', '00 00', '01'), '03 01 00 00'],
      LinkType.RAW,
      { result: 'TRANSPORT', icmpEcho: false, payloadOff: 24, payloadLen: 0, anomalies: {} },
    ],
  ])('%s', (_name, frame, linkType, want) => {
    expectMatch(decode(hex(...frame), linkType), want);
  });

  it('reads the TCP sequence number (unsigned) and the ICMP type and code', () => {
    const p = new Packet();
    const counts = new Anomalies().counts;
    const tcp = hex(...IPV4_TCP_SYN.slice(0, 12), 'fe dc ba 98', ...IPV4_TCP_SYN.slice(13));
    expect(decodePacket(tcp, 0, tcp.length, LinkType.RAW, p, counts)).toBe(DecodeResult.TRANSPORT);
    expect(p.tcpSeq).toBe(0xfedcba98);
    const icmp = hex(...ipv4Header('00 24', '00 00', '01'), '03 01 00 00', '00 00 00 00', 'de ad be ef'); // host unreachable
    expect(decodePacket(icmp, 0, icmp.length, LinkType.RAW, p, counts)).toBe(DecodeResult.TRANSPORT);
    expect([p.icmpType, p.icmpCode, p.icmpEcho, p.payloadLen]).toEqual([3, 1, false, 4]);
  });
});

describe('tunnels: kinds, bounds and the outermost header', () => {
  const inner = [...ETH('08 00'), ...IPV4_TCP_SYN];
  it.each<Case>([
    [
      '4in6',
      [...ipv6Header(len16(SYN_LEN), '04'), ...IPV4_TCP_SYN],
      LinkType.RAW,
      { ...synV4(40), anomalies: { 'tunnel.4in6': 1 } },
    ],
    [
      '6in6',
      [...ipv6Header(len16(V6_UDP_LEN), '29'), ...IPV6_UDP],
      LinkType.RAW,
      { ...udpV6(40), anomalies: { 'tunnel.6in6': 1 } },
    ],
    [
      'GRE without options, IPv4 inside',
      [...outer4('2f', 4 + SYN_LEN), '00 00 08 00', ...IPV4_TCP_SYN],
      LinkType.RAW,
      { ...synV4(24), anomalies: { 'tunnel.gre': 1 } },
    ],
    [
      'GRE carrying IPv6',
      [...outer4('2f', 4 + V6_UDP_LEN), '00 00 86 dd', ...IPV6_UDP],
      LinkType.RAW,
      { ...udpV6(24), anomalies: { 'tunnel.gre': 1 } },
    ],
    ['GRE cut at 3 bytes', [...outer4('2f', 3), '00 00 08'], LinkType.RAW, TRUNC('gre.trunc_header')],
    // a cut header is truncated before its flags are judged: version 1 here would otherwise say gre.unsupported
    ['GRE cut at 3 bytes, version bits set', [...outer4('2f', 3), '00 01 08'], LinkType.RAW, TRUNC('gre.trunc_header')],
    [
      'GRE header ending exactly at the packet end',
      [...outer4('2f', 4), '00 00 08 00'],
      LinkType.RAW,
      TRUNC('ipv4.trunc_header', { 'tunnel.gre': 1 }),
    ],
    [
      'GRE carrying PPP (0x880b): counted, not followed',
      [...outer4('2f', 8), '00 00 88 0b', 'ff 03 00 21'],
      LinkType.RAW,
      { result: 'IP_ONLY', anomalies: { 'gre.other_proto': 1 } },
    ],
    [
      'GRE carrying a cut Ethernet frame',
      [...outer4('2f', 14), '00 00 65 58', '02 00 00 00 00 02 02 00 00 00'],
      LinkType.RAW,
      TRUNC('link.trunc_header', { 'tunnel.gre': 1 }),
    ],
    [
      'VXLAN header cut at 7 bytes: plain UDP',
      [...outer4('11', 15), ...udp('12 b5', 7), '08 00 00 00 00 00 2a'],
      LinkType.RAW,
      { result: 'TRANSPORT', dstPort: 4789, payloadLen: 7, anomalies: { 'vxlan.trunc_header': 1 } },
    ],
    [
      'VXLAN carrying a cut Ethernet frame',
      [...outer4('11', 26), ...udp('12 b5', 18), ...VXLAN, '02 00 00 00 00 02 02 00 00 00'],
      LinkType.RAW,
      TRUNC('link.trunc_header', { 'tunnel.vxlan': 1 }),
    ],
    [
      'Geneve header cut at 7 bytes: plain UDP',
      [...outer4('11', 15), ...udp('17 c1', 7), '00 00 65 58 00 00 2a'],
      LinkType.RAW,
      { result: 'TRANSPORT', dstPort: 6081, payloadLen: 7, anomalies: { 'geneve.trunc_header': 1 } },
    ],
    [
      'Geneve version 1: plain UDP',
      [...outer4('11', 8 + 8 + SYN_LEN), ...udp('17 c1', 8 + SYN_LEN), '40 00 08 00 00 00 2a 00', ...IPV4_TCP_SYN],
      LinkType.RAW,
      { result: 'TRANSPORT', dstPort: 6081, anomalies: { 'geneve.bad_header': 1 } },
    ],
    [
      'Geneve header ending exactly at the datagram end',
      [...outer4('11', 16), ...udp('17 c1', 8), ...geneve('08 00')],
      LinkType.RAW,
      TRUNC('ipv4.trunc_header', { 'tunnel.geneve': 1 }),
    ],
    [
      'Geneve carrying IPv4',
      [...outer4('11', 16 + SYN_LEN), ...udp('17 c1', 8 + SYN_LEN), ...geneve('08 00'), ...IPV4_TCP_SYN],
      LinkType.RAW,
      { ...synV4(36), anomalies: { 'tunnel.geneve': 1 } },
    ],
    [
      'Geneve carrying IPv6',
      [...outer4('11', 16 + V6_UDP_LEN), ...udp('17 c1', 8 + V6_UDP_LEN), ...geneve('86 dd'), ...IPV6_UDP],
      LinkType.RAW,
      { ...udpV6(36), anomalies: { 'tunnel.geneve': 1 } },
    ],
    [
      'Geneve carrying Ethernet',
      [...outer4('11', 16 + 14 + SYN_LEN), ...udp('17 c1', 8 + 14 + SYN_LEN), ...geneve('65 58'), ...inner],
      LinkType.RAW,
      { ...synV4(50), anomalies: { 'tunnel.geneve': 1 } },
    ],
    [
      'Geneve carrying PPP (0x880b): plain UDP',
      [...outer4('11', 20), ...udp('17 c1', 12), ...geneve('88 0b'), 'ff 03 00 21'],
      LinkType.RAW,
      { result: 'TRANSPORT', dstPort: 6081, payloadLen: 12, anomalies: { 'geneve.other_proto': 1 } },
    ],
    [
      'PPPoE session cut at 7 bytes',
      [...ETH('88 64'), '11 00 00 01 00 02 00'],
      LinkType.ETHERNET,
      TRUNC('pppoe.trunc_header'),
    ],
    [
      'PPPoE session of exactly 8 bytes (header and PPP protocol)',
      [...ETH('88 64'), ...pppoe('00', 2), '00 21'],
      LinkType.ETHERNET,
      TRUNC('ipv4.trunc_header', { 'tunnel.pppoe': 1 }),
    ],
    [
      'PPPoE version/type not 0x11',
      [...ETH('88 64'), ...pppoe('00', 2 + SYN_LEN).with(0, '12'), '00 21', ...IPV4_TCP_SYN],
      LinkType.ETHERNET,
      TRUNC('pppoe.bad_header'),
    ],
    [
      'PPPoE session frame with a discovery code (PADT, 0xa7)',
      [...ETH('88 64'), ...pppoe('a7', 2 + SYN_LEN), '00 21', ...IPV4_TCP_SYN],
      LinkType.ETHERNET,
      TRUNC('pppoe.bad_header'),
    ],
    [
      'PPPoE with a compressed (1-byte) PPP protocol field',
      [...ETH('88 64'), ...pppoe('00', 1 + SYN_LEN), '21', ...IPV4_TCP_SYN],
      LinkType.ETHERNET,
      { ...synV4(21), anomalies: { 'tunnel.pppoe': 1 } },
    ],
    [
      'PPPoE carrying IPv6 (PPP 0x0057)',
      [...ETH('88 64'), ...pppoe('00', 2 + V6_UDP_LEN), '00 57', ...IPV6_UDP],
      LinkType.ETHERNET,
      { ...udpV6(22), anomalies: { 'tunnel.pppoe': 1 } },
    ],
    [
      'PPPoE length ends the packet before the IPv4 total length does',
      [
        ...ETH('88 64'),
        ...pppoe('00', 2 + SYN_LEN),
        '00 21',
        ...ipv4Header('00 30', '40 00', '06'),
        ...IPV4_TCP_SYN.slice(10),
        'de ad be ef de ad be ef',
      ],
      LinkType.ETHERNET,
      { ...synV4(22), anomalies: { 'tunnel.pppoe': 1 } },
    ],
  ])('%s', (_name, frame, linkType, want) => {
    expectMatch(decode(hex(...frame), linkType), want);
  });

  it('6in4 at the depth limit is counted, not followed', () => {
    let pkt: string[] = [...outer4('29', V6_UDP_LEN), ...IPV6_UDP];
    for (let i = 0; i < 4; i++) pkt = [...outer4('04', bytes(pkt)), ...pkt];
    expectMatch(decode(hex(...pkt), LinkType.RAW), {
      result: 'IP_ONLY',
      anomalies: { 'tunnel.ipip': 4, 'tunnel.too_deep': 1 },
    });
  });

  it('keeps the outermost tunnel: its kind, addresses, protocol and ports, not the inner ones', () => {
    const p = new Packet();
    const counts = new Anomalies().counts;
    const at = (buf: Buffer, off: number) => [...buf.subarray(off, off + 4)].join('.');
    // VXLAN in UDP in IPv4 10.1.0.1 → 10.1.0.2, carrying IPIP (10.0.0.2 → 198.51.100.10) around the SYN.
    const ipip = [...ipv4Header(len16(20 + SYN_LEN), '40 00', '04'), ...IPV4_TCP_SYN];
    const vx = [...ETH('08 00'), ...ipip];
    const f = hex(...outer4('11', 16 + bytes(vx)), ...udp('12 b5', 8 + bytes(vx)), ...VXLAN, ...vx);
    expect(decodePacket(f, 0, f.length, LinkType.RAW, p, counts)).toBe(DecodeResult.TRANSPORT);
    expect({
      tunnelType: p.tunnelType,
      tunnelDepth: p.tunnelDepth,
      outer: [p.outerIpVersion, at(f, p.outerSrcAddrOff), at(f, p.outerDstAddrOff), p.outerAddrLen, p.outerProto],
      outerPorts: [p.outerSrcPort, p.outerDstPort],
      inner: [at(f, p.srcAddrOff), at(f, p.dstAddrOff), p.srcPort, p.dstPort, p.proto],
    }).toEqual({
      tunnelType: TunnelType.VXLAN,
      tunnelDepth: 2,
      outer: [4, '10.1.0.1', '10.1.0.2', 4, 17],
      outerPorts: [0xc001, 4789],
      inner: ['10.0.0.2', '198.51.100.10', 40001, 443, 6],
    });
  });
});

describe('anomaly counters', () => {
  it('toJSON names every counter once, in order; count, get and total agree', () => {
    const a = new Anomalies();
    expect(Object.keys(a.toJSON())).toEqual([...ANOMALY_NAMES]);
    a.count('dns.bad_label');
    a.count('dns.bad_label');
    a.count('http.bad_request');
    expect([a.get('dns.bad_label'), a.get('http.bad_request'), a.get('tls.bad_record'), a.total()]).toEqual([
      2, 1, 0, 3,
    ]);
    expect(a.toJSON()['dns.bad_label']).toBe(2);
  });
});
