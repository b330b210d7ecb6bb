// DNS for the names stage: the message parser (RFC 1035 §4, RFC 3596) on
// annotated byte vectors, the TCP framing (RFC 7766 §8) split at every byte,
// the per-client answer cache, the two dig-against-dnsmasq captures checked
// against tshark, and a seeded fuzz run.
//
//   FUZZ_SEED=<u32>  FUZZ_ITERATIONS=<n>  (default 24,000 parser inputs)

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../agent/src/capture/reader.js';
import type { PacketSink } from '../../agent/src/capture/types.js';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { decodePacket } from '../../agent/src/decode/decode.js';
import { DecodeResult, IpProto, Packet } from '../../agent/src/decode/packet.js';
import { type DnsMessage, DnsType, parseDnsMessage } from '../../agent/src/names/dns.js';
import { DnsAnswerCache } from '../../agent/src/names/dns-cache.js';
import { DnsTcpFramer, readDnsTcpFrame } from '../../agent/src/names/dns-tcp.js';
import { u32be } from '../../agent/src/util/bytes.js';
import { formatIpv4, formatIpv6 } from '../../agent/src/util/ip.js';
import { ROOT } from '../support/cli.js';
import { caseRng, fuzzIterations, fuzzSeed, mutate, type Rng } from '../support/fuzz.js';

/** Bytes from annotated hex: `#` starts a comment; whitespace is ignored. */
function bytes(annotated: string): Buffer {
  const hex = annotated.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`not hex: ${hex}`);
  return Buffer.from(hex, 'hex');
}

/** Parse a whole buffer; the anomalies it counted, by name, beside the result. */
function parse(buf: Buffer) {
  const anomalies = new Anomalies();
  const message = parseDnsMessage(buf, 0, buf.length, anomalies);
  const counted = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n > 0));
  return { message, counted };
}

// ---- Vectors -------------------------------------------------------------------------------

const QUERY = bytes(`
  12 34                      # ID 0x1234
  01 00                      # flags: QR=0 query, opcode 0 QUERY, RD=1
  00 01                      # QDCOUNT 1
  00 00 00 00 00 00          # ANCOUNT 0, NSCOUNT 0, ARCOUNT 0
  03 77 77 77                # @12 label "www"
  07 65 78 61 6d 70 6c 65    # @16 label "example"
  03 6f 72 67                # @24 label "org"
  00                         # @28 root
  00 01                      # QTYPE A
  00 01                      # QCLASS IN
`);

const A_RESPONSE = bytes(`
  12 34                      # ID 0x1234
  81 80                      # flags: QR=1 response, opcode 0, RD=1, RA=1, RCODE 0 NOERROR
  00 01 00 01 00 00 00 00    # QDCOUNT 1, ANCOUNT 1, NSCOUNT 0, ARCOUNT 0
  03 57 77 57                # @12 label "WwW" (mixed case: names come out lowercased)
  07 45 78 61 6d 70 6c 65    # @16 label "Example"
  03 4f 52 47 00             # @24 label "ORG", root
  00 01 00 01                # QTYPE A, QCLASS IN
  c0 0c                      # @33 answer NAME: pointer to @12
  00 01                      # TYPE A
  00 01                      # CLASS IN
  00 00 0e 10                # TTL 3600
  00 04                      # RDLENGTH 4
  c0 00 02 50                # RDATA 192.0.2.80
`);

const AAAA_RESPONSE = bytes(`
  ab cd 81 80                # ID, flags: response, RD, RA, NOERROR
  00 01 00 02 00 00 00 00    # QDCOUNT 1, ANCOUNT 2
  03 77 77 77 07 65 78 61 6d 70 6c 65 03 6f 72 67 00   # @12 www.example.org
  00 1c 00 01                # QTYPE AAAA, QCLASS IN
  c0 0c 00 1c 00 01          # @33 NAME ptr @12, TYPE AAAA, CLASS IN
  00 00 01 2c 00 10          # TTL 300, RDLENGTH 16
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 80   # 2001:db8::80
  c0 0c 00 1c 00 01          # @61 NAME ptr @12, TYPE AAAA, CLASS IN
  00 00 01 2c 00 10          # TTL 300, RDLENGTH 16
  20 01 0d b8 00 00 00 00 00 01 00 00 00 00 00 01   # 2001:db8::1:0:0:1 (RFC 5952: first of two equal zero runs)
`);

/** dnsmasq's answer for cdn.example.org in the fixtures, rebuilt with a skipped TXT and an EDNS OPT. */
const CNAME_CHAIN = bytes(`
  b5 7e 81 80                # ID, flags: response, RD, RA, NOERROR
  00 01 00 04 00 00 00 01    # QDCOUNT 1, ANCOUNT 4, NSCOUNT 0, ARCOUNT 1
  03 63 64 6e                # @12 label "cdn"
  07 65 78 61 6d 70 6c 65    # @16 label "example"
  03 6f 72 67 00             # @24 label "org", root
  00 01 00 01                # QTYPE A, QCLASS IN
  # answer 1 @33: cdn.example.org CNAME edge.example.org
  c0 0c                      # NAME ptr @12
  00 05 00 01                # TYPE CNAME, CLASS IN
  00 00 00 3c 00 07          # TTL 60, RDLENGTH 7
  04 65 64 67 65 c0 10       # @45 label "edge", ptr @16 (example.org)
  # answer 2 @52: edge.example.org CNAME www.example.org
  c0 2d                      # NAME ptr @45, inside answer 1's RDATA
  00 05 00 01                # TYPE CNAME, CLASS IN
  00 00 00 3c 00 06          # TTL 60, RDLENGTH 6
  03 77 77 77 c0 10          # @64 label "www", ptr @16
  # answer 3 @70: www.example.org A 192.0.2.80
  c0 40                      # NAME ptr @64
  00 01 00 01                # TYPE A, CLASS IN
  00 00 00 00 00 04          # TTL 0 (as dnsmasq sends for its own records), RDLENGTH 4
  c0 00 02 50                # 192.0.2.80
  # answer 4 @86: cdn.example.org TXT, skipped by RDLENGTH
  c0 0c 00 10 00 01          # NAME ptr @12, TYPE TXT, CLASS IN
  00 00 00 3c 00 04          # TTL 60, RDLENGTH 4
  03 61 62 63                # "abc"
  # additional @102: OPT (RFC 6891), never read
  00 00 29 10 00 00 00 00 00 00 00
`);

/** A query whose question name is a pointer to itself. */
const SELF_POINTER = bytes(`
  00 01 01 00 00 01 00 00 00 00 00 00   # ID 1, query, QDCOUNT 1
  c0 0c                      # @12 pointer to @12: itself
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** Two pointers that point at each other. */
const MUTUAL_POINTERS = bytes(`
  00 01 01 00 00 01 00 00 00 00 00 00   # ID 1, query, QDCOUNT 1
  c0 0e                      # @12 pointer to @14 (forward)
  c0 0c                      # @14 pointer to @12
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** An A response whose answer NAME points at itself: the question is fine, the answer section is not. */
const ANSWER_POINTER_LOOP = Buffer.from(A_RESPONSE);
ANSWER_POINTER_LOOP.writeUInt16BE(0xc000 | 33, 33); // @33 pointer to @33

const POINTER_PAST_END = bytes(`
  00 02 01 00 00 01 00 00 00 00 00 00   # ID 2, query, QDCOUNT 1
  c0 ff                      # @12 pointer to @255; the message is 18 bytes
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** The answer's pointer is in bounds and points back, but the "name" there runs past the end of the message. */
const POINTED_NAME_PAST_END = bytes(`
  00 02 81 80 00 01 00 01 00 00 00 00   # ID 2, response, QDCOUNT 1, ANCOUNT 1
  01 61 00                   # @12 label "a", root
  00 01 00 3f                # QTYPE A, QCLASS 63: the byte @18 reads as a 63-byte label
  c0 12                      # @19 answer NAME: pointer to @18
  00 01 00 01 00 00 00 3c 00 04 c0 00 02 01   # A, IN, TTL 60, RDLENGTH 4, 192.0.2.1; the message ends @35
`);

const LABEL_64 = bytes(`
  00 03 01 00 00 01 00 00 00 00 00 00   # ID 3, query, QDCOUNT 1
  40                         # @12 length octet 0x40: top bits 01, no label is longer than 63 (RFC 1035 §2.3.4)
  61 61 61 61 00             # "aaaa", root
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** A name of the given label lengths ("a" repeated), root included. */
function nameOf(...lengths: number[]): Buffer {
  return Buffer.concat([...lengths.map((n) => Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61)])), Buffer.of(0)]);
}

/** A query for `name` (wire form), type A. */
function queryFor(name: Buffer): Buffer {
  return Buffer.concat([bytes('00 04 01 00 00 01 00 00 00 00 00 00'), name, bytes('00 01 00 01')]);
}

/** A message that cuts a record short: the header promises more than is there. */
const A_RESPONSE_CUT = A_RESPONSE.subarray(0, A_RESPONSE.length - 2);

// ---- Parser --------------------------------------------------------------------------------

describe('parseDnsMessage', () => {
  it('reads a query', () => {
    expect(parse(QUERY)).toEqual({
      message: {
        id: 0x1234,
        response: false,
        opcode: 0,
        rcode: 0,
        truncated: false,
        questions: [{ name: 'www.example.org', type: DnsType.A }],
        answers: [],
        partial: false,
      },
      counted: {},
    });
  });

  it('reads an A response with a compressed owner name, lowercasing names', () => {
    const { message, counted } = parse(A_RESPONSE);
    expect(counted).toEqual({});
    expect(message).toMatchObject({ id: 0x1234, response: true, rcode: 0, partial: false });
    expect(message?.questions).toEqual([{ name: 'www.example.org', type: DnsType.A }]);
    expect(message?.answers).toEqual([{ name: 'www.example.org', type: DnsType.A, ttl: 3600, address: '192.0.2.80' }]);
  });

  it('reads AAAA records as RFC 5952 text', () => {
    const { message, counted } = parse(AAAA_RESPONSE);
    expect(counted).toEqual({});
    expect(message?.answers).toEqual([
      { name: 'www.example.org', type: DnsType.AAAA, ttl: 300, address: '2001:db8::80' },
      { name: 'www.example.org', type: DnsType.AAAA, ttl: 300, address: '2001:db8::1:0:0:1' },
    ]);
  });

  it('follows compression pointers through a CNAME chain, skips other types, never reads the additional section', () => {
    const { message, counted } = parse(CNAME_CHAIN);
    expect(counted).toEqual({});
    expect(message?.partial).toBe(false);
    expect(message?.questions).toEqual([{ name: 'cdn.example.org', type: DnsType.A }]);
    expect(message?.answers).toEqual([
      { name: 'cdn.example.org', type: DnsType.CNAME, ttl: 60, target: 'edge.example.org' },
      { name: 'edge.example.org', type: DnsType.CNAME, ttl: 60, target: 'www.example.org' },
      { name: 'www.example.org', type: DnsType.A, ttl: 0, address: '192.0.2.80' },
    ]);
  });

  it('reads a message at an offset inside a larger buffer, pointers relative to the message', () => {
    const framed = Buffer.concat([Buffer.alloc(7, 0xee), CNAME_CHAIN, Buffer.alloc(5, 0xee)]);
    const anomalies = new Anomalies();
    expect(parseDnsMessage(framed, 7, CNAME_CHAIN.length, anomalies)).toEqual(parse(CNAME_CHAIN).message);
    expect(anomalies.total()).toBe(0);
  });

  it('drops a question whose pointer points at itself (dns.pointer_loop), and one of two pointers in a cycle', () => {
    expect(parse(SELF_POINTER)).toEqual({ message: null, counted: { 'dns.pointer_loop': 1 } });
    expect(parse(MUTUAL_POINTERS)).toEqual({ message: null, counted: { 'dns.pointer_loop': 1 } });
  });

  it('ends the answer section at an answer whose name loops: partial, questions kept', () => {
    const { message, counted } = parse(ANSWER_POINTER_LOOP);
    expect(counted).toEqual({ 'dns.pointer_loop': 1 });
    expect(message).toMatchObject({ partial: true, answers: [] });
    expect(message?.questions).toEqual([{ name: 'www.example.org', type: DnsType.A }]);
  });

  it('counts a pointer past the end of the message, or to a name that runs past it (dns.pointer_out_of_bounds)', () => {
    expect(parse(POINTER_PAST_END)).toEqual({ message: null, counted: { 'dns.pointer_out_of_bounds': 1 } });
    const { message, counted } = parse(POINTED_NAME_PAST_END);
    expect(counted).toEqual({ 'dns.pointer_out_of_bounds': 1 });
    expect(message).toMatchObject({ partial: true, questions: [{ name: 'a', type: DnsType.A }], answers: [] });
  });

  it('rejects a length octet over 63 (top bits 01 or 10) as dns.bad_label', () => {
    expect(parse(LABEL_64)).toEqual({ message: null, counted: { 'dns.bad_label': 1 } });
    const topBits10 = Buffer.from(LABEL_64);
    topBits10[12] = 0x81;
    expect(parse(topBits10).counted).toEqual({ 'dns.bad_label': 1 });
  });

  it('accepts a name of exactly 255 octets and rejects 256 (dns.name_too_long)', () => {
    const longest = nameOf(63, 63, 63, 61); // 4 × (1 + n) + root = 255
    expect(longest.length).toBe(255);
    const ok = parse(queryFor(longest));
    expect(ok.counted).toEqual({});
    expect(ok.message?.questions[0].name).toBe(
      ['a'.repeat(63), 'a'.repeat(63), 'a'.repeat(63), 'a'.repeat(61)].join('.'),
    );
    expect(parse(queryFor(nameOf(63, 63, 63, 62)))).toEqual({ message: null, counted: { 'dns.name_too_long': 1 } });
    expect(parse(queryFor(nameOf(63, 63, 63, 63, 63))).counted).toEqual({ 'dns.name_too_long': 1 });
  });

  it('counts a name that grows past 255 octets through a pointer', () => {
    // Question: the 255-octet name @12. Answer: label "a" then a pointer to it: 2 + 254 + 1 = 257 octets.
    const msg = Buffer.concat([
      bytes('00 05 81 80 00 01 00 01 00 00 00 00'), // response, QDCOUNT 1, ANCOUNT 1
      nameOf(63, 63, 63, 61), // @12
      bytes('00 01 00 01'), // QTYPE A, QCLASS IN
      bytes('01 61 c0 0c'), // NAME: label "a", pointer to @12
      bytes('00 01 00 01 00 00 00 3c 00 04 c0 00 02 01'), // A, IN, TTL 60, RDLENGTH 4, 192.0.2.1
    ]);
    const { message, counted } = parse(msg);
    expect(counted).toEqual({ 'dns.name_too_long': 1 });
    expect(message).toMatchObject({ partial: true, answers: [] });
  });

  it('escapes dots, backslashes and unprintable bytes inside labels, so a label never reads as two', () => {
    const msg = queryFor(bytes('03 61 2e 62   # "a.b"\n 02 20 5c   # space, backslash\n 03 43 4f 4d   # "COM"\n 00'));
    expect(parse(msg).message?.questions[0].name).toBe('a\\.b.\\032\\\\.com');
  });

  it('drops a message shorter than its 12-byte header (dns.trunc_header)', () => {
    expect(parse(QUERY.subarray(0, 11))).toEqual({ message: null, counted: { 'dns.trunc_header': 1 } });
    expect(parse(Buffer.alloc(0))).toEqual({ message: null, counted: { 'dns.trunc_header': 1 } });
  });

  it('drops a message whose question is cut off (dns.trunc_record)', () => {
    expect(parse(QUERY.subarray(0, QUERY.length - 3))).toEqual({ message: null, counted: { 'dns.trunc_record': 1 } });
  });

  it('returns the records before a cut-off answer, marked partial (dns.trunc_record)', () => {
    const one = parse(A_RESPONSE_CUT);
    expect(one.counted).toEqual({ 'dns.trunc_record': 1 });
    expect(one.message).toMatchObject({ partial: true, answers: [] });
    expect(one.message?.questions).toHaveLength(1);
    const two = parse(AAAA_RESPONSE.subarray(0, AAAA_RESPONSE.length - 8)); // second AAAA loses half its RDATA
    expect(two.counted).toEqual({ 'dns.trunc_record': 1 });
    expect(two.message?.partial).toBe(true);
    expect(two.message?.answers.map((a) => a.address)).toEqual(['2001:db8::80']);
  });

  it('ignores a message whose counts cannot fit in it (dns.trunc_record), without reading records', () => {
    const absurd = Buffer.from(A_RESPONSE);
    absurd.writeUInt16BE(0xffff, 6); // ANCOUNT 65535 in a 49-byte message
    expect(parse(absurd)).toEqual({ message: null, counted: { 'dns.trunc_record': 1 } });
    const manyQuestions = Buffer.from(QUERY);
    manyQuestions.writeUInt16BE(5, 4); // QDCOUNT 5: at least 25 bytes, 21 there
    expect(parse(manyQuestions)).toEqual({ message: null, counted: { 'dns.trunc_record': 1 } });
  });

  it('skips an A record of the wrong length and a CNAME whose name does not fill its RDATA (dns.bad_rdata)', () => {
    const msg = bytes(`
      00 06 81 80 00 01 00 03 00 00 00 00   # response, QDCOUNT 1, ANCOUNT 3
      03 77 77 77 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 01 00 01   # @12 www.example.org A IN
      c0 0c 00 01 00 01 00 00 00 3c 00 05   # @33 A, TTL 60, RDLENGTH 5: an A is 4 bytes
      c0 00 02 01 ff
      c0 0c 00 05 00 01 00 00 00 3c 00 07   # @50 CNAME, RDLENGTH 7
      03 78 79 7a c0 10 ff                  # "xyz" + ptr @16 is 6 bytes, 1 left over
      c0 0c 00 01 00 01 00 00 00 3c 00 04   # @69 A, TTL 60, RDLENGTH 4
      c0 00 02 02                           # 192.0.2.2: still read
    `);
    const { message, counted } = parse(msg);
    expect(counted).toEqual({ 'dns.bad_rdata': 2 });
    expect(message?.partial).toBe(false);
    expect(message?.answers).toEqual([{ name: 'www.example.org', type: DnsType.A, ttl: 60, address: '192.0.2.2' }]);
  });

  it('skips records of another class, and reads a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const msg = bytes(`
      00 07 81 80 00 01 00 02 00 00 00 00   # response, QDCOUNT 1, ANCOUNT 2
      03 77 77 77 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 01 00 01   # @12 www.example.org A IN
      c0 0c 00 01 00 03 00 00 00 3c 00 04   # A, CLASS 3 CH: skipped
      c0 00 02 01
      c0 0c 00 01 00 01 80 00 00 00 00 04   # A, IN, TTL 0x80000000
      c0 00 02 02
    `);
    expect(parse(msg)).toMatchObject({
      counted: {},
      message: { answers: [{ name: 'www.example.org', type: DnsType.A, ttl: 0, address: '192.0.2.2' }] },
    });
  });

  it('reads flags: opcode, rcode (NXDOMAIN), TC', () => {
    const nx = Buffer.from(QUERY);
    nx.writeUInt16BE(0x8183, 2); // QR, RD, RA, RCODE 3
    expect(parse(nx).message).toMatchObject({ response: true, opcode: 0, rcode: 3, truncated: false });
    const tc = Buffer.from(QUERY);
    tc.writeUInt16BE(0xaa00, 2); // QR, opcode 5 UPDATE, TC
    expect(parse(tc).message).toMatchObject({ response: true, opcode: 5, rcode: 0, truncated: true });
  });

  it('counts bad arguments as a cut-off header instead of reading outside the buffer', () => {
    const anomalies = new Anomalies();
    expect(parseDnsMessage(QUERY, -1, 20, anomalies)).toBeNull();
    expect(parseDnsMessage(QUERY, Number.NaN, 20, anomalies)).toBeNull();
    expect(parseDnsMessage(QUERY, 0, 1.5, anomalies)).toBeNull();
    expect(parseDnsMessage(QUERY, 30, 20, anomalies)).toBeNull(); // past the end: clipped to 3 bytes
    expect(anomalies.get('dns.trunc_header')).toBe(4);
    // A length past the buffer is clipped to it, never read beyond.
    expect(parseDnsMessage(QUERY, 0, 1000, anomalies)?.questions).toEqual([{ name: 'www.example.org', type: 1 }]);
  });
});

// ---- TCP framing ---------------------------------------------------------------------------

/** Each message with its RFC 7766 two-byte length prefix. */
function tcpStream(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

/** Push `stream` cut at `cuts` (sorted offsets); the messages, as hex, and the framer. */
function frame(stream: Buffer, cuts: number[]) {
  const anomalies = new Anomalies();
  const framer = new DnsTcpFramer(anomalies);
  const out: string[] = [];
  const bounds = [0, ...cuts, stream.length];
  for (let i = 1; i < bounds.length; i++) {
    // A copy per chunk: a message must not depend on a chunk the framer no longer has.
    for (const m of framer.push(Buffer.from(stream.subarray(bounds[i - 1], bounds[i])))) {
      out.push(Buffer.from(m).toString('hex'));
    }
  }
  return { out, framer, anomalies };
}

describe('DnsTcpFramer', () => {
  const stream = tcpStream(QUERY, CNAME_CHAIN);
  const whole = [QUERY.toString('hex'), CNAME_CHAIN.toString('hex')];

  it('yields both messages of one segment', () => {
    const { out, framer } = frame(stream, []);
    expect(out).toEqual(whole);
    expect(framer.buffered).toBe(0);
  });

  it('gives the same messages with the stream split at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) expect(frame(stream, [cut]).out, `cut at ${cut}`).toEqual(whole);
  });

  it('gives the same messages with the stream split at every pair of offsets, and byte by byte', () => {
    for (let a = 1; a < stream.length; a++) {
      for (let b = a; b < stream.length; b++) expect(frame(stream, [a, b]).out, `cuts ${a},${b}`).toEqual(whole);
    }
    const everyByte = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(frame(stream, everyByte).out).toEqual(whole);
  });

  it('holds what it has of an incomplete message, and nothing once it completes', () => {
    const { out, framer } = frame(stream.subarray(0, 2 + QUERY.length + 2 + 10), []);
    expect(out).toEqual([whole[0]]);
    expect(framer.buffered).toBe(12);
    expect(framer.push(stream.subarray(2 + QUERY.length + 2 + 10)).map((m) => Buffer.from(m).toString('hex'))).toEqual([
      whole[1],
    ]);
    expect(framer.buffered).toBe(0);
  });

  it('stops at a length prefix of 0 (dns.tcp_bad_length), wherever the split', () => {
    const bad = Buffer.concat([tcpStream(QUERY), Buffer.of(0, 0), tcpStream(QUERY)]);
    for (let cut = 0; cut <= bad.length; cut++) {
      const { out, framer, anomalies } = frame(bad, [cut]);
      expect(out, `cut at ${cut}`).toEqual([whole[0]]);
      expect(framer.failed).toBe(true);
      expect(anomalies.get('dns.tcp_bad_length')).toBe(1);
      expect(framer.push(tcpStream(QUERY))).toEqual([]);
    }
  });

  it('says how much a frame needs (readDnsTcpFrame)', () => {
    expect(readDnsTcpFrame(stream, 0, 1)).toEqual({ kind: 'need', bytes: 2 });
    expect(readDnsTcpFrame(stream, 0, 10)).toEqual({ kind: 'need', bytes: 2 + QUERY.length });
    expect(readDnsTcpFrame(stream, 0, stream.length)).toEqual({
      kind: 'done',
      value: { messageOff: 2, messageLen: QUERY.length, next: 2 + QUERY.length },
    });
    expect(readDnsTcpFrame(Buffer.of(0, 0), 0, 2)).toEqual({ kind: 'invalid', anomaly: 'dns.tcp_bad_length' });
  });
});

// ---- Answer cache --------------------------------------------------------------------------

const T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
const S = 1_000_000;
const CLIENT = '10.0.0.2';

/** A NOERROR response to `question` with the given answers, as parsed (the cache reads nothing else). */
function response(question: string, answers: DnsMessage['answers']): DnsMessage {
  return {
    id: 1,
    response: true,
    opcode: 0,
    rcode: 0,
    truncated: false,
    questions: [{ name: question, type: DnsType.A }],
    answers,
    partial: false,
  };
}
const a = (name: string, address: string, ttl = 3600) => ({ name, type: DnsType.A, ttl, address });
const cname = (name: string, target: string, ttl = 3600) => ({ name, type: DnsType.CNAME, ttl, target });

describe('DnsAnswerCache', () => {
  it('gives an address every name of the chain that led to it, for that client only', () => {
    const cache = new DnsAnswerCache();
    expect(cache.record(CLIENT, parse(CNAME_CHAIN).message!, T0)).toBe(3); // (address, name) pairs
    expect(cache.namesFor(CLIENT, '192.0.2.80', T0)).toEqual([
      'cdn.example.org',
      'edge.example.org',
      'www.example.org',
    ]);
    expect(cache.namesFor('10.0.0.3', '192.0.2.80', T0)).toEqual([]);
    expect(cache.namesFor(CLIENT, '192.0.2.81', T0)).toEqual([]);
  });

  it('follows CNAMEs in any order, ignores records off the chain, survives a CNAME loop', () => {
    const cache = new DnsAnswerCache();
    const msg = response('q.example', [
      a('y.example', '203.0.113.5'),
      cname('x.example', 'y.example'),
      cname('q.example', 'x.example'),
      a('unrelated.example', '203.0.113.6'), // not on the chain from the question
    ]);
    expect(cache.record(CLIENT, msg, T0)).toBe(3);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['q.example', 'x.example', 'y.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.6', T0)).toEqual([]);
    const loop = response('l1.example', [
      cname('l1.example', 'l2.example'),
      cname('l2.example', 'l1.example'),
      a('l2.example', '203.0.113.7'),
    ]);
    cache.record(CLIENT, loop, T0);
    expect(cache.namesFor(CLIENT, '203.0.113.7', T0)).toEqual(['l1.example', 'l2.example']);
  });

  it('adds names from later lookups, sorted and once each', () => {
    const cache = new DnsAnswerCache();
    cache.record(CLIENT, response('b.example', [a('b.example', '203.0.113.5')]), T0);
    cache.record(CLIENT, response('a.example', [a('a.example', '203.0.113.5')]), T0 + S);
    cache.record(CLIENT, response('b.example', [a('b.example', '203.0.113.5')]), T0 + 2 * S);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 3 * S)).toEqual(['a.example', 'b.example']);
    expect(cache.size).toBe(1);
  });

  it('learns nothing from queries, errors and other opcodes', () => {
    const cache = new DnsAnswerCache();
    const ok = response('a.example', [a('a.example', '203.0.113.5')]);
    expect(cache.record(CLIENT, { ...ok, response: false }, T0)).toBe(0);
    expect(cache.record(CLIENT, { ...ok, rcode: 3 }, T0)).toBe(0);
    expect(cache.record(CLIENT, { ...ok, opcode: 5 }, T0)).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('expires names after their TTL, never sooner than the minimum nor later than the maximum', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 300, maxTtlSeconds: 86_400 });
    cache.record(CLIENT, response('zero.example', [a('zero.example', '203.0.113.1', 0)]), T0);
    cache.record(CLIENT, response('hour.example', [a('hour.example', '203.0.113.2', 3600)]), T0);
    cache.record(CLIENT, response('year.example', [a('year.example', '203.0.113.3', 31_536_000)]), T0);
    // The chain's smallest TTL counts: a CNAME of 0 s makes the A of an hour last 300 s.
    cache.record(
      CLIENT,
      response('c.example', [cname('c.example', 'd.example', 0), a('d.example', '203.0.113.4')]),
      T0,
    );
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0 + 300 * S - 1)).toEqual(['zero.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0 + 300 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.4', T0 + 300 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0 + 3600 * S - 1)).toEqual(['hour.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0 + 3600 * S)).toEqual([]);
    expect(cache.namesFor(CLIENT, '203.0.113.3', T0 + 86_400 * S - 1)).toEqual(['year.example']);
    expect(cache.namesFor(CLIENT, '203.0.113.3', T0 + 86_400 * S)).toEqual([]);
    expect(cache.size).toBe(0); // entries with nothing left are removed on lookup
  });

  it('expires each name on its own clock', () => {
    const cache = new DnsAnswerCache({ minTtlSeconds: 0 });
    cache.record(CLIENT, response('old.example', [a('old.example', '203.0.113.5', 60)]), T0);
    cache.record(CLIENT, response('new.example', [a('new.example', '203.0.113.5', 60)]), T0 + 30 * S);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0 + 61 * S)).toEqual(['new.example']);
    expect(cache.sweep(T0 + 91 * S)).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, ending the least recently used and counting it', () => {
    const cache = new DnsAnswerCache({ maxEntries: 3 });
    for (let i = 1; i <= 3; i++) cache.record(CLIENT, response('n.example', [a('n.example', `203.0.113.${i}`)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.1', T0)).toEqual(['n.example']); // .1 is now the most recent
    cache.record(CLIENT, response('n.example', [a('n.example', '203.0.113.4')]), T0);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1);
    expect(cache.namesFor(CLIENT, '203.0.113.2', T0)).toEqual([]); // the least recently used went
    for (const i of [1, 3, 4]) expect(cache.namesFor(CLIENT, `203.0.113.${i}`, T0)).toEqual(['n.example']);
    for (let i = 10; i < 1010; i++)
      cache.record(CLIENT, response('m.example', [a('m.example', `10.1.${i >> 8}.${i & 255}`)]), T0);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1001);
  });

  it('holds at most maxNamesPerEntry names for one address, dropping the one that expires first', () => {
    const cache = new DnsAnswerCache({ maxNamesPerEntry: 2, minTtlSeconds: 0 });
    cache.record(CLIENT, response('long.example', [a('long.example', '203.0.113.5', 7200)]), T0);
    cache.record(CLIENT, response('short.example', [a('short.example', '203.0.113.5', 60)]), T0);
    cache.record(CLIENT, response('new.example', [a('new.example', '203.0.113.5', 3600)]), T0);
    expect(cache.namesFor(CLIENT, '203.0.113.5', T0)).toEqual(['long.example', 'new.example']);
    expect(cache.namesDropped).toBe(1);
    // A chain longer than an entry holds keeps the name the client asked for.
    const chain = response('q.example', [
      cname('q.example', 'c1.example'),
      cname('c1.example', 'c2.example'),
      a('c2.example', '203.0.113.9'),
    ]);
    cache.record(CLIENT, chain, T0);
    expect(cache.namesFor(CLIENT, '203.0.113.9', T0)).toEqual(['c1.example', 'q.example']);
  });

  it('rejects limits that cannot bound anything', () => {
    expect(() => new DnsAnswerCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new DnsAnswerCache({ maxNamesPerEntry: 1.5 })).toThrow(RangeError);
    expect(() => new DnsAnswerCache({ minTtlSeconds: 10, maxTtlSeconds: 5 })).toThrow(RangeError);
  });
});

// ---- Real captures: dig against dnsmasq ----------------------------------------------------

interface Seen {
  frame: number;
  tsUs: number;
  /** The end of the conversation that is not port 53. */
  client: string;
  message: DnsMessage;
}

function ipText(buf: Buffer, off: number, len: number): string {
  return len === 4
    ? formatIpv4(u32be(buf, off))
    : formatIpv6(u32be(buf, off), u32be(buf, off + 4), u32be(buf, off + 8), u32be(buf, off + 12));
}

/** Every DNS message of a capture, UDP or TCP on port 53 (TCP per direction through a framer), with its frame number. */
function dnsInCapture(file: string) {
  const anomalies = new Anomalies();
  const p = new Packet();
  const framers = new Map<string, DnsTcpFramer>();
  const seen: Seen[] = [];
  let frameNo = 0;
  const sink: PacketSink = {
    packet(buf, off, caplen, _origLen, tsUs, linkType) {
      frameNo++;
      if (decodePacket(buf, off, caplen, linkType, p, anomalies.counts) !== DecodeResult.TRANSPORT) return;
      if (p.srcPort !== 53 && p.dstPort !== 53) return;
      const src = ipText(buf, p.srcAddrOff, p.addrLen);
      const dst = ipText(buf, p.dstAddrOff, p.addrLen);
      const client = p.srcPort === 53 ? dst : src;
      const payload = Buffer.from(buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen));
      const take = (m: Uint8Array) => {
        const message = parseDnsMessage(m, 0, m.length, anomalies);
        if (message) seen.push({ frame: frameNo, tsUs, client, message });
      };
      if (p.proto === IpProto.UDP) take(payload);
      else if (p.proto === IpProto.TCP && payload.length > 0) {
        const key = `${src}|${p.srcPort}|${dst}|${p.dstPort}`;
        let framer = framers.get(key);
        if (!framer) {
          framer = new DnsTcpFramer(anomalies);
          framers.set(key, framer);
        }
        for (const m of framer.push(payload)) take(m);
      }
    },
  };
  const reader = new CaptureReader(sink, anomalies);
  reader.push(readFileSync(`${ROOT}${file}`));
  expect(reader.end()).toBeNull();
  return { seen, anomalies, framers };
}

/** tshark's view, one line per frame with DNS: frame, question names, A, AAAA, CNAME targets. */
function tsharkDns(file: string): string[] {
  const fields = ['frame.number', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.cname'];
  const r = spawnSync(
    'tshark',
    ['-n', '-r', `${ROOT}${file}`, '-Y', 'dns', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) throw new Error(`tshark is needed as the oracle (bash scripts/test installs it): ${r.error.message}`);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function ourLine(s: Seen): string {
  const of = (type: number) =>
    s.message.answers
      .filter((x) => x.type === type)
      .map((x) => x.address ?? x.target)
      .join(',');
  const questions = s.message.questions.map((q) => q.name).join(',');
  return [s.frame, questions, of(DnsType.A), of(DnsType.AAAA), of(DnsType.CNAME)].join('\t');
}

describe.each([
  { file: 'test/fixtures/udp/dns-dig/input.pcap', messages: 12 },
  { file: 'test/fixtures/tcp/dns-dig-tcp/input.pcap', messages: 8 },
])('DNS in $file', ({ file, messages }) => {
  const { seen, anomalies, framers } = dnsInCapture(file);

  it('reads every message without an anomaly, as tshark does', () => {
    expect(seen).toHaveLength(messages);
    expect(anomalies.total()).toBe(0);
    expect(seen.every((s) => !s.message.partial)).toBe(true);
    expect(seen.map(ourLine)).toEqual(tsharkDns(file));
    for (const f of framers.values()) expect(f.buffered).toBe(0);
  });

  it("names what dnsmasq answered, for the client that asked (README: 'Six dig queries …')", () => {
    const cache = new DnsAnswerCache();
    for (const s of seen) cache.record(s.client, s.message, s.tsUs);
    const now = seen[seen.length - 1].tsUs;
    const expected: Record<string, string[]> = {
      '192.0.2.80': ['cdn.example.org', 'edge.example.org', 'www.example.org'],
      '2001:db8::80': ['www.example.org'],
      '203.0.113.44': ['api.example.org'],
    };
    if (file.includes('/udp/')) expected['198.51.100.77'] = ['telemetry.example.net'];
    for (const [ip, names] of Object.entries(expected)) expect(cache.namesFor('10.0.0.2', ip, now), ip).toEqual(names);
    expect(cache.size).toBe(Object.keys(expected).length);
    expect(cache.namesFor('198.51.100.53', '192.0.2.80', now)).toEqual([]);
    // dnsmasq sends TTL 0 for its own records: the 300 s minimum keeps them, and no longer.
    expect(seen.filter((s) => s.message.response).every((s) => s.message.answers.every((x) => x.ttl === 0))).toBe(true);
    expect(cache.namesFor('10.0.0.2', '203.0.113.44', now + 299 * S)).toEqual(['api.example.org']);
    expect(cache.namesFor('10.0.0.2', '203.0.113.44', now + 301 * S)).toEqual([]);
  });

  if (file.includes('/udp/')) {
    it('reads the NXDOMAIN answer for nx.example.org: rcode 3, no answers', () => {
      const nx = seen.find((s) => s.message.response && s.message.questions[0]?.name === 'nx.example.org');
      expect(nx?.message).toMatchObject({ rcode: 3, answers: [], partial: false });
    });
  }
});

// ---- Fuzz ----------------------------------------------------------------------------------

const SEED = fuzzSeed();
const FUZZ_TOTAL = fuzzIterations(24_000);
const REPLAY = `FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${FUZZ_TOTAL} npx vitest run test/unit/dns.test.ts`;
/** A parse of a message of at most 64 KiB takes microseconds; this much means something is quadratic or hangs. */
const CASE_LIMIT_MS = 100;
const WATCHDOG_MS = 10_000;
const BATCH = 1_000;
const Target = { RANDOM: 0, STRUCTURED: 1, MUTATED: 2, FRAMER: 3 } as const;

function fail(where: string, what: string, input?: Uint8Array): never {
  const hex = input ? `\ninput (${input.length} bytes): ${Buffer.from(input).toString('hex')}` : '';
  throw new Error(`${what} [seed=${SEED} case=${where}]${hex}\nreplay: ${REPLAY}`);
}

// A hang blocks the event loop, so no test timeout can end it; a vm script's timeout can.
const watchdog = vm.createContext({ run: null as null | (() => void) });
const runInWatchdog = new vm.Script('run()');
function bounded(current: () => string, batch: () => void): void {
  watchdog.run = batch;
  try {
    runInWatchdog.runInContext(watchdog, { timeout: WATCHDOG_MS });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      fail(current(), `no answer in ${WATCHDOG_MS} ms`);
    throw e;
  } finally {
    watchdog.run = null;
  }
}

const LABELS = ['www', 'example', 'org', 'cdn', 'edge', 'a', 'x'.repeat(63), 'Mixed', 'dji', 'com'];

/** A plausible message: names with pointers to earlier names (and now and then a bad one), records of every kind. */
function structuredMessage(rng: Rng): Buffer {
  const out: number[] = [];
  const nameStarts: number[] = [];
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const name = () => {
    const start = out.length;
    for (let n = rng.below(4); n > 0; n--) {
      if (nameStarts.length > 0 && rng.chance(0.3)) break;
      const label = rng.chance(0.9) ? rng.pick(LABELS) : rng.bytes(rng.range(1, 70)).toString('latin1');
      out.push(Math.min(label.length, 0xff), ...Buffer.from(label, 'latin1'));
    }
    if (nameStarts.length > 0 && rng.chance(0.4)) {
      const to = rng.chance(0.95) ? rng.pick(nameStarts) : rng.below(0x4000);
      u16(0xc000 | to);
    } else out.push(0);
    nameStarts.push(start);
  };
  u16(rng.below(0x10000));
  u16(rng.chance(0.8) ? 0x8180 | rng.below(16) : rng.below(0x10000));
  const qd = rng.chance(0.9) ? 1 : rng.below(3);
  const an = rng.below(7);
  u16(qd);
  u16(an);
  u16(0);
  u16(rng.below(2));
  for (let i = 0; i < qd; i++) {
    name();
    u16(rng.pick([1, 28, 5, 65]));
    u16(1);
  }
  for (let i = 0; i < an; i++) {
    name();
    const type = rng.pick([1, 28, 5, 5, 16, 46]);
    u16(type);
    u16(rng.chance(0.9) ? 1 : rng.below(5));
    u16(rng.below(0x10000));
    u16(rng.below(0x10000));
    const lenAt = out.length;
    u16(0);
    const rdStart = out.length;
    if (type === 1) out.push(...rng.bytes(rng.chance(0.9) ? 4 : rng.below(8)));
    else if (type === 28) out.push(...rng.bytes(rng.chance(0.9) ? 16 : rng.below(20)));
    else if (type === 5) name();
    else out.push(...rng.bytes(rng.below(40)));
    const rdLen = Math.max(0, out.length - rdStart + (rng.chance(0.05) ? rng.range(-2, 2) : 0));
    out[lenAt] = rdLen >> 8;
    out[lenAt + 1] = rdLen & 0xff;
  }
  return Buffer.from(out);
}

const VECTORS = [QUERY, A_RESPONSE, AAAA_RESPONSE, CNAME_CHAIN, SELF_POINTER, ANSWER_POINTER_LOOP, POINTER_PAST_END];

/** Label lengths of a name as dns.ts writes it (escapes undone); null if dns.ts could not have written it. */
function labelLengths(text: string): number[] | null {
  if (text === '') return []; // the root
  const lengths: number[] = [];
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.') {
      if (n === 0) return null;
      lengths.push(n);
      n = 0;
      continue;
    }
    if (c === '\\') {
      const digits = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        const v = Number(digits);
        if (v > 0xff || (v > 0x20 && v < 0x7f)) return null; // printable bytes are never escaped as digits
        i += 3;
      } else if (text[i + 1] === '.' || text[i + 1] === '\\') i++;
      else return null;
    } else if (c < '!' || c > '~' || (c >= 'A' && c <= 'Z')) return null;
    n++;
  }
  if (n === 0) return null; // no trailing dot
  lengths.push(n);
  return lengths;
}

/** Lowercase, escaped, labels of 1 to 63 octets, at most 255 octets on the wire. */
function nameOk(text: string): boolean {
  const lengths = labelLengths(text);
  if (lengths === null) return false;
  return lengths.every((n) => n <= 63) && lengths.reduce((sum, n) => sum + 1 + n, 1) <= 255;
}

/** Parse `input` at offset 0 and inside random padding: no throw, sane output, same result both ways. */
/** What the parser inputs reached, summed over the run: proof that the fuzzing gets past the header. */
const reached = { anomalies: new Anomalies(), dropped: 0, partial: 0, withAnswers: 0 };

function checkParse(where: string, input: Buffer, rng: Rng): void {
  const a1 = new Anomalies();
  const t = performance.now();
  let m: DnsMessage | null;
  try {
    m = parseDnsMessage(input, 0, input.length, a1);
  } catch (e) {
    fail(where, `parseDnsMessage threw: ${e instanceof Error ? e.stack : String(e)}`, input);
  }
  const ms = performance.now() - t;
  if (ms > CASE_LIMIT_MS) fail(where, `parse took ${ms.toFixed(1)} ms`, input);
  for (let i = 0; i < a1.counts.length; i++) reached.anomalies.counts[i] += a1.counts[i];
  if (m === null) reached.dropped++;
  else if (m.partial) reached.partial++;
  else if (m.answers.length > 0) reached.withAnswers++;
  // A dropped message counts exactly its one reason; a partial one at least the fault that ended it.
  if (m === null && a1.total() !== 1) fail(where, `a dropped message counted ${a1.total()} anomalies`, input);
  if (m?.partial && a1.total() < 1) fail(where, 'a partial message counted no anomaly', input);
  if (m !== null) {
    if (input.length < 12) fail(where, 'a message shorter than its header parsed', input);
    if (m.questions.length !== input.readUInt16BE(4)) fail(where, 'question count differs from QDCOUNT', input);
    if (m.answers.length > input.readUInt16BE(6)) fail(where, 'more answers than ANCOUNT', input);
    for (const q of m.questions) if (!nameOk(q.name)) fail(where, `bad question name ${q.name}`, input);
    for (const x of m.answers) {
      if (!nameOk(x.name) || (x.target !== undefined && !nameOk(x.target))) {
        fail(where, `bad answer name ${x.name} ${x.target ?? ''}`, input);
      }
      if (x.address !== undefined && isIP(x.address) !== (x.type === DnsType.A ? 4 : 6))
        fail(where, 'bad address', input);
      if (!(x.ttl >= 0 && x.ttl <= 0x7fffffff)) fail(where, `bad TTL ${x.ttl}`, input);
    }
  }
  // The same bytes inside a larger buffer: nothing outside [off, off + len) may matter.
  const pre = rng.below(40);
  const padded = Buffer.concat([rng.bytes(pre), input, rng.bytes(rng.below(40))]);
  const a2 = new Anomalies();
  const m2 = parseDnsMessage(padded, pre, input.length, a2);
  if (JSON.stringify(m2) !== JSON.stringify(m) || JSON.stringify(a2) !== JSON.stringify(a1)) {
    fail(where, `result differs at offset ${pre}`, input);
  }
}

/** A random stream of frames in random chunks gives the same messages as in one piece. */
function checkFramer(where: string, rng: Rng): void {
  const parts: Buffer[] = [];
  for (let n = rng.below(5); n > 0; n--) {
    const m = rng.chance(0.5) ? rng.pick(VECTORS) : rng.bytes(rng.below(300));
    parts.push(rng.chance(0.03) ? Buffer.of(0, 0) : tcpStream(m));
  }
  if (rng.chance(0.3)) parts.push(rng.bytes(rng.below(4))); // a torn end
  const stream = Buffer.concat(parts);
  const cuts: number[] = [];
  for (let n = rng.below(8); n > 0; n--) cuts.push(rng.below(stream.length + 1));
  cuts.sort((x, y) => x - y);
  try {
    const whole = frame(stream, []);
    const split = frame(stream, cuts);
    if (JSON.stringify(split.out) !== JSON.stringify(whole.out) || split.framer.failed !== whole.framer.failed) {
      fail(where, `split at ${cuts.join(',')} gives other messages`, stream);
    }
    if (split.framer.buffered > 2 + 0xffff) fail(where, 'framer holds more than one message', stream);
  } catch (e) {
    if ((e as Error).message.includes('[seed=')) throw e;
    fail(where, `framer threw: ${e instanceof Error ? e.stack : String(e)}`, stream);
  }
}

describe(`fuzz (seed=${SEED}, ${FUZZ_TOTAL} parser inputs)`, () => {
  const parseCounts = { random: Math.ceil(FUZZ_TOTAL * 0.3), structured: Math.ceil(FUZZ_TOTAL * 0.3) };
  const mutatedCount = Math.max(0, FUZZ_TOTAL - parseCounts.random - parseCounts.structured);

  function run(target: number, label: string, count: number, one: (rng: Rng, where: string) => void) {
    let current = '';
    for (let start = 0; start < count; start += BATCH) {
      bounded(
        () => current,
        () => {
          for (let i = start; i < Math.min(count, start + BATCH); i++) {
            current = `${label}#${i}`;
            one(caseRng(SEED, target, i), current);
          }
        },
      );
    }
  }

  it('parseDnsMessage on random bytes: no throw, bounded time', () => {
    run(Target.RANDOM, 'random', parseCounts.random, (rng, where) => {
      const b = rng.bytes(rng.chance(0.8) ? rng.below(128) : rng.below(1500));
      if (b.length >= 6 && rng.chance(0.7)) b.writeUInt16BE(rng.below(8), 4); // QDCOUNT small enough to get past the counts
      if (b.length >= 8 && rng.chance(0.7)) b.writeUInt16BE(rng.below(8), 6);
      checkParse(where, b, rng);
    });
  });

  it('parseDnsMessage on generated messages with pointers: no throw, bounded time', () => {
    run(Target.STRUCTURED, 'structured', parseCounts.structured, (rng, where) => {
      checkParse(where, structuredMessage(rng), rng);
    });
  });

  it('parseDnsMessage on mutated vectors and generated messages: no throw, bounded time', () => {
    run(Target.MUTATED, 'mutated', mutatedCount, (rng, where) => {
      const seed = rng.chance(0.5) ? rng.pick(VECTORS) : structuredMessage(rng);
      checkParse(where, mutate(rng, seed), rng);
    });
  });

  it.runIf(FUZZ_TOTAL >= 10_000)('reaches every parser outcome and every dns.* anomaly of the parser', () => {
    const counted = reached.anomalies.toJSON();
    for (const name of [
      'dns.trunc_header',
      'dns.trunc_record',
      'dns.bad_label',
      'dns.pointer_loop',
      'dns.pointer_out_of_bounds',
      'dns.name_too_long',
      'dns.bad_rdata',
    ] as const) {
      expect(counted[name], `${name} never counted [seed=${SEED}]`).toBeGreaterThan(0);
    }
    const total = reached.dropped + reached.partial + reached.withAnswers;
    expect(reached.withAnswers, `complete answers in ${total} inputs`).toBeGreaterThan(FUZZ_TOTAL / 20);
    expect(reached.partial).toBeGreaterThan(FUZZ_TOTAL / 100);
  });

  it('DnsTcpFramer on random frame streams in random chunks: same messages as in one piece', () => {
    run(Target.FRAMER, 'framer', Math.ceil(FUZZ_TOTAL / 10), (rng, where) => checkFramer(where, rng));
  });

  it('stays fast on the largest messages: 5,000 answers, and answers whose names are chains of pointers', () => {
    // Question "a" A IN @12, then `n` TXT answers (skipped) of 12 bytes each: NAME pointer, TYPE, CLASS, TTL 0, RDLENGTH 0.
    const build = (n: number, chained: boolean) => {
      const msg = Buffer.alloc(19 + n * 12);
      msg.writeUInt16BE(0x8180, 2);
      msg.writeUInt16BE(1, 4);
      msg.writeUInt16BE(n, 6);
      msg.set([0x01, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01], 12);
      for (let i = 0, at = 19; i < n; i++, at += 12) {
        // Each NAME points to the question, or to the previous answer's NAME (a pointer to a pointer to …).
        msg.writeUInt16BE(0xc000 | (chained && i > 0 ? (at - 12) & 0x3fff : 12), at);
        msg.writeUInt16BE(16, at + 2);
        msg.writeUInt16BE(1, at + 4);
      }
      return msg;
    };
    for (const [n, chained] of [
      [5000, false],
      [1300, true],
    ] as const) {
      const msg = build(n, chained);
      const anomalies = new Anomalies();
      let m: DnsMessage | null = null;
      const t = performance.now();
      bounded(
        () => `largest n=${n} chained=${chained}`,
        () => {
          m = parseDnsMessage(msg, 0, msg.length, anomalies);
        },
      );
      expect(performance.now() - t).toBeLessThan(500);
      // Chained: the 128th answer needs 128 jumps, one more than any 255-octet name can use.
      expect(anomalies.get('dns.pointer_loop')).toBe(chained ? 1 : 0);
      expect((m as DnsMessage | null)?.partial).toBe(chained);
    }
  });
});
