// DNS messages, RFC 1035 §4.1 (header, question, resource records) with name
// compression (§4.1.4); AAAA records, RFC 3596 §2.2. Only what the names
// stage needs: the questions, and the A, AAAA and CNAME records of the answer
// section (the authority and additional sections are not read, so a glue or
// additional record never names an address). Never throws: malformed input
// is counted by name and the message is dropped, or, past the questions,
// cut short (see `partial`).

import type { Anomalies, AnomalyName } from '../decode/anomaly.js';
import { u16be, u32be } from '../util/bytes.js';
import { formatIpv4, formatIpv6 } from '../util/ip.js';

export const DnsType = { A: 1, CNAME: 5, AAAA: 28 } as const;
export const DnsClass = { IN: 1 } as const;
export const DnsOpcode = { QUERY: 0 } as const;
export const DnsRcode = { NOERROR: 0, NXDOMAIN: 3 } as const;

const Flag = { QR: 0x8000, TC: 0x0200 } as const;

export const DNS_HEADER_LEN = 12;
/** A question is a name (at least the 1-byte root) then type and class. */
const QUESTION_FIXED_LEN = 4;
/** A resource record is a name then type, class, TTL and RDLENGTH. */
const RR_FIXED_LEN = 10;
const MIN_QUESTION_LEN = 1 + QUESTION_FIXED_LEN;
const MIN_RR_LEN = 1 + RR_FIXED_LEN;
/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, length octets and root included. */
export const MAX_NAME_WIRE_LEN = 255;
/** A 255-octet name has at most 127 labels; a name that needs more jumps than that is built to loop. */
const MAX_POINTER_JUMPS = 127;
/** Top two bits of a length octet (§4.1.4): 00 a label of up to 63 octets, 11 a pointer, 01/10 reserved. */
const LabelKind = { MASK: 0xc0, LABEL: 0x00, POINTER: 0xc0 } as const;
/** RFC 2181 §8: a TTL with the top bit set is treated as zero. */
const MAX_TTL = 0x7fffffff;

export interface DnsQuestion {
  name: string;
  type: number;
}

export interface DnsAnswer {
  /** Owner name. */
  name: string;
  type: number;
  /** Seconds, as sent (0 for values above 2^31 - 1, RFC 2181 §8). */
  ttl: number;
  /** A or AAAA: the address as text (dotted quad, or RFC 5952 for IPv6). */
  address?: string;
  /** CNAME: the canonical name the owner is an alias for. */
  target?: string;
}

export interface DnsMessage {
  id: number;
  /** QR bit: a response. */
  response: boolean;
  opcode: number;
  rcode: number;
  /** TC bit: the server cut the answer to fit (the client retries over TCP). */
  truncated: boolean;
  questions: DnsQuestion[];
  /** The class-IN A, AAAA and CNAME records of the answer section, in message order. */
  answers: DnsAnswer[];
  /**
   * The answer section could not be read to its end (a record is cut off or
   * its owner name is malformed; an anomaly says which): `answers` holds the
   * records before the fault, each complete and checked.
   */
  partial: boolean;
}

// ---- Names ---------------------------------------------------------------------------------

/** Why readName failed: negative, so a result is either an offset or one of these. */
const NameError = {
  /** The name runs past the end of the message before any pointer was followed. */
  TRUNCATED: -1,
  BAD_LABEL: -2,
  POINTER_LOOP: -3,
  POINTER_OUT_OF_BOUNDS: -4,
  TOO_LONG: -5,
} as const;

const NAME_ANOMALY: Record<number, AnomalyName> = {
  [NameError.TRUNCATED]: 'dns.trunc_record',
  [NameError.BAD_LABEL]: 'dns.bad_label',
  [NameError.POINTER_LOOP]: 'dns.pointer_loop',
  [NameError.POINTER_OUT_OF_BOUNDS]: 'dns.pointer_out_of_bounds',
  [NameError.TOO_LONG]: 'dns.name_too_long',
};

/** The text of the name readName last read (a second result, so readName returns a plain number). */
let nameText = '';

/**
 * Reads the name at `pos` of the message buf[msg, end). Returns the offset
 * after the name where it sits (after the first pointer, if any) or a
 * NameError. Terminates on any input: a pointer must point before itself
 * (§4.1.4 "a prior occurrence"; a loop needs one that does not), at most
 * MAX_POINTER_JUMPS are followed, and a name stops at 255 octets.
 */
function readName(buf: Uint8Array, msg: number, end: number, pos: number): number {
  let p = pos;
  let after = 0; // where the name ends in place, once a pointer was followed (0 before: a pointer makes it at least 14)
  let jumps = 0;
  let wireLen = 0;
  let labels = 0;
  for (;;) {
    if (p >= end) return cutShort(after);
    const len = buf[p];
    if (len === 0) {
      nameText = nameOf(buf, labels);
      return after === 0 ? p + 1 : after;
    }
    const kind = len & LabelKind.MASK;
    if (kind === LabelKind.POINTER) {
      if (p + 1 >= end) return cutShort(after);
      const target = msg + (((len & ~LabelKind.MASK) << 8) | buf[p + 1]);
      if (after === 0) after = p + 2;
      if (target >= end) return NameError.POINTER_OUT_OF_BOUNDS;
      // Stryker disable next-line EqualityOperator: a pointer to itself, let through, comes back here until the jump limit says POINTER_LOOP too
      if (target >= p || ++jumps > MAX_POINTER_JUMPS) return NameError.POINTER_LOOP;
      p = target;
      continue;
    }
    if (kind !== LabelKind.LABEL) return NameError.BAD_LABEL;
    wireLen += 1 + len;
    if (wireLen + 1 > MAX_NAME_WIRE_LEN) return NameError.TOO_LONG; // + 1 for the root that must follow
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a label ending at end, or past it, fails the same way at the next length octet (its bytes are read only once the name is whole)
    if (p + 1 + len > end) return cutShort(after);
    labelAt[2 * labels] = p + 1;
    labelAt[2 * labels + 1] = len;
    labels++;
    p += 1 + len;
  }
}

/** A name that runs past the end of the message: TRUNCATED, or, once a pointer was followed, POINTER_OUT_OF_BOUNDS. */
function cutShort(after: number): number {
  return after === 0 ? NameError.TRUNCATED : NameError.POINTER_OUT_OF_BOUNDS;
}

const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** Offset and length of each label of the name readName is reading (a 255-octet name has at most 127). */
const labelAt = new Int32Array(2 * 128);
/** The text of a name in the making, for one string at the end instead of one per character. */
const textBytes = Buffer.allocUnsafeSlow(MAX_NAME_WIRE_LEN);

/**
 * Names met lately, direct-mapped by a hash of their text: a gateway's
 * clients ask for the same few thousand names over and over, so most names
 * read are one already made (no new string, and a Map or a policy lookup
 * finds the hash it computed before). A new name replaces whatever shared
 * its slot.
 */
const NAME_CACHE_BITS = 12;
const cachedNames: string[] = new Array<string>(1 << NAME_CACHE_BITS).fill('');
/** Names found in the cache, and names made anew (escaped ones not counted): the cache's counters. */
const nameCache = { hits: 0, made: 0 };

/** The name cache's slots and counters (a copy). */
export function nameCacheCounters(): { slots: number; hits: number; made: number } {
  return { slots: 1 << NAME_CACHE_BITS, hits: nameCache.hits, made: nameCache.made };
}

/** FNV-1a, 32 bits. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * The text of the `labels` labels in labelAt: lowercased and joined by dots.
 * A name whose bytes are all printable ASCII other than dot and backslash,
 * nearly every name, is copied byte for byte; any other goes through
 * labelText for its escapes.
 */
function nameOf(buf: Uint8Array, labels: number): string {
  let n = 0;
  let h = FNV_OFFSET;
  for (let l = 0; l < labels; l++) {
    if (l > 0) {
      textBytes[n++] = DOT;
      h = Math.imul(h ^ DOT, FNV_PRIME);
    }
    const at = labelAt[2 * l];
    const stop = at + labelAt[2 * l + 1];
    for (let i = at; i < stop; i++) {
      let c = buf[i];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      else if (c <= 0x20 || c >= 0x7f || c === DOT || c === BACKSLASH) return escapedName(buf, labels);
      textBytes[n++] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
  }
  return fromCache(n, h);
}

/**
 * The text of src[off, off + len) (len ≤ MAX_NAME_WIRE_LEN) lowercased, when
 * every byte is printable ASCII other than space; null when one is not. From
 * the same cache of names met lately as the names of DNS messages: a TLS or
 * QUIC server_name is most often a name the client just looked up, and gets
 * the very same string (names/tls.ts).
 */
export function cachedName(src: Uint8Array, off: number, len: number): string | null {
  let h = FNV_OFFSET;
  for (let i = 0; i < len; i++) {
    let c = src[off + i];
    if (c <= 0x20 || c >= 0x7f) return null;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    textBytes[i] = c;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return fromCache(len, h);
}

/** textBytes[0, n), whose hash is `h`: the cached string when it is the same text, else a new one, cached. */
function fromCache(n: number, h: number): string {
  const slot = h >>> (32 - NAME_CACHE_BITS);
  const cached = cachedNames[slot];
  if (cached.length === n && sameText(cached, n)) {
    nameCache.hits++;
    return cached;
  }
  nameCache.made++;
  const text = textBytes.toString('latin1', 0, n);
  cachedNames[slot] = text;
  return text;
}

/** Whether `text` is textBytes[0, n) (its length already checked). */
function sameText(text: string, n: number): boolean {
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) !== textBytes[i]) return false;
  return true;
}

/** A name with a byte that needs an escape: label by label. */
function escapedName(buf: Uint8Array, labels: number): string {
  let text = '';
  for (let l = 0; l < labels; l++) {
    if (l > 0) text += '.';
    text += labelText(buf, labelAt[2 * l], labelAt[2 * l + 1]);
  }
  return text;
}

/**
 * A label as text: ASCII lowercased (RFC 4343: DNS compares names ASCII-
 * case-insensitively); a dot or backslash inside a label escaped with a
 * backslash and any other byte outside printable ASCII as \DDD (RFC 1035
 * §5.1), so a label "dji.com" can never read as two labels in a policy match.
 */
function labelText(buf: Uint8Array, at: number, len: number): string {
  let s = '';
  for (let i = at; i < at + len; i++) {
    let c = buf[i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c === DOT || c === BACKSLASH) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

// ---- Messages ------------------------------------------------------------------------------

/**
 * Parses the DNS message buf[off, off + len) (a UDP payload, or one message
 * of a TCP stream without its length prefix). Compression pointers are
 * offsets from `off`. Returns null, with the reason counted, when the header
 * is cut off (`dns.trunc_header`), when the question and answer counts cannot
 * fit in `len` (`dns.trunc_record`: counts like that are garbage or a capture
 * cut short, and trusting them would only cost time), or when a question is
 * malformed (its anomaly). A fault in the answer section ends the message
 * there with `partial` set; a record whose own data is bad (A or AAAA of the
 * wrong length, a CNAME target that is not a name filling its RDATA) is
 * counted and skipped, the records after it still read.
 */
export function parseDnsMessage(buf: Uint8Array, off: number, len: number, anomalies: Anomalies): DnsMessage | null {
  // Bad arguments count as a cut-off header: never read outside buf. (A negative len fails the header length check.)
  const valid = Number.isInteger(off) && Number.isInteger(len) && off >= 0;
  const end = valid ? Math.min(off + len, buf.length) : 0;
  if (!valid || end - off < DNS_HEADER_LEN) {
    anomalies.count('dns.trunc_header');
    return null;
  }
  const flags = u16be(buf, off + 2);
  const qdCount = u16be(buf, off + 4);
  const anCount = u16be(buf, off + 6);
  let pos = off + DNS_HEADER_LEN;
  if (qdCount * MIN_QUESTION_LEN + anCount * MIN_RR_LEN > end - pos) {
    anomalies.count('dns.trunc_record');
    return null;
  }
  const message: DnsMessage = {
    id: u16be(buf, off),
    response: (flags & Flag.QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & Flag.TC) !== 0,
    questions: [],
    answers: [],
    partial: false,
  };

  for (let i = 0; i < qdCount; i++) {
    const at = readName(buf, off, end, pos);
    // Stryker disable next-line EqualityOperator: a name read from offset 12 or later never ends at 0
    if (at < 0) {
      anomalies.count(NAME_ANOMALY[at]);
      return null;
    }
    if (at + QUESTION_FIXED_LEN > end) {
      anomalies.count('dns.trunc_record');
      return null;
    }
    message.questions.push({ name: nameText, type: u16be(buf, at) });
    pos = at + QUESTION_FIXED_LEN;
  }

  for (let i = 0; i < anCount; i++) {
    const at = readName(buf, off, end, pos);
    // Stryker disable next-line EqualityOperator: a name read from offset 12 or later never ends at 0
    if (at < 0) {
      anomalies.count(NAME_ANOMALY[at]);
      message.partial = true;
      break;
    }
    const owner = nameText;
    const rdata = at + RR_FIXED_LEN;
    // Stryker disable next-line ConditionalExpression: reading RDLENGTH past the end changes nothing, rdata alone is past it
    const rdLen = rdata <= end ? u16be(buf, at + 8) : 0;
    if (rdata + rdLen > end) {
      anomalies.count('dns.trunc_record');
      message.partial = true;
      break;
    }
    pos = rdata + rdLen;
    if (u16be(buf, at + 2) !== DnsClass.IN) continue;
    const answer = readAnswer(buf, off, end, u16be(buf, at), rdata, rdLen, anomalies);
    if (answer === null) continue;
    answer.name = owner;
    const ttl = u32be(buf, at + 4);
    answer.ttl = ttl > MAX_TTL ? 0 : ttl;
    message.answers.push(answer);
  }
  return message;
}

/** The A, AAAA or CNAME record with this RDATA (name and TTL filled in by the caller); null to skip it. */
function readAnswer(
  buf: Uint8Array,
  msg: number,
  end: number,
  type: number,
  rdata: number,
  rdLen: number,
  anomalies: Anomalies,
): DnsAnswer | null {
  switch (type) {
    case DnsType.A:
      if (rdLen !== 4) break;
      // Stryker disable next-line StringLiteral: the caller sets the owner name
      return { name: '', type, ttl: 0, address: formatIpv4(u32be(buf, rdata)) };
    case DnsType.AAAA:
      if (rdLen !== 16) break;
      return {
        // Stryker disable next-line StringLiteral: the caller sets the owner name
        name: '',
        type,
        ttl: 0,
        address: formatIpv6(u32be(buf, rdata), u32be(buf, rdata + 4), u32be(buf, rdata + 8), u32be(buf, rdata + 12)),
      };
    case DnsType.CNAME: {
      const at = readName(buf, msg, end, rdata);
      // Stryker disable next-line StringLiteral: the caller sets the owner name
      if (at === rdata + rdLen) return { name: '', type, ttl: 0, target: nameText };
      // A name that runs past its RDATA (or past the message, through it: TRUNCATED, the highest NameError) is bad RDATA;
      // other faults say what they are.
      if (at >= NameError.TRUNCATED) break;
      anomalies.count(NAME_ANOMALY[at]);
      return null;
    }
    default:
      return null; // other types: skipped by RDLENGTH
  }
  anomalies.count('dns.bad_rdata');
  return null;
}
