// Seed corpora for the fuzz targets: valid frames for every link type and
// valid pcap/pcapng files built with builders.ts, plus the real captures under
// test/fixtures (DNS, TLS, QUIC, HTTP as real clients sent them). The targets
// mutate these with fuzz.ts, so most inputs stay close to valid and reach deep
// code. Every choice here is drawn from the Rng passed in.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinkType } from '../../agent/src/capture/linktype.js';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import {
  ethernet,
  icmpEcho,
  ipPacket,
  type NgInterface,
  pcapFile,
  pcapngFile,
  type Rec,
  tcpConversation,
  tcpSegment,
  udpDatagram,
} from './builders.js';
import type { Rng } from './fuzz.js';

// ---- Seed corpus: valid frames for every link type -------------------------------------

const V4 = { src: '10.0.0.2', dst: '198.51.100.10' };
const V4B = { src: '192.168.1.20', dst: '203.0.113.5' };
const V6 = { src: '2001:db8::2', dst: '2001:db8:1::53' };

/** Insert IPv6 extension headers (each `[type, bytes]`, bytes[0] is rewritten) after the fixed header. */
function withIpv6Ext(pkt: Buffer, headers: [number, Buffer][]): Buffer {
  const out = Buffer.from(pkt);
  const upper = out[6];
  const parts: Buffer[] = [out.subarray(0, 40)];
  let prevNextAt = 6;
  let prev: Buffer = parts[0];
  for (const [type, h] of headers) {
    prev[prevNextAt] = type;
    const copy = Buffer.from(h);
    parts.push(copy);
    prev = copy;
    prevNextAt = 0;
  }
  prev[prevNextAt] = upper;
  parts.push(out.subarray(40));
  const joined = Buffer.concat(parts);
  joined.writeUInt16BE(joined.length - 40, 4);
  return joined;
}

/** Destination options, 8 bytes: next header (rewritten), length 0, PadN of 4. */
const DEST_OPTS_PAD4 = Buffer.from('0000010400000000', 'hex');

/** Tunnelled packets (decode/tunnel.ts), each around a valid inner packet: annotated headers. */
function tunnelSeeds(inner4: Buffer, inner6: Buffer): Buffer[] {
  const outer = { src: '10.1.0.1', dst: '10.1.0.2' };
  const outer6 = { src: 'fd01::1', dst: 'fd01::2' };
  const ip = (e: typeof V4, proto: number, bytes: Buffer) => ipPacket(e, { proto, bytes });
  // GRE: flags C|K|S (0xb000), version 0, protocol; checksum+reserved, key 42, sequence 7
  const greCks = (proto: string, payload: Buffer) =>
    Buffer.concat([Buffer.from(`b000${proto}00000000` + '0000002a' + '00000007', 'hex'), payload]);
  const vxlan = (frame: Buffer) => Buffer.concat([Buffer.from('0800000000002a00', 'hex'), frame]); // I flag, VNI 42
  // Geneve: version 0, 1 option word; protocol TEB; VNI 42; one 4-byte option (class, type, length 0)
  const geneve = (frame: Buffer) =>
    Buffer.concat([Buffer.from('0100655800002a00', 'hex'), Buffer.from('01020300', 'hex'), frame]);
  const udpTo = (dport: number, payload: Buffer) =>
    ipPacket(outer, udpDatagram({ ...outer, sport: 49200, dport, payload }));
  return [
    ip(outer, 4, inner4), // IPv4 in IPv4
    ip(outer, 41, inner6), // 6in4
    ip(outer6, 4, inner4), // 4in6
    ip(outer6, 41, inner6), // 6in6
    ip(outer, 47, greCks('0800', inner4)),
    ip(outer, 47, greCks('86dd', inner6)),
    ip(outer, 47, Buffer.concat([Buffer.from('20006558' + '0000002a', 'hex'), ethernet(inner4)])), // gretap, key
    ip(outer, 47, Buffer.concat([Buffer.from('00010800', 'hex'), inner4])), // GRE version 1 (PPTP): not followed
    udpTo(4789, vxlan(ethernet(inner4))),
    udpTo(4789, vxlan(ethernet(inner6, [0x8100]))),
    udpTo(6081, geneve(ethernet(inner4))),
    // five tunnels deep: one past MAX_TUNNEL_DEPTH
    [1, 2, 3, 4, 5].reduce((p) => ip(outer, 4, p), inner4),
  ];
}

/** PPPoE frames (RFC 2516): a session carrying IPv4 and IPv6, link control, discovery (PADI). */
export function pppoeFrames(inner4: Buffer, inner6: Buffer): Buffer[] {
  const macs = '020000000001020000000002';
  const session = (ppp: string, payload: Buffer) => {
    const h = Buffer.from(`${macs}8864` + '1100' + '0001' + '0000' + ppp, 'hex');
    h.writeUInt16BE(2 + payload.length, 18); // PPPoE length: PPP protocol field and payload
    return Buffer.concat([h, payload]);
  };
  return [
    session('0021', inner4),
    session('0057', inner6),
    session('c021', Buffer.from('0101000a0104058c', 'hex')), // LCP Configure-Request
    Buffer.from(`ffffffffffff020000000001` + '8863' + '1109' + '0000' + '0004' + '01010000', 'hex'), // PADI
  ];
}

/** IP packets (no link header) that exercise every decoder path when valid. */
export function ipSeeds(): Buffer[] {
  const tcp = (e: typeof V4, flags: number, payload?: Buffer) =>
    ipPacket(e, tcpSegment({ ...e, sport: 40001, dport: 443, flags, payload }));
  const udp = (e: typeof V4, payload: Buffer) => ipPacket(e, udpDatagram({ ...e, sport: 53000, dport: 53, payload }));
  const v4Options = (() => {
    const p = udp(V4B, Buffer.from('options'));
    const o = Buffer.concat([p.subarray(0, 20), Buffer.from([0x94, 0x04, 0, 0]), p.subarray(20)]);
    o[0] = 0x46;
    o.writeUInt16BE(o.length, 2);
    return o;
  })();
  const dnsQuery = Buffer.from('123401000001000000000000076578616d706c65036f72670000010001', 'hex');
  const pad = (n: number) => Buffer.alloc(n);
  return [
    tcp(V4, 0x02),
    tcp(V4, 0x18, Buffer.from('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n')),
    tcp(V4B, 0x11),
    udp(V4, dnsQuery),
    v4Options,
    ipPacket(V4, icmpEcho({ v6: false, reply: false, id: 0x1234, seq: 1 })),
    ipPacket(V4, udpDatagram({ ...V4, sport: 50000, dport: 443, payload: pad(32) }), { mf: true }),
    ipPacket(V4, { proto: 17, bytes: pad(24) }, { fragOffset: 5 }),
    ipPacket(V4, { proto: 47, bytes: Buffer.from('00000800', 'hex') }),
    tcp(V6, 0x02),
    udp(V6, dnsQuery),
    ipPacket(V6, icmpEcho({ v6: true, reply: true, id: 0xbeef, seq: 7 })),
    withIpv6Ext(tcp(V6, 0x12), [
      [0, Buffer.from('0000050200000100', 'hex')], // hop-by-hop: router alert, PadN
      [60, Buffer.from('0001010c000000000000000000000000', 'hex')], // destination options, 16 bytes
      [43, Buffer.from('000202010000000020010db8000000000000000000000099', 'hex')], // routing type 2
    ]),
    withIpv6Ext(udp(V6, pad(16)), [[44, Buffer.from('0000000100001234', 'hex')]]), // fragment, first
    withIpv6Ext(udp(V6, pad(16)), [[44, Buffer.from('0000001000001234', 'hex')]]), // fragment, later
    withIpv6Ext(tcp(V6, 0x10), [[51, Buffer.from('000400000000010000000001000000000000000000000000', 'hex')]]), // AH
    // At the extension-chain limit (16 headers are walked) and one past it.
    withIpv6Ext(
      tcp(V6, 0x02),
      Array.from({ length: 16 }, () => [60, DEST_OPTS_PAD4] as [number, Buffer]),
    ),
    withIpv6Ext(
      udp(V6, pad(4)),
      Array.from({ length: 17 }, () => [60, DEST_OPTS_PAD4] as [number, Buffer]),
    ),
    ...tunnelSeeds(tcp(V4, 0x18, Buffer.from('GET / HTTP/1.1\r\nHost: example.cn\r\n\r\n')), udp(V6, dnsQuery)),
  ];
}

const ARP = Buffer.from('ffffffffffff020000000001080600010800060400010200000000010a0000020000000000000a000001', 'hex');

const VLAN_STACKS = [
  [],
  [],
  [0x8100],
  [0x88a8, 0x8100],
  [0x9100, 0x8100, 0x8100],
  [0x88a8, 0x8100, 0x8100, 0x8100],
  [0x88a8, 0x8100, 0x8100, 0x8100, 0x8100],
];

/** A link header for `ip` on `linkType` (the type of a random link gets raw bytes). */
export function linkFrame(linkType: number, ip: Buffer, rng: Rng): Buffer {
  const v6 = ip[0] >> 4 === 6;
  switch (linkType) {
    case LinkType.ETHERNET:
      // Up to five tags: the decoder walks four, so the limit itself gets mutated too.
      return ethernet(ip, rng.pick(VLAN_STACKS));
    case LinkType.LINUX_SLL: {
      const h = Buffer.from('00040001000602000000000100000000', 'hex');
      h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 14);
      return Buffer.concat([h, ip]);
    }
    case LinkType.LINUX_SLL2: {
      const h = Buffer.from('0000000000000003000104060200000000010000', 'hex');
      h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 0);
      return Buffer.concat([h, ip]);
    }
    case LinkType.NULL: {
      const h = Buffer.alloc(4);
      const af = v6 ? rng.pick([10, 24, 28, 30]) : 2;
      if (rng.chance(0.8)) h.writeUInt32LE(af, 0);
      else h.writeUInt32BE(af, 0);
      return Buffer.concat([h, ip]);
    }
    case LinkType.LOOP: {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? rng.pick([10, 24, 28, 30]) : 2, 0);
      return Buffer.concat([h, ip]);
    }
    case LinkType.RAW:
    case LinkType.RAW_DLT12:
    case LinkType.RAW_DLT14:
      return Buffer.from(ip);
    case LinkType.IPV4:
    case LinkType.IPV6:
      return Buffer.from(ip);
    case LinkType.C_HDLC: {
      const h = Buffer.from([rng.chance(0.9) ? 0x0f : 0x8f, 0, 0, 0]);
      h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 2);
      return Buffer.concat([h, ip]);
    }
    default:
      return Buffer.concat([rng.bytes(rng.below(24)), ip]);
  }
}

/** Every link type the decoder knows (the fuzz targets add random ones). */
export const FUZZ_LINK_TYPES: readonly number[] = [
  LinkType.NULL,
  LinkType.ETHERNET,
  LinkType.RAW_DLT12,
  LinkType.RAW_DLT14,
  LinkType.RAW,
  LinkType.LOOP,
  LinkType.LINUX_SLL,
  LinkType.LINUX_SLL2,
  LinkType.C_HDLC,
  LinkType.IPV4,
  LinkType.IPV6,
];

/** Any link type: mostly known ones, sometimes a random 16-bit value. */
export function randomLinkType(rng: Rng): number {
  return rng.chance(0.85) ? rng.pick(FUZZ_LINK_TYPES) : rng.below(0x10000);
}

/** A valid frame for `linkType`: one of the IP seeds under its link header, or ARP on Ethernet. */
export function seedFrame(rng: Rng, linkType: number, seeds: readonly Buffer[] = ipSeeds()): Buffer {
  if (linkType === LinkType.ETHERNET && rng.chance(0.05)) return Buffer.from(ARP);
  if (linkType === LinkType.ETHERNET && rng.chance(0.05))
    return rng.pick(pppoeFrames(seeds[0], seeds[seeds.length - 1]));
  return linkFrame(linkType, rng.pick(seeds), rng);
}

// ---- Seed corpus: valid capture files ----------------------------------------------------

const T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs

function records(rng: Rng, linkTypes: readonly number[], seeds: readonly Buffer[]): Rec[] {
  const n = rng.range(0, 12);
  const recs: Rec[] = [];
  let ts = T0 + rng.below(1_000_000);
  for (let i = 0; i < n; i++) {
    ts += rng.below(rng.chance(0.1) ? 200_000_000 : 50_000);
    const iface = rng.below(linkTypes.length);
    const data = seedFrame(rng, linkTypes[iface], seeds);
    // Some records are snaplen-cut: caplen below the original length.
    const cut = rng.chance(0.2) ? rng.below(data.length) : data.length;
    recs.push({ tsUs: ts, data: data.subarray(0, cut), origLen: data.length, iface });
  }
  if (rng.chance(0.3)) {
    const conv = tcpConversation({ ...V4, sport: rng.range(1024, 65535), dport: 443, t0: ts });
    if (linkTypes[0] === LinkType.ETHERNET) recs.push(...conv.map((r) => ({ ...r, iface: 0 })));
  }
  return recs;
}

/** Alexey Kuznetsov's patched pcap: magic a1b2cd34 and 24-byte record headers (ifindex, protocol, type, pad). */
function kuznetsovFile(recs: Rec[], linkType: number): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2cd34, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [hdr];
  for (const r of recs) {
    const rh = Buffer.alloc(24);
    rh.writeUInt32LE(Math.floor(r.tsUs / 1e6), 0);
    rh.writeUInt32LE(r.tsUs % 1e6, 4);
    rh.writeUInt32LE(r.data.length, 8);
    rh.writeUInt32LE(r.origLen ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  return Buffer.concat(parts);
}

/** A valid classic pcap: either byte order, µs or ns, sometimes the Kuznetsov variant. */
export function seedPcap(rng: Rng, seeds: readonly Buffer[] = ipSeeds()): Buffer {
  const linkType = rng.pick(FUZZ_LINK_TYPES);
  const recs = records(rng, [linkType], seeds);
  if (rng.chance(0.1)) return kuznetsovFile(recs, linkType);
  return pcapFile(recs, {
    bigEndian: rng.chance(0.5),
    nano: rng.chance(0.5),
    linkType: linkType | (rng.chance(0.1) ? 0x14000000 : 0), // sometimes FCS bits above the link type
    snaplen: rng.pick([65535, 262144, 1500, 0]),
  });
}

const TSRESOL = [undefined, 3, 6, 9, 0x80 | 10, 0x80 | 20];

/** A valid pcapng: 1–3 interfaces, either byte order, EPB/SPB/OPB, other blocks, sometimes two sections. */
export function seedPcapng(rng: Rng, seeds: readonly Buffer[] = ipSeeds()): Buffer {
  const sections: Buffer[] = [];
  const count = rng.chance(0.2) ? 2 : 1;
  for (let s = 0; s < count; s++) {
    const block = rng.pick(['epb', 'epb', 'spb', 'opb'] as const);
    const n = block === 'spb' ? 1 : rng.range(1, 3);
    const ifaces: NgInterface[] = [];
    for (let i = 0; i < n; i++) {
      ifaces.push({
        linkType: i === 0 && rng.chance(0.5) ? LinkType.ETHERNET : rng.pick(FUZZ_LINK_TYPES),
        tsresol: rng.pick(TSRESOL),
        snaplen: rng.pick([0, 96, 262144]),
      });
    }
    const bigEndian = rng.chance(0.5);
    const recs = records(
      rng,
      ifaces.map((i) => i.linkType),
      seeds,
    );
    sections.push(pcapngFile(ifaces, recs, { bigEndian, block, extraBlocks: otherBlocks(rng, bigEndian) }));
  }
  return Buffer.concat(sections);
}

/** Name resolution, statistics, custom and unregistered blocks, in the section's byte order. */
function otherBlocks(rng: Rng, bigEndian: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let i = rng.below(3); i > 0; i--) {
    const bodyLen = 4 * rng.below(6);
    const len = 12 + bodyLen;
    const b = Buffer.alloc(len);
    const w32 = (v: number, at: number) => (bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
    w32(rng.pick([4, 5, 0x0a, 0xbad, 0x40000bad, 0x7777]), 0);
    w32(len, 4);
    rng.bytes(bodyLen).copy(b, 8);
    w32(len, len - 4);
    out.push(b);
  }
  return out;
}

// ---- Seed corpus: the real captures ------------------------------------------------------

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Every input capture under test/fixtures except the deliberately broken ones in bad/. */
export function fixtureCaptures(): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const group of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!group.isDirectory() || group.name === 'bad') continue;
    for (const kase of readdirSync(join(FIXTURES, group.name)).sort()) {
      for (const file of ['input.pcap', 'input.pcapng']) {
        try {
          out.push({
            name: `${group.name}/${kase}/${file}`,
            bytes: readFileSync(join(FIXTURES, group.name, kase, file)),
          });
        } catch {
          // a fixture has one of the two
        }
      }
    }
  }
  return out;
}

/** The frames of real captures by link type, copied out with the product's own reader. */
export function fixtureFrames(captures: { bytes: Buffer }[]): Map<number, Buffer[]> {
  const byLink = new Map<number, Buffer[]>();
  for (const c of captures) {
    const reader = new CaptureReader({
      packet(buf, off, caplen, _origLen, _tsUs, linkType) {
        const frames = byLink.get(linkType) ?? [];
        byLink.set(linkType, frames);
        frames.push(Buffer.from(buf.subarray(off, off + caplen)));
      },
    });
    reader.push(c.bytes);
    reader.end();
  }
  return byLink;
}
