// Tunnels (agent/src/decode/tunnel.ts) on annotated byte vectors: the inner
// packet is what the decoder reports, each kind opened is counted, and each
// malformation fires exactly its named counter. Real captures of every kind
// are in test/cli/tunnels.test.ts.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { decode, ETH_MACS, expectMatch, hex, IPV4_TCP_SYN, IPV6_UDP, synV4, udpV6 } from '../support/decode-vectors.js';

const SYN_LEN = 40; // IPV4_TCP_SYN
const V6_UDP_LEN = 52; // IPV6_UDP

/** An outer IPv4 header 10.1.0.1 → 10.1.0.2 carrying `payloadLen` bytes of protocol `proto`. */
function outer4(proto: string, payloadLen: number): string[] {
  return [
    '45 00', // version 4, IHL 5; DSCP/ECN
    (20 + payloadLen).toString(16).padStart(4, '0'), // total length
    '00 00 40 00', // identification; DF
    '40', // TTL
    proto, // protocol
    '00 00', // checksum
    '0a 01 00 01', // source 10.1.0.1
    '0a 01 00 02', // destination 10.1.0.2
  ];
}

/** An outer UDP header to `dport` carrying `payloadLen` bytes. */
function udp(dport: string, payloadLen: number): string[] {
  return ['c0 01', dport, (8 + payloadLen).toString(16).padStart(4, '0'), '00 00'];
}

const ETH = (type: string) => [...ETH_MACS, type];

describe('IP in IP', () => {
  it('IPv4 in IPv4 (protocol 4): the inner TCP SYN is the packet', () => {
    const f = hex(...ETH('08 00'), ...outer4('04', SYN_LEN), ...IPV4_TCP_SYN);
    expect(decode(f, LinkType.ETHERNET)).toEqual({ ...synV4(34), anomalies: { 'tunnel.ipip': 1 } });
  });

  it('IPv6 in IPv4 (6in4, protocol 41)', () => {
    const f = hex(...ETH('08 00'), ...outer4('29', V6_UDP_LEN), ...IPV6_UDP);
    expect(decode(f, LinkType.ETHERNET)).toEqual({ ...udpV6(34), anomalies: { 'tunnel.6in4': 1 } });
  });

  it('five tunnels deep: four are opened, the fifth is counted and not followed', () => {
    let pkt = IPV4_TCP_SYN;
    for (let i = 0; i < 5; i++) pkt = [...outer4('04', hex(...pkt).length), ...pkt];
    expectMatch(decode(hex(...pkt), LinkType.RAW), {
      result: 'IP_ONLY',
      anomalies: { 'tunnel.ipip': 4, 'tunnel.too_deep': 1 },
    });
  });
});

describe('GRE (RFC 2784, RFC 2890)', () => {
  it('with checksum, key and sequence number: 16 bytes of header before the inner IPv4', () => {
    const gre = [
      'b0 00', // C, K, S set; version 0
      '08 00', // protocol IPv4
      '12 34 00 00', // checksum, reserved1
      '00 00 00 2a', // key 42
      '00 00 00 07', // sequence number 7
    ];
    const f = hex(...ETH('08 00'), ...outer4('2f', 16 + SYN_LEN), ...gre, ...IPV4_TCP_SYN);
    expect(decode(f, LinkType.ETHERNET)).toEqual({ ...synV4(14 + 20 + 16), anomalies: { 'tunnel.gre': 1 } });
  });

  it('carrying Ethernet (0x6558, gretap) with a key', () => {
    const gre = ['20 00', '65 58', '00 00 00 2a']; // K; Transparent Ethernet Bridging; key 42
    const inner = [...ETH('08 00'), ...IPV4_TCP_SYN];
    const f = hex(...ETH('08 00'), ...outer4('2f', 8 + 14 + SYN_LEN), ...gre, ...inner);
    expect(decode(f, LinkType.ETHERNET)).toEqual({ ...synV4(14 + 20 + 8 + 14), anomalies: { 'tunnel.gre': 1 } });
  });

  it('version 1 (PPTP) is counted, not followed', () => {
    const f = hex(...outer4('2f', 4 + SYN_LEN), '00 01', '08 00', ...IPV4_TCP_SYN);
    expectMatch(decode(f, LinkType.RAW), { result: 'IP_ONLY', anomalies: { 'gre.unsupported': 1 } });
  });

  it('a key promised by the flags but cut off', () => {
    const f = hex(...outer4('2f', 6), '20 00', '08 00', '00 00');
    expectMatch(decode(f, LinkType.RAW), { result: 'MALFORMED', anomalies: { 'gre.trunc_header': 1 } });
  });
});

describe('VXLAN and Geneve', () => {
  const inner = [...ETH('08 00'), ...IPV4_TCP_SYN];
  const innerLen = 14 + SYN_LEN;

  it('VXLAN (UDP 4789): I flag, VNI 42, then Ethernet', () => {
    const vx = ['08 00 00 00', '00 00 2a 00']; // flags I; reserved; VNI 42; reserved
    const f = hex(...outer4('11', 8 + 8 + innerLen), ...udp('12 b5', 8 + innerLen), ...vx, ...inner);
    expect(decode(f, LinkType.RAW)).toEqual({ ...synV4(20 + 8 + 8 + 14), anomalies: { 'tunnel.vxlan': 1 } });
  });

  it('a datagram to 4789 without the I flag stays plain UDP', () => {
    const f = hex(...outer4('11', 8 + 8), ...udp('12 b5', 8), '00 00 00 00 00 00 2a 00');
    expectMatch(decode(f, LinkType.RAW), {
      result: 'TRANSPORT',
      proto: 17,
      dstPort: 4789,
      payloadLen: 8,
      anomalies: { 'vxlan.bad_flags': 1 },
    });
  });

  it('Geneve (UDP 6081) with one 4-byte option before the Ethernet frame', () => {
    const gv = [
      '01', // version 0, option length 1 word
      '00', // O, C flags clear
      '65 58', // protocol Transparent Ethernet Bridging
      '00 00 2a 00', // VNI 42, reserved
      '01 02 03 00', // option: class 0x0102, type 3, length 0
    ];
    const f = hex(...outer4('11', 8 + 12 + innerLen), ...udp('17 c1', 12 + innerLen), ...gv, ...inner);
    expect(decode(f, LinkType.RAW)).toEqual({ ...synV4(20 + 8 + 12 + 14), anomalies: { 'tunnel.geneve': 1 } });
  });

  it('Geneve whose options run past the datagram stays plain UDP', () => {
    const f = hex(...outer4('11', 8 + 8), ...udp('17 c1', 8), '3f 00 65 58 00 00 2a 00');
    expectMatch(decode(f, LinkType.RAW), { result: 'TRANSPORT', anomalies: { 'geneve.bad_header': 1 } });
  });
});

describe('PPPoE (RFC 2516)', () => {
  const session = (ppp: string, payload: string[]) => [
    ...ETH('88 64'),
    '11', // version 1, type 1
    '00', // code: session data
    '00 01', // session id 1
    (2 + hex(...payload).length).toString(16).padStart(4, '0'), // length: PPP protocol + payload
    ppp, // PPP protocol
    ...payload,
  ];

  it('a session frame carrying IPv4 (PPP 0x0021)', () => {
    const f = hex(...session('00 21', IPV4_TCP_SYN));
    expect(decode(f, LinkType.ETHERNET)).toEqual({ ...synV4(22), anomalies: { 'tunnel.pppoe': 1 } });
  });

  it('a session frame carrying LCP is counted as PPP control', () => {
    const f = hex(...session('c0 21', ['01 01 00 04']));
    expectMatch(decode(f, LinkType.ETHERNET), {
      result: 'NOT_IP',
      anomalies: { 'tunnel.pppoe': 1, 'pppoe.not_ip': 1 },
    });
  });

  it('a discovery frame (PADI) is counted', () => {
    const f = hex(...ETH('88 63'), '11 09 00 00 00 04', '01 01 00 00');
    expectMatch(decode(f, LinkType.ETHERNET), { result: 'NOT_IP', anomalies: { 'pppoe.discovery': 1 } });
  });
});

describe('link types', () => {
  it('Cisco HDLC (104): address, control, EtherType', () => {
    const f = hex('0f', '00', '08 00', ...IPV4_TCP_SYN);
    expect(decode(f, LinkType.C_HDLC)).toEqual(synV4(4));
  });

  it('LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229): no link header', () => {
    expect(decode(hex(...IPV4_TCP_SYN), LinkType.IPV4)).toEqual(synV4(0));
    expect(decode(hex(...IPV6_UDP), LinkType.IPV6)).toEqual(udpV6(0));
  });

  it('228 insists on IPv4: an IPv6 packet there is a bad version', () => {
    expectMatch(decode(hex(...IPV6_UDP), LinkType.IPV4), { result: 'MALFORMED', anomalies: { 'ipv4.bad_version': 1 } });
  });
});
