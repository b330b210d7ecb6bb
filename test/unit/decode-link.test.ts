// Link layers — Ethernet II, 802.1Q/QinQ tags, Linux cooked v1/v2, raw IP,
// BSD NULL and OpenBSD LOOP, on the annotated byte vectors of
// test/support/decode-vectors.ts: each test asserts what the decoder reports and
// exactly which named anomaly counters fired.

import { describe, expect, it } from 'vitest';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { decode, ETH_MACS, expectMatch, hex, IPV4_TCP_SYN, IPV6_UDP, synV4, udpV6 } from '../support/decode-vectors.js';

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
