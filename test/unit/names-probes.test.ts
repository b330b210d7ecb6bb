// The names stage's cheap first-byte probes, table-driven on real captures and
// on one-field variations of them: an HTTP CONNECT reply (names/connect.ts,
// RFC 9110 §9.3.6), a QUIC client's first datagram and a server's Version
// Negotiation (names/quic-probe.ts, RFC 9000 §17.2, RFC 9369 §3.2), and the
// encrypted-DNS verdict of a flow (names/encrypted-dns.ts, RFC 7858, 8484, 9250).
// Each probe is called at a non-zero offset inside junk, so a probe that reads
// before its offset or past its length gets the junk.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../../agent/src/decode/packet.js';
import { isConnectSuccess } from '../../agent/src/names/connect.js';
import { encryptedDnsOf } from '../../agent/src/names/encrypted-dns.js';
import {
  isVersionNegotiation,
  looksLikeLongHeader,
  MIN_INITIAL_DATAGRAM,
  probeQuicInitial,
  QuicProbe,
} from '../../agent/src/names/quic-probe.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

interface Payload {
  proto: number;
  srcPort: number;
  dstPort: number;
  bytes: Buffer;
}

/** Every transport payload of a fixture capture that has one, in capture order. */
function payloads(fixture: string): Payload[] {
  const out: Payload[] = [];
  const p = new Packet();
  const anomalies = new Anomalies();
  const reader = new CaptureReader(
    {
      packet(buf, off, caplen, _origLen, _tsUs, linkType) {
        if (decodePacket(buf, off, caplen, linkType, p, anomalies.counts) !== DecodeResult.TRANSPORT) return;
        if (p.payloadLen === 0) return;
        const bytes = Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen));
        out.push({ proto: p.proto, srcPort: p.srcPort, dstPort: p.dstPort, bytes });
      },
    },
    anomalies,
  );
  reader.push(readFileSync(`${FIXTURES_DIR}/${fixture}/input.pcap`));
  expect(reader.end()).toBeNull();
  return out;
}

/** `bytes` at offset 3 of a buffer whose other bytes are `fill`; the probe gets (buf, 3, len). */
function placed(bytes: Buffer, fill = 0x32): [Buffer, number, number] {
  return [Buffer.concat([Buffer.alloc(3, fill), bytes, Buffer.alloc(16, fill)]), 3, bytes.length];
}

const ascii = (s: string) => Buffer.from(s, 'latin1');

describe('HTTP CONNECT reply (names/connect.ts)', () => {
  // tinyproxy's real answer to a CONNECT (tunnel/connect-tinyproxy: client to proxy port 8888).
  const replies = payloads('tunnel/connect-tinyproxy').filter((x) => x.srcPort === 8888);
  const real = replies.find((x) => x.bytes.toString('latin1').startsWith('HTTP/1.'));

  it('the real proxy reply is a 2xx', () => {
    expect(real?.bytes.toString('latin1')).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(isConnectSuccess(...placed(real?.bytes ?? Buffer.alloc(0)))).toBe(true);
  });

  it.each([
    ['HTTP/1.1 200 Connection established\r\n\r\n', true],
    ['HTTP/1.0 299 x', true],
    ['HTTP/1.1 200', true], // exactly 12 bytes: the shortest status line
    ['HTTP/1.1 20', false], // 11 bytes
    ['HTTP/1.1 209', true],
    ['HTTP/1.1 301 Moved', false],
    ['HTTP/1.1 407 Proxy Authentication Required', false],
    ['HTTP/1.1 100 Continue', false],
    ['HTTP/2.0 200 OK', false],
    ['XTTP/1.1 200 OK', false],
    ['HTTP/1.1-200 OK', false],
    ['HTTP/1.1 2/0 OK', false], // '/' is just below '0'
    ['HTTP/1.1 2:0 OK', false], // ':' is just above '9'
    ['HTTP/1.1 20/ OK', false],
    ['HTTP/1.1 20: OK', false],
    ['HTTP/1.1 2x0 OK', false],
    ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00', false], // a TLS record, 12 bytes
  ])('%j → %s', (reply, ok) => {
    expect(isConnectSuccess(...placed(ascii(reply)))).toBe(ok);
  });

  it('reads only its own bytes: a status line cut at 11 bytes inside a longer buffer is no answer', () => {
    const buf = ascii('..HTTP/1.1 200 OK');
    expect(isConnectSuccess(buf, 2, 12)).toBe(true);
    expect(isConnectSuccess(buf, 2, 11)).toBe(false);
    expect(isConnectSuccess(buf, 1, 12)).toBe(false);
  });
});

describe('QUIC first-datagram probe (names/quic-probe.ts)', () => {
  const chromium = payloads('names/quic-chromium').filter((x) => x.proto === IpProto.UDP && x.dstPort === 443);
  const ngtcp2 = payloads('names/quic-ngtcp2').filter((x) => x.proto === IpProto.UDP && x.dstPort === 4433);
  const lookalikes = payloads('tunnel/quic-lookalikes');
  // The real QUIC client there offers a version the server does not speak; the server answers VN.
  const vn = lookalikes.find((x) => x.srcPort === 4433);
  const unknownVersion = lookalikes.find((x) => x.dstPort === 4433);

  /** A QUIC v1 Initial's first bytes, with `first` as its first byte and `version` as its version. */
  const header = (first: number, version: number, len = 1200) => {
    const b = Buffer.alloc(len, 0);
    b[0] = first;
    b.writeUInt32BE(version, 1);
    b[5] = 8; // DCID length
    return b;
  };
  const probe = (b: Buffer, datagramLen = b.length) => probeQuicInitial(...placed(b, 0xff), datagramLen);

  it('real clients: Chromium and ngtcp2 open with an Initial; the VN-provoking client has an unknown version', () => {
    expect(chromium.length).toBeGreaterThan(0);
    expect(ngtcp2.length).toBeGreaterThan(0);
    expect(probe(chromium[0].bytes)).toBe(QuicProbe.INITIAL);
    expect(probe(ngtcp2[0].bytes)).toBe(QuicProbe.INITIAL);
    expect(probe(unknownVersion?.bytes ?? Buffer.alloc(0))).toBe(QuicProbe.UNKNOWN_VERSION);
  });

  it('real look-alikes (NetBIOS, LLMNR) are not QUIC', () => {
    const small = lookalikes.filter((x) => x.dstPort === 137 || x.dstPort === 5355);
    expect(small.length).toBeGreaterThan(10);
    for (const x of small) expect(probe(x.bytes), `port ${x.dstPort}`).toBe(QuicProbe.NOT_QUIC);
  });

  it.each([
    ['v1 Initial (type 0)', header(0xc0, 0x00000001), QuicProbe.INITIAL],
    ['v1 0-RTT (type 1)', header(0xd0, 0x00000001), QuicProbe.NOT_QUIC],
    ['v1 Handshake (type 2)', header(0xe0, 0x00000001), QuicProbe.NOT_QUIC],
    ['v2 Initial (type 1, RFC 9369)', header(0xd0, 0x6b3343cf), QuicProbe.INITIAL],
    ['v2 type 0 (0-RTT in v2)', header(0xc0, 0x6b3343cf), QuicProbe.NOT_QUIC],
    ['version 0 (only servers send Version Negotiation)', header(0xc0, 0), QuicProbe.NOT_QUIC],
    ['an unknown version', header(0xc0, 0xff00001d), QuicProbe.UNKNOWN_VERSION],
    ['short header (high bit clear)', header(0x40, 0x00000001), QuicProbe.NOT_QUIC],
    ['7 bytes: the shortest long header', header(0xc0, 0x00000001, 7), QuicProbe.INITIAL],
    ['6 bytes', header(0xc0, 0x00000001, 6), QuicProbe.NOT_QUIC],
  ])('%s', (_name, bytes, want) => {
    expect(probe(bytes, MIN_INITIAL_DATAGRAM)).toBe(want);
  });

  it('a datagram below 1200 bytes is not a client Initial (RFC 9000 §14.1), whatever its header', () => {
    expect(MIN_INITIAL_DATAGRAM).toBe(1200);
    const b = chromium[0].bytes;
    expect(probe(b, 1200)).toBe(QuicProbe.INITIAL);
    expect(probe(b, 1199)).toBe(QuicProbe.NOT_QUIC);
    expect(probe(header(0xc0, 0xff00001d), 1199)).toBe(QuicProbe.NOT_QUIC);
  });

  it.each([
    ['the real server Version Negotiation', vn?.bytes ?? Buffer.alloc(0), true],
    ['a v1 Initial', header(0xc0, 0x00000001), false],
    ['version 0 with the high bit clear', header(0x40, 0), false],
    ['version 0, 7 bytes', header(0x80, 0, 7), true],
    ['version 0, 6 bytes', header(0x80, 0, 6), false],
  ])('Version Negotiation: %s → %s', (_name, bytes, want) => {
    expect(isVersionNegotiation(...placed(bytes, 0))).toBe(want);
  });

  it.each([
    [[0xc0], true],
    [[0xff], true],
    [[0x80], false], // a long header bit alone: look-alikes are counted only with both bits
    [[0x40], false],
    [[0x00], false],
    [[], false],
  ])('looks like a long header: first byte %j → %s', (first, want) => {
    expect(looksLikeLongHeader(...placed(Buffer.from(first), 0xff))).toBe(want);
  });
});

describe('encrypted DNS verdict (names/encrypted-dns.ts)', () => {
  it.each([
    // proto, port, address, app protocol, SNI → verdict
    ['TCP', 853, '192.0.2.53', null, null, 'dot'],
    ['UDP', 853, '192.0.2.53', null, null, 'doq'],
    ['UDP', 853, '192.0.2.53', 'quic', 'dns.example.org', 'doq'],
    ['ICMP', 853, '192.0.2.53', null, null, null],
    ['TCP', 443, '192.0.2.53', 'tls', 'dns.google', 'doh'],
    ['UDP', 443, '192.0.2.53', 'quic', 'cloudflare-dns.com', 'doh'],
    ['TCP', 443, '192.0.2.53', 'tls', 'eu.dns.nextdns.io', 'doh'], // a subdomain of a DoH name
    ['TCP', 443, '192.0.2.53', 'tls', 'notdns.google.example.org', null],
    ['TCP', 443, '8.8.8.8', 'tls', null, 'doh'], // no SNI: the resolver's address says it
    ['TCP', 443, '2606:4700:4700::1111', 'tls', null, 'doh'],
    ['TCP', 443, '8.8.8.8', 'tls', 'www.example.org', null], // an SNI that names something else wins
    ['TCP', 443, '192.0.2.53', 'tls', null, null],
    ['TCP', 80, '8.8.8.8', 'http', 'dns.google', null], // plain HTTP is readable: not hidden
    ['TCP', 443, '8.8.8.8', null, null, null],
    ['TCP', null, '8.8.8.8', 'tls', null, 'doh'],
  ] as const)('%s %s %s %s %s → %s', (proto, port, ip, app, sni, want) => {
    expect(encryptedDnsOf(proto, port, ip, app, sni)).toBe(want);
  });
});
