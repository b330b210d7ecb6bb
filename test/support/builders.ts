// Test-only encoders: packets (Ethernet/IPv4/IPv6/TCP/UDP/ICMP) and capture
// files (pcap in both byte orders and resolutions, pcapng with several
// interfaces, EPB/SPB/OPB, either byte order). Used for annotated vectors,
// round trips and fuzz seeds. Checksums are left zero: nothing here checks them.

export interface Endpoints {
  src: string;
  dst: string;
}

export function ipv4Bytes(a: string): number[] {
  const parts = a.split('.').map(Number);
  if (parts.length !== 4) throw new Error(`bad IPv4 ${a}`);
  return parts;
}

export function ipv6Bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

export const isV6 = (a: string) => a.includes(':');

export interface TcpOpts extends Endpoints {
  sport: number;
  dport: number;
  flags: number;
  payload?: Buffer;
  seq?: number;
}

export function tcpSegment(o: TcpOpts): { proto: number; bytes: Buffer } {
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE(o.seq ?? 1000, 4);
  h[12] = 5 << 4; // data offset: 5 words
  h[13] = o.flags;
  h.writeUInt16BE(65535, 14); // window
  return { proto: 6, bytes: Buffer.concat([h, payload]) };
}

export function udpDatagram(o: Endpoints & { sport: number; dport: number; payload?: Buffer }) {
  const payload = o.payload ?? Buffer.alloc(0);
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return { proto: 17, bytes: Buffer.concat([h, payload]) };
}

export function icmpEcho(o: { v6: boolean; reply: boolean; id: number; seq: number }) {
  const h = Buffer.alloc(8 + 16);
  h[0] = o.v6 ? (o.reply ? 129 : 128) : o.reply ? 0 : 8;
  h.writeUInt16BE(o.id, 4);
  h.writeUInt16BE(o.seq, 6);
  return { proto: o.v6 ? 58 : 1, bytes: h };
}

export function ipPacket(
  e: Endpoints,
  l4: { proto: number; bytes: Buffer },
  opts: { fragOffset?: number; mf?: boolean } = {},
) {
  if (isV6(e.src)) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(l4.bytes.length, 4);
    h[6] = l4.proto;
    h[7] = 64;
    Buffer.from(ipv6Bytes(e.src)).copy(h, 8);
    Buffer.from(ipv6Bytes(e.dst)).copy(h, 24);
    return Buffer.concat([h, l4.bytes]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.bytes.length, 2);
  h.writeUInt16BE((opts.mf ? 0x2000 : 0) | ((opts.fragOffset ?? 0) & 0x1fff), 6);
  h[8] = 64;
  h[9] = l4.proto;
  Buffer.from(ipv4Bytes(e.src)).copy(h, 12);
  Buffer.from(ipv4Bytes(e.dst)).copy(h, 16);
  return Buffer.concat([h, l4.bytes]);
}

export function ethernet(ip: Buffer, vlanTags: number[] = []): Buffer {
  const macs = Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  const tags = vlanTags.map((tpid, i) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(tpid, 0);
    t.writeUInt16BE(100 + i, 2);
    return t;
  });
  const type = Buffer.alloc(2);
  type.writeUInt16BE(ip[0] >> 4 === 6 ? 0x86dd : 0x0800, 0);
  return Buffer.concat([macs, ...tags, type, ip]);
}

export interface Rec {
  tsUs: number;
  data: Buffer;
  origLen?: number;
  iface?: number;
}

export function pcapFile(
  recs: Rec[],
  o: { bigEndian?: boolean; nano?: boolean; linkType?: number; snaplen?: number } = {},
): Buffer {
  const be = o.bigEndian ?? false;
  const w32 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt32BE(v, off) : b.writeUInt32LE(v, off));
  const w16 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off));
  const hdr = Buffer.alloc(24);
  w32(hdr, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(hdr, 2, 4);
  w16(hdr, 4, 6);
  w32(hdr, o.snaplen ?? 262144, 16);
  w32(hdr, o.linkType ?? 1, 20);
  const parts: Buffer[] = [hdr];
  for (const r of recs) {
    const rh = Buffer.alloc(16);
    const sec = Math.floor(r.tsUs / 1e6);
    const us = r.tsUs - sec * 1e6;
    w32(rh, sec, 0);
    w32(rh, o.nano ? us * 1000 : us, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.origLen ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  return Buffer.concat(parts);
}

export interface NgInterface {
  linkType: number;
  tsresol?: number; // raw if_tsresol byte
  snaplen?: number;
}

export function pcapngFile(
  ifaces: NgInterface[],
  recs: Rec[],
  o: { bigEndian?: boolean; block?: 'epb' | 'spb' | 'opb'; extraBlocks?: Buffer[] } = {},
): Buffer {
  const be = o.bigEndian ?? false;
  const w32 = (b: Buffer, v: number, off: number) =>
    be ? b.writeUInt32BE(v >>> 0, off) : b.writeUInt32LE(v >>> 0, off);
  const w16 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off));
  const block = (type: number, body: Buffer) => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    w32(b, type, 0);
    w32(b, len, 4);
    body.copy(b, 8);
    w32(b, len, len - 4);
    return b;
  };
  const shbBody = Buffer.alloc(16);
  w32(shbBody, 0x1a2b3c4d, 0);
  w16(shbBody, 1, 4);
  w16(shbBody, 0, 6);
  shbBody.fill(0xff, 8, 16); // section length unknown (-1)
  const parts: Buffer[] = [block(0x0a0d0d0a, shbBody)];
  for (const i of ifaces) {
    const opts: Buffer[] = [];
    if (i.tsresol !== undefined) {
      const opt = Buffer.alloc(8);
      w16(opt, 9, 0);
      w16(opt, 1, 2);
      opt[4] = i.tsresol;
      opts.push(opt);
    }
    if (opts.length) opts.push(Buffer.alloc(4)); // opt_endofopt
    const body = Buffer.alloc(8);
    w16(body, i.linkType, 0);
    w32(body, i.snaplen ?? 262144, 4);
    parts.push(block(1, Buffer.concat([body, ...opts])));
  }
  for (const b of o.extraBlocks ?? []) parts.push(b);
  for (const r of recs) {
    const iface = ifaces[r.iface ?? 0];
    const res = iface?.tsresol ?? 6;
    const units =
      res & 0x80
        ? (BigInt(r.tsUs) * 2n ** BigInt(res & 0x7f)) / 1_000_000n
        : (BigInt(r.tsUs) * 10n ** BigInt(res)) / 1_000_000n;
    const hi = Number(units >> 32n);
    const lo = Number(units & 0xffffffffn);
    if (o.block === 'spb') {
      const body = Buffer.alloc(4);
      w32(body, r.origLen ?? r.data.length, 0);
      parts.push(block(3, Buffer.concat([body, r.data])));
    } else {
      const body = Buffer.alloc(20);
      if (o.block === 'opb') {
        w16(body, r.iface ?? 0, 0);
        w16(body, 0, 2);
      } else w32(body, r.iface ?? 0, 0);
      w32(body, hi, 4);
      w32(body, lo, 8);
      w32(body, r.data.length, 12);
      w32(body, r.origLen ?? r.data.length, 16);
      parts.push(block(o.block === 'opb' ? 2 : 6, Buffer.concat([body, r.data])));
    }
  }
  return Buffer.concat(parts);
}

/** A tiny TCP conversation: handshake, one request, one response, FIN both ways. */
export function tcpConversation(e: Endpoints & { sport: number; dport: number; t0: number }): Rec[] {
  const c = { src: e.src, dst: e.dst };
  const s = { src: e.dst, dst: e.src };
  const cs = { sport: e.sport, dport: e.dport };
  const sc = { sport: e.dport, dport: e.sport };
  const SYN = 2;
  const ACK = 16;
  const FIN = 1;
  const PSH = 8;
  // Sequence numbers as a real stack sends them: SYN and FIN take one, data its length.
  const seq = { c: 1000, s: 5000 };
  const pk = (ep: Endpoints, ports: { sport: number; dport: number }, flags: number, payload?: Buffer) => {
    const side = ep === c ? 'c' : 's';
    const frame = ethernet(ipPacket(ep, tcpSegment({ ...ep, ...ports, flags, payload, seq: seq[side] })));
    seq[side] += (payload?.length ?? 0) + (flags & (SYN | FIN) ? 1 : 0);
    return frame;
  };
  const frames = [
    pk(c, cs, SYN),
    pk(s, sc, SYN | ACK),
    pk(c, cs, ACK),
    pk(c, cs, PSH | ACK, Buffer.from('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n')),
    pk(s, sc, PSH | ACK, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')),
    pk(c, cs, FIN | ACK),
    pk(s, sc, FIN | ACK),
    pk(c, cs, ACK),
  ];
  return frames.map((data, i) => ({ tsUs: e.t0 + i * 1000, data }));
}
