// Shared by the DNS tests (test/unit/dns-*.test.ts): annotated DNS messages
// (RFC 1035 §4, RFC 3596) for the parser, the RFC 7766 §8 TCP framing helpers,
// and the microseconds in a second for the cache clocks.

import { Anomalies } from '../../agent/src/decode/anomaly.js';
import { parseDnsMessage } from '../../agent/src/names/dns.js';
import { DnsTcpFramer } from '../../agent/src/names/dns-tcp.js';

/** Bytes from annotated hex: `#` starts a comment; whitespace is ignored. */
export function bytes(annotated: string): Buffer {
  const hex = annotated.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`not hex: ${hex}`);
  return Buffer.from(hex, 'hex');
}

/** Parse a whole buffer; the anomalies it counted, by name, beside the result. */
/** A query for `name` (wire form), type A. */
export function queryFor(name: Buffer): Buffer {
  return Buffer.concat([bytes('00 04 01 00 00 01 00 00 00 00 00 00'), name, bytes('00 01 00 01')]);
}

export function parse(buf: Buffer) {
  const anomalies = new Anomalies();
  const message = parseDnsMessage(buf, 0, buf.length, anomalies);
  const counted = Object.fromEntries(Object.entries(anomalies.toJSON()).filter(([, n]) => n > 0));
  return { message, counted };
}

// ---- Vectors -------------------------------------------------------------------------------

export const QUERY = bytes(`
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

export const A_RESPONSE = bytes(`
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

export const AAAA_RESPONSE = bytes(`
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
export const CNAME_CHAIN = bytes(`
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
export const SELF_POINTER = bytes(`
  00 01 01 00 00 01 00 00 00 00 00 00   # ID 1, query, QDCOUNT 1
  c0 0c                      # @12 pointer to @12: itself
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** Two pointers that point at each other. */
export const MUTUAL_POINTERS = bytes(`
  00 01 01 00 00 01 00 00 00 00 00 00   # ID 1, query, QDCOUNT 1
  c0 0e                      # @12 pointer to @14 (forward)
  c0 0c                      # @14 pointer to @12
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** An A response whose answer NAME points at itself: the question is fine, the answer section is not. */
export const ANSWER_POINTER_LOOP = Buffer.from(A_RESPONSE);
ANSWER_POINTER_LOOP.writeUInt16BE(0xc000 | 33, 33); // @33 pointer to @33

export const POINTER_PAST_END = bytes(`
  00 02 01 00 00 01 00 00 00 00 00 00   # ID 2, query, QDCOUNT 1
  c0 ff                      # @12 pointer to @255; the message is 18 bytes
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** The answer's pointer is in bounds and points back, but the "name" there runs past the end of the message. */
export const POINTED_NAME_PAST_END = bytes(`
  00 02 81 80 00 01 00 01 00 00 00 00   # ID 2, response, QDCOUNT 1, ANCOUNT 1
  01 61 00                   # @12 label "a", root
  00 01 00 3f                # QTYPE A, QCLASS 63: the byte @18 reads as a 63-byte label
  c0 12                      # @19 answer NAME: pointer to @18
  00 01 00 01 00 00 00 3c 00 04 c0 00 02 01   # A, IN, TTL 60, RDLENGTH 4, 192.0.2.1; the message ends @35
`);

export const LABEL_64 = bytes(`
  00 03 01 00 00 01 00 00 00 00 00 00   # ID 3, query, QDCOUNT 1
  40                         # @12 length octet 0x40: top bits 01, no label is longer than 63 (RFC 1035 §2.3.4)
  61 61 61 61 00             # "aaaa", root
  00 01 00 01                # QTYPE A, QCLASS IN
`);

/** A message that cuts a record short: the header promises more than is there. */
export const A_RESPONSE_CUT = A_RESPONSE.subarray(0, A_RESPONSE.length - 2);

// ---- TCP framing ---------------------------------------------------------------------------

/** Each message with its RFC 7766 two-byte length prefix. */
export function tcpStream(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

/** Push `stream` cut at `cuts` (sorted offsets); the messages, as hex, and the framer. */
export function frame(stream: Buffer, cuts: number[]) {
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

/** Microseconds in a second: capture timestamps and cache clocks are in µs. */
export const S = 1_000_000;
