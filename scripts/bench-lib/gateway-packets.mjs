// Packet and message builders for the gateway-shaped benchmark capture
// (gateway.mjs): Ethernet II, IPv4 (RFC 791, header checksum), IPv6
// (RFC 8200), TCP (RFC 9293, no options), UDP (RFC 768), DNS messages
// (RFC 1035 §4.1), a TLS 1.3 ClientHello (RFC 8446 §4.1.2, SNI RFC 6066 §3,
// ALPN RFC 7301), and protected QUIC v1 client Initials (RFC 9000 §17.2.2,
// RFC 9001 §5). Checksums of TCP and UDP are left zero: no reader here
// checks them. Everything is deterministic given the caller's random source.

import { createCipheriv } from 'node:crypto';
import { clientInitialSecrets } from '../../agent/dist/names/quic-keys.js';

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
export const ETH_ARP = 0x0806;
export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 };

/** A host: MAC (6 bytes), address (4 or 16 bytes). */
export function host(mac, addr) {
  return { mac, addr };
}

function ipv4Checksum(b, off) {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) if (i !== 10) sum += (b[off + i] << 8) | b[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, off + 10);
}

/** Ethernet + IP header for `l4Len` bytes of transport; returns [buffer, offset of the transport header]. */
function ipFrame(src, dst, proto, l4Len, ipId) {
  const v6 = src.addr.length === 16;
  const ipLen = v6 ? 40 : 20;
  const b = Buffer.alloc(14 + ipLen + l4Len);
  dst.mac.copy(b, 0);
  src.mac.copy(b, 6);
  b.writeUInt16BE(v6 ? ETH_IPV6 : ETH_IPV4, 12);
  if (v6) {
    b.writeUInt32BE(0x60000000, 14);
    b.writeUInt16BE(l4Len, 18);
    b[20] = proto;
    b[21] = 64;
    src.addr.copy(b, 22);
    dst.addr.copy(b, 38);
  } else {
    b[14] = 0x45;
    b.writeUInt16BE(20 + l4Len, 16);
    b.writeUInt16BE(ipId & 0xffff, 18);
    b.writeUInt16BE(0x4000, 20); // don't fragment
    b[22] = 64;
    b[23] = proto;
    src.addr.copy(b, 26);
    dst.addr.copy(b, 30);
    ipv4Checksum(b, 14);
  }
  return [b, 14 + ipLen];
}

export function tcpPacket(src, dst, sport, dport, seq, ack, flags, payload, ipId) {
  const [b, o] = ipFrame(src, dst, TCP, 20 + payload.length, ipId);
  b.writeUInt16BE(sport, o);
  b.writeUInt16BE(dport, o + 2);
  b.writeUInt32BE(seq >>> 0, o + 4);
  b.writeUInt32BE(ack >>> 0, o + 8);
  b[o + 12] = 5 << 4;
  b[o + 13] = flags;
  b.writeUInt16BE(64240, o + 14);
  payload.copy(b, o + 20);
  return b;
}

export function udpPacket(src, dst, sport, dport, payload, ipId) {
  const [b, o] = ipFrame(src, dst, UDP, 8 + payload.length, ipId);
  b.writeUInt16BE(sport, o);
  b.writeUInt16BE(dport, o + 2);
  b.writeUInt16BE(8 + payload.length, o + 4);
  payload.copy(b, o + 8);
  return b;
}

/** ICMP echo request (type 8) or reply (0) for IPv4. */
export function icmpEcho(src, dst, reply, id, seq, ipId) {
  const [b, o] = ipFrame(src, dst, ICMP, 8 + 56, ipId);
  b[o] = reply ? 0 : 8;
  b.writeUInt16BE(id, o + 4);
  b.writeUInt16BE(seq, o + 6);
  return b;
}

/** ARP who-has (RFC 826) from `src` for `targetAddr`, broadcast. */
export function arpRequest(src, targetAddr) {
  const b = Buffer.alloc(42);
  b.fill(0xff, 0, 6);
  src.mac.copy(b, 6);
  b.writeUInt16BE(ETH_ARP, 12);
  b.writeUInt16BE(1, 14);
  b.writeUInt16BE(ETH_IPV4, 16);
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(1, 20);
  src.mac.copy(b, 22);
  src.addr.copy(b, 28);
  targetAddr.copy(b, 38);
  return b;
}

function dnsName(name) {
  const parts = name.split('.');
  const b = Buffer.alloc(name.length + 2);
  let o = 0;
  for (const p of parts) {
    b[o++] = p.length;
    o += b.write(p, o, 'ascii');
  }
  b[o] = 0;
  return b;
}

export const DnsType = { A: 1, CNAME: 5, PTR: 12, AAAA: 28, SRV: 33, ANY: 255 };

/** A DNS query (RD set). */
export function dnsQuery(id, name, type) {
  const q = dnsName(name);
  const b = Buffer.alloc(12 + q.length + 4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100, 2);
  b.writeUInt16BE(1, 4);
  q.copy(b, 12);
  b.writeUInt16BE(type, 12 + q.length);
  b.writeUInt16BE(1, 14 + q.length);
  return b;
}

/**
 * A DNS response to `dnsQuery(id, name, type)`: an optional CNAME chain, then
 * one record per address (A or AAAA per its length). No addresses: NOERROR, no data.
 */
export function dnsResponse(id, name, type, cnames, addrs, ttl) {
  const parts = [];
  const q = dnsName(name);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x8180, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(cnames.length + addrs.length, 6);
  const qt = Buffer.alloc(4);
  qt.writeUInt16BE(type, 0);
  qt.writeUInt16BE(1, 2);
  parts.push(head, q, qt);
  let owner = Buffer.from([0xc0, 0x0c]);
  const rr = (rtype, rdata) => {
    const f = Buffer.alloc(10);
    f.writeUInt16BE(rtype, 0);
    f.writeUInt16BE(1, 2);
    f.writeUInt32BE(ttl, 4);
    f.writeUInt16BE(rdata.length, 8);
    parts.push(owner, f, rdata);
  };
  for (const c of cnames) {
    const target = dnsName(c);
    rr(DnsType.CNAME, target);
    owner = target;
  }
  for (const a of addrs) rr(a.length === 16 ? DnsType.AAAA : DnsType.A, a);
  return Buffer.concat(parts);
}

/** An mDNS/LLMNR-style query (id 0 for mDNS), no RD. */
export function mdnsQuery(id, name, type) {
  const b = dnsQuery(id, name, type);
  b.writeUInt16BE(0, 2);
  return b;
}

const CIPHERS = [
  0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
  0x0035,
];

function ext(type, body) {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function u16list(values, lenBytes = 2) {
  const b = Buffer.alloc(lenBytes + values.length * 2);
  if (lenBytes === 2) b.writeUInt16BE(values.length * 2, 0);
  else b[0] = values.length * 2;
  for (let i = 0; i < values.length; i++) b.writeUInt16BE(values[i], lenBytes + i * 2);
  return b;
}

function alpnList(protos) {
  const items = Buffer.concat(protos.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
  const b = Buffer.alloc(2);
  b.writeUInt16BE(items.length, 0);
  return Buffer.concat([b, items]);
}

/** A TLS 1.3 ClientHello handshake message (no record header) for `sni`; `quic` adds transport parameters and h3. */
export function clientHello(sni, random, quic) {
  const name = Buffer.from(sni, 'ascii');
  const sniBody = Buffer.alloc(5 + name.length);
  sniBody.writeUInt16BE(3 + name.length, 0);
  sniBody[2] = 0;
  sniBody.writeUInt16BE(name.length, 3);
  name.copy(sniBody, 5);
  const keyShare = Buffer.alloc(2 + 4 + 32);
  keyShare.writeUInt16BE(36, 0);
  keyShare.writeUInt16BE(0x001d, 2);
  keyShare.writeUInt16BE(32, 4);
  random.copy(keyShare, 6, 0, 32);
  const exts = [
    ext(0x0000, sniBody),
    ext(0x000a, u16list([0x001d, 0x0017, 0x0018])),
    ext(0x000d, u16list([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])),
    ext(0x0010, alpnList(quic ? ['h3'] : ['h2', 'http/1.1'])),
    ext(0x002b, u16list(quic ? [0x0304] : [0x0304, 0x0303], 1)),
    ext(0x0033, keyShare),
    ext(0x002d, Buffer.from([1, 1])),
  ];
  if (quic) exts.push(ext(0x0039, Buffer.from([0x01, 0x02, 0x67, 0x10, 0x04, 0x04, 0x80, 0x0f, 0x00, 0x00])));
  else exts.push(ext(0x000b, Buffer.from([1, 0])), ext(0x0017, Buffer.alloc(0)), ext(0xff01, Buffer.from([0])));
  const extBytes = Buffer.concat(exts);
  const sid = quic ? Buffer.from([0]) : Buffer.concat([Buffer.from([32]), random.subarray(0, 32)]);
  const suites = quic ? u16list([0x1301, 0x1302, 0x1303]) : u16list(CIPHERS);
  const extLen = Buffer.alloc(2);
  extLen.writeUInt16BE(extBytes.length, 0);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    random.subarray(0, 32),
    sid,
    suites,
    Buffer.from([1, 0]),
    extLen,
    extBytes,
  ]);
  const hs = Buffer.alloc(4);
  hs[0] = 1;
  hs.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([hs, body]);
}

/** A TLS record of `type` (0x16 handshake, 0x17 application data). */
export function tlsRecord(type, body) {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(0x0303, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

function varint(v) {
  if (v < 0x40) return Buffer.from([v]);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(0x4000 | v, 0);
  return b;
}

/** A protected QUIC v1 client Initial carrying `hello` in one CRYPTO frame, padded to 1,250 bytes (RFC 9000 §14.1). */
export function quicClientInitial(dcid, scid, hello) {
  const keys = clientInitialSecrets(1, dcid);
  const pnLen = 1;
  const crypto = Buffer.concat([Buffer.from([0x06, 0x00]), varint(hello.length), hello]);
  const fixed = 1 + 4 + 1 + dcid.length + 1 + scid.length + 1 + 2;
  const payload = Buffer.alloc(1250 - fixed - pnLen - 16);
  crypto.copy(payload, 0);
  const header = Buffer.alloc(fixed + pnLen);
  let o = 0;
  header[o++] = 0xc0 | (pnLen - 1);
  header.writeUInt32BE(1, o);
  o += 4;
  header[o++] = dcid.length;
  o += dcid.copy(header, o);
  header[o++] = scid.length;
  o += scid.copy(header, o);
  header[o++] = 0; // token length
  header.writeUInt16BE(0x4000 | (pnLen + payload.length + 16), o);
  o += 2;
  header[o] = 0; // packet number 0
  const aead = createCipheriv('aes-128-gcm', keys.key, keys.iv);
  aead.setAAD(header);
  const sealed = Buffer.concat([aead.update(payload), aead.final(), aead.getAuthTag()]);
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  ecb.setAutoPadding(false);
  const mask = ecb.update(sealed.subarray(4 - pnLen, 20 - pnLen));
  header[0] ^= mask[0] & 0x0f;
  header[o] ^= mask[1];
  return Buffer.concat([header, sealed]);
}

/** A server's long-header Initial (its contents opaque here: random bytes), `len` bytes in all. */
export function quicServerInitial(dcid, scid, filler) {
  const head = Buffer.concat([
    Buffer.from([0xc1, 0, 0, 0, 1, dcid.length]),
    dcid,
    Buffer.from([scid.length]),
    scid,
    Buffer.from([0]),
  ]);
  const rest = filler.length - head.length - 2;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(0x4000 | rest, 0);
  return Buffer.concat([head, len, filler.subarray(0, rest)]);
}

/** A short-header QUIC packet to `dcid` with opaque contents, `len` bytes. */
export function quicShort(dcid, filler, len) {
  const b = Buffer.alloc(len);
  filler.copy(b, 0, 0, len);
  b[0] = 0x40 | (b[0] & 0x3f);
  dcid.copy(b, 1);
  return b;
}
