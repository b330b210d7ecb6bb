// The DNS message parser (RFC 1035 §4, RFC 3596) on the annotated byte vectors
// of test/support/dns-vectors.ts: what it reads, and which dns.* anomaly it counts
// for each way a message can be bad.

import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { DnsType, parseDnsMessage } from '../../agent/src/names/dns.js';
import {
  A_RESPONSE,
  A_RESPONSE_CUT,
  AAAA_RESPONSE,
  ANSWER_POINTER_LOOP,
  bytes,
  CNAME_CHAIN,
  LABEL_64,
  MUTUAL_POINTERS,
  POINTED_NAME_PAST_END,
  POINTER_PAST_END,
  parse,
  QUERY,
  queryFor,
  SELF_POINTER,
} from '../support/dns-vectors.js';

/** A name of the given label lengths ("a" repeated), root included. */
function nameOf(...lengths: number[]): Buffer {
  return Buffer.concat([...lengths.map((n) => Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61)])), Buffer.of(0)]);
}

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

describe('parseDnsMessage at the edges', () => {
  /** A response: QDCOUNT 1 (the question "a" A IN @12), ANCOUNT n, then `records` as they are. */
  const response = (n: number, records: string) =>
    bytes(`00 09 81 80 00 01 00 ${n.toString(16).padStart(2, '0')} 00 00 00 00  01 61 00 00 01 00 01 ${records}`);

  it.each<[string, string, string]>([
    ['@AZ[ folded only inside A–Z', '04 40 41 5a 5b', '@az['],
    ['! and ~ printable, DEL and 0xff escaped', '04 21 7e 7f ff', '!~\\127\\255'],
    ['a control byte as three digits', '01 01', '\\001'],
  ])('writes label bytes: %s', (_what, label, text) => {
    expect(parse(queryFor(bytes(`${label} 00`))).message?.questions[0].name).toBe(text);
  });

  it('reads the root name in a message the counts fill exactly', () => {
    const root = bytes('00 0a 01 00 00 01 00 00 00 00 00 00  00 00 01 00 01');
    expect(root.length).toBe(17);
    expect(parse(root)).toEqual({
      message: expect.objectContaining({ questions: [{ name: '', type: DnsType.A }], partial: false }),
      counted: {},
    });
  });

  /** Parse `msg` followed by 8 bytes of `junk` in the buffer: what lies past the end must not matter. */
  function parseBefore(msg: Buffer, junk: number) {
    const anomalies = new Anomalies();
    const message = parseDnsMessage(Buffer.concat([msg, Buffer.alloc(8, junk)]), 0, msg.length, anomalies);
    return { message, counted: Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n > 0)) };
  }

  it.each<[string, string, number, string]>([
    ['labels that end with the message, no root', '01 61 01 62 01 63', 0x40, 'dns.trunc_record'],
    ['a pointer cut after its first byte', '01 61 01 62 c0', 0xff, 'dns.trunc_record'],
    ['a label running past the end', '05 61 62 63 64', 0x00, 'dns.trunc_record'],
    ['a pointer to the end of the message', 'c0 12 00 01 00 01', 0x00, 'dns.pointer_out_of_bounds'],
    ['a pointer forward to a well-formed name', 'c0 12 00 01 00 01 01 61 00', 0x00, 'dns.pointer_loop'],
    ['counts that need 10 bytes where 6 are', '40 00 00 00 00 00', 0x00, 'dns.trunc_record'],
  ])('drops a query with %s', (_what, rest, junk, anomaly) => {
    const msg = bytes(`00 0b 01 00 00 01 00 00 00 00 00 00 ${rest}`);
    if (rest.startsWith('40')) msg.writeUInt16BE(2, 4); // QDCOUNT 2
    expect(parseBefore(msg, junk)).toEqual({ message: null, counted: { [anomaly]: 1 } });
  });

  it('ignores an answer count that cannot fit before reading the answer', () => {
    const msg = bytes('00 0c 81 80 00 00 00 01 00 00 00 00  40 00 00 00 00'); // ANCOUNT 1: 11 bytes, 5 there
    expect(parse(msg)).toEqual({ message: null, counted: { 'dns.trunc_record': 1 } });
  });

  it('reads a bare 12-byte header as a message with nothing in it', () => {
    expect(parse(bytes('00 0d 81 80 00 00 00 00 00 00 00 00'))).toMatchObject({
      counted: {},
      message: { id: 13, questions: [], answers: [], partial: false },
    });
  });

  it('counts a length that is not an integer as a cut-off header, however long', () => {
    const anomalies = new Anomalies();
    expect(parseDnsMessage(QUERY, 0, QUERY.length + 0.5, anomalies)).toBeNull();
    expect(anomalies.get('dns.trunc_header')).toBe(1);
  });

  it.each<[string, string, string]>([
    ['ends exactly at the end of the message', '10', '00 04 c0 00 02 01'],
    ['ends in a pointer cut by the end of the message', '0f', '00 04 c0 00 02 c0'],
  ])('counts an answer name reached through a pointer that %s (dns.pointer_out_of_bounds)', (_what, qclass, tail) => {
    // As POINTED_NAME_PAST_END, with the byte @18 read as a label of 16 or 15 bytes: to the end, or to the last byte.
    const msg = bytes(
      `00 02 81 80 00 01 00 01 00 00 00 00  01 61 00  00 01 00 ${qclass}  c0 12  00 01 00 01 00 00 00 3c ${tail}`,
    );
    const { message, counted } = parseBefore(msg, 0x40);
    expect(counted).toEqual({ 'dns.pointer_out_of_bounds': 1 });
    expect(message).toMatchObject({ partial: true, answers: [] });
  });

  it('keeps a TTL of 2^31 - 1 and reads 2^31 as 0', () => {
    const msg = response(
      2,
      'c0 0c 00 01 00 01 7f ff ff ff 00 04 c0 00 02 01  c0 0c 00 01 00 01 80 00 00 00 00 04 c0 00 02 02',
    );
    expect(parse(msg).message?.answers.map((a) => a.ttl)).toEqual([0x7fffffff, 0]);
  });

  it('ends the answers at a record whose fixed part fills the message but whose RDATA is missing', () => {
    const { message, counted } = parse(response(1, 'c0 0c 00 01 00 01 00 00 00 3c 00 04'));
    expect(counted).toEqual({ 'dns.trunc_record': 1 });
    expect(message).toMatchObject({ partial: true, answers: [] });
  });

  it.each<[string, string, Record<string, number>]>([
    ['a target that runs past the message is bad RDATA', '00 03 05 61 62', { 'dns.bad_rdata': 1 }],
    ['a target whose pointer loops says so', '00 02 c0 2f', { 'dns.pointer_loop': 1 }],
  ])('skips a CNAME record: %s', (_what, rdata, counted) => {
    // An A record @19, then the CNAME record @35, last, its RDATA @47.
    const msg = response(2, `c0 0c 00 01 00 01 00 00 00 3c 00 04 c0 00 02 09  c0 0c 00 05 00 01 00 00 00 3c ${rdata}`);
    const { message, counted: got } = parse(msg);
    expect(got).toEqual(counted);
    expect(message).toMatchObject({ partial: false, answers: [{ address: '192.0.2.9' }] });
    expect(message?.answers).toHaveLength(1);
  });

  it('reads an empty record that ends the message exactly', () => {
    const { message, counted } = parse(
      response(2, 'c0 0c 00 10 00 01 00 00 00 3c 00 00  c0 0c 00 01 00 01 00 00 00 3c 00 04 c0 00 02 07'),
    );
    expect(counted).toEqual({});
    expect(message?.answers.map((a) => a.address)).toEqual(['192.0.2.7']);
  });

  it('follows exactly 127 pointer jumps and no more', () => {
    // Answer i's NAME points to answer i - 1's NAME; answer 0's to the question: answer i takes i + 1 jumps.
    const chained = (n: number) => {
      const parts: string[] = [];
      for (let i = 0, at = 19; i < n; i++, at += 16) {
        const to = i === 0 ? 12 : at - 16;
        parts.push(`${(0xc000 | to).toString(16)} 00 01 00 01 00 00 00 3c 00 04 c0 00 02 01`);
      }
      const msg = response(0, parts.join(' '));
      msg.writeUInt16BE(n, 6);
      return msg;
    };
    expect(parse(chained(127))).toMatchObject({ counted: {}, message: { partial: false } });
    expect(parse(chained(127)).message?.answers).toHaveLength(127);
    expect(parse(chained(128))).toMatchObject({ counted: { 'dns.pointer_loop': 1 }, message: { partial: true } });
  });
});
