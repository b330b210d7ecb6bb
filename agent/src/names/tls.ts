// TLS ClientHello: where the client says it is going. The record layer
// (RFC 8446 §5.1, record versions TLS 1.0–1.3) may split the handshake
// message over several records; the message itself (RFC 8446 §4.1.2,
// RFC 5246 §7.4.1.2) carries server_name (RFC 6066 §3), ALPN (RFC 7301),
// supported_versions (RFC 8446 §4.2.1) and encrypted_client_hello
// (draft-ietf-tls-esni, 0xfe0d). QUIC carries the bare message in CRYPTO
// frames (RFC 9001 §4), hence the two entry points.
// Every length is checked against its container before it is used; bad
// input gives a named anomaly, never an exception.

import type { Anomalies, AnomalyName } from '../decode/anomaly.js';
import { u16be } from '../util/bytes.js';
import { cachedName } from './dns.js';
import type { ClientHelloInfo, Outcome } from './types.js';

export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;
export const HandshakeType = { CLIENT_HELLO: 1 } as const;
export const ExtensionType = {
  SERVER_NAME: 0,
  ALPN: 16,
  SUPPORTED_VERSIONS: 43,
  ENCRYPTED_CLIENT_HELLO: 0xfe0d,
} as const;
const NameType = { HOST_NAME: 0 } as const;

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** TLSPlaintext.length may not exceed 2^14 (RFC 8446 §5.1). */
const MAX_RECORD = 16_384;
/** Largest ClientHello body accepted; real ones, post-quantum key shares included, are 0.2–2 KB. */
export const MAX_CLIENT_HELLO = 16_384;
/** ALPN entries kept; the rest of a longer list is skipped. */
export const MAX_ALPN = 16;
/** A DNS name is at most 253 characters (255 octets on the wire); one trailing dot is tolerated. */
const MAX_HOST_NAME = 254;

type Result = Outcome<ClientHelloInfo>;

function invalid(anomalies: Anomalies, anomaly: AnomalyName): Result {
  anomalies.count(anomaly);
  return { kind: 'invalid', anomaly };
}

/** A record header's fields, checked as far as `have` bytes reach; null when fine so far. */
function badRecordHeader(buf: Uint8Array, at: number, have: number): AnomalyName | null {
  if (have >= 1 && buf[at] !== ContentType.HANDSHAKE) {
    const type = buf[at];
    return type >= ContentType.CHANGE_CIPHER_SPEC && type <= ContentType.HEARTBEAT
      ? 'tls.not_client_hello'
      : 'tls.bad_record';
  }
  if (have >= 2 && buf[at + 1] !== 3) return 'tls.bad_record';
  if (have >= 3 && (buf[at + 2] < 1 || buf[at + 2] > 4)) return 'tls.bad_record';
  if (have >= 5) {
    const length = u16be(buf, at + 3);
    if (length === 0 || length > MAX_RECORD) return 'tls.bad_record';
  }
  return null;
}

/**
 * A ClientHello at the start of a TLS byte stream (client to server), over
 * the record layer. `need` while the prefix is too short to decide (bytes is
 * the least number of further bytes that could be enough); 'invalid', with
 * its anomaly counted, as soon as the bytes show this is not a ClientHello.
 */
export function parseTlsClientHello(buf: Uint8Array, off: number, len: number, anomalies: Anomalies): Result {
  // Stryker disable next-line EqualityOperator: at off 0 either way off stays 0
  if (!(off >= 0)) off = 0;
  len = Math.max(0, Math.min(len, buf.length - off)); // never read outside buf
  const end = off + len;
  // Fast path: the whole handshake message inside the first record (almost always); parsed in place.
  // A mutant that only sends more input to acrossRecords() (which gives the same answer, with a copy) is equivalent.
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BlockStatement: falls back to acrossRecords
  if (len >= RECORD_HEADER + HANDSHAKE_HEADER && badRecordHeader(buf, off, len) === null) {
    const recLen = u16be(buf, off + 3);
    // Stryker disable next-line ArithmeticOperator: a wrong body offset reads no ClientHello type there and falls back
    const body = off + RECORD_HEADER;
    // Stryker disable next-line ArithmeticOperator: a wrong length exceeds the record and falls back
    const msgLen = HANDSHAKE_HEADER + ((buf[body + 1] << 16) | (buf[body + 2] << 8) | buf[body + 3]);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: each falls back to acrossRecords, or parses a message that says itself it is no ClientHello
    if (buf[body] === HandshakeType.CLIENT_HELLO && msgLen <= recLen && body + msgLen <= end)
      return parseClientHelloMessage(buf, body, msgLen, anomalies);
  }
  return acrossRecords(buf, off, end, anomalies);
}

/**
 * The general case: walk the records, checking each header, until the
 * handshake message is complete (then join its fragments and parse it) or
 * the bytes run out (then say how many more are needed at least).
 * Handshake messages may not be interleaved with other record types.
 */
function acrossRecords(buf: Uint8Array, off: number, end: number, anomalies: Anomalies): Result {
  let msgLen = -1; // unknown until the four handshake header bytes are in
  let got = 0; // handshake bytes seen
  let header = 0;
  for (let at = off; ; ) {
    const bad = badRecordHeader(buf, at, end - at);
    if (bad) return invalid(anomalies, at === off ? bad : 'tls.bad_record');
    if (end - at < RECORD_HEADER) return { kind: 'need', bytes: RECORD_HEADER - (end - at) + missing(msgLen, got) };
    const recLen = u16be(buf, at + 3);
    const body = at + RECORD_HEADER;
    const avail = Math.min(recLen, end - body);
    let i = 0;
    // Stryker disable next-line EqualityOperator: one more byte shifted into `header` changes nothing: msgLen was taken at the fourth
    for (; i < avail && got < HANDSHAKE_HEADER; i++, got++) {
      const b = buf[body + i];
      if (got === 0 && b !== HandshakeType.CLIENT_HELLO) return invalid(anomalies, 'tls.not_client_hello');
      header = (header << 8) | b;
      if (got === HANDSHAKE_HEADER - 1) {
        msgLen = HANDSHAKE_HEADER + (header & 0xffffff);
        if (msgLen - HANDSHAKE_HEADER > MAX_CLIENT_HELLO) return invalid(anomalies, 'tls.too_large');
      }
    }
    // Stryker disable next-line EqualityOperator: msgLen is -1 or at least 4
    if (msgLen >= 0) got += Math.min(avail - i, msgLen - got);
    if (got === msgLen) return parseClientHelloMessage(join(buf, off, msgLen), 0, msgLen, anomalies);
    if (avail < recLen) {
      const left = recLen - avail;
      const short = missing(msgLen, got);
      return { kind: 'need', bytes: short > left ? left + RECORD_HEADER + (short - left) : short };
    }
    at = body + recLen;
  }
}

/** The first `msgLen` handshake bytes of the (already checked) records starting at `off`, in one buffer. */
function join(buf: Uint8Array, off: number, msgLen: number): Uint8Array {
  const out = new Uint8Array(msgLen);
  for (let at = off, got = 0; got < msgLen; ) {
    const take = Math.min(u16be(buf, at + 3), msgLen - got);
    out.set(buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + take), got);
    got += take;
    at += RECORD_HEADER + u16be(buf, at + 3);
  }
  return out;
}

/** Handshake bytes still missing (at least those of the header while its length is not known). */
function missing(msgLen: number, got: number): number {
  // Stryker disable next-line EqualityOperator: msgLen is -1 or at least 4
  return msgLen < 0 ? HANDSHAKE_HEADER - got : msgLen - got;
}

/**
 * A bare ClientHello handshake message (type 1, u24 length, body) at
 * buf[off, off + len), as QUIC's CRYPTO stream carries it.
 */
export function parseClientHelloMessage(buf: Uint8Array, off: number, len: number, anomalies: Anomalies): Result {
  // Stryker disable next-line EqualityOperator: at off 0 either way off stays 0
  if (!(off >= 0)) off = 0;
  len = Math.max(0, Math.min(len, buf.length - off)); // never read outside buf
  if (len >= 1 && buf[off] !== HandshakeType.CLIENT_HELLO) return invalid(anomalies, 'tls.not_client_hello');
  if (len < HANDSHAKE_HEADER) return { kind: 'need', bytes: HANDSHAKE_HEADER - len };
  const bodyLen = (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
  if (bodyLen > MAX_CLIENT_HELLO) return invalid(anomalies, 'tls.too_large');
  if (len < HANDSHAKE_HEADER + bodyLen) return { kind: 'need', bytes: HANDSHAKE_HEADER + bodyLen - len };
  return parseBody(buf, off + HANDSHAKE_HEADER, off + HANDSHAKE_HEADER + bodyLen, anomalies);
}

function parseBody(buf: Uint8Array, p: number, end: number, anomalies: Anomalies): Result {
  // legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a shorter body fails the cipher_suites checks below with the same anomaly
  if (end - p < 2 + 32 + 1) return invalid(anomalies, 'tls.bad_handshake');
  const legacyVersion = u16be(buf, p);
  if (buf[p] !== 3) return invalid(anomalies, 'tls.bad_handshake');
  p += 2 + 32;
  const sessionIdLen = buf[p];
  p += 1 + sessionIdLen;
  if (sessionIdLen > 32) return invalid(anomalies, 'tls.bad_handshake');
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: past the end, the suites length fails the checks below with the same anomaly
  if (end - p < 2) return invalid(anomalies, 'tls.bad_handshake');
  const suitesLen = u16be(buf, p);
  p += 2 + suitesLen;
  if (suitesLen < 2 || suitesLen % 2 !== 0) return invalid(anomalies, 'tls.bad_handshake');
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: past the end, p > end below gives the same anomaly
  if (end - p < 1) return invalid(anomalies, 'tls.bad_handshake');
  const compressionLen = buf[p];
  p += 1 + compressionLen;
  if (compressionLen < 1) return invalid(anomalies, 'tls.bad_handshake');
  // Stryker disable next-line ConditionalExpression,EqualityOperator: past the end, end - p < 2 below gives the same anomaly
  if (p > end) return invalid(anomalies, 'tls.bad_handshake');
  const info: ClientHelloInfo = { sni: null, alpn: [], ech: false, legacyVersion, supportedVersions: [] };
  if (p === end) return { kind: 'done', value: info }; // no extensions (allowed before TLS 1.3)
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: with one byte left, extEnd is past end and fails the next check
  if (end - p < 2) return invalid(anomalies, 'tls.bad_handshake');
  const extEnd = p + 2 + u16be(buf, p);
  if (extEnd !== end) return invalid(anomalies, 'tls.bad_handshake');
  p += 2;
  let seen = 0; // bit per extension we read, to catch duplicates (RFC 8446 §4.2)
  while (p < extEnd) {
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a cut extension header ends past extEnd and fails p > extEnd with the same anomaly
    if (extEnd - p < 4) return invalid(anomalies, 'tls.bad_extension');
    const type = u16be(buf, p);
    const dataLen = u16be(buf, p + 2);
    const data = p + 4;
    p = data + dataLen;
    if (p > extEnd) return invalid(anomalies, 'tls.bad_extension');
    const bit = extensionBit(type); // 0 for the extensions not read: never a duplicate
    if (seen & bit) return invalid(anomalies, 'tls.bad_extension');
    seen |= bit;
    let ok = true;
    switch (type) {
      case ExtensionType.SERVER_NAME:
        ok = readServerName(buf, data, p, info, anomalies);
        break;
      case ExtensionType.ALPN:
        ok = readAlpn(buf, data, p, info);
        break;
      case ExtensionType.SUPPORTED_VERSIONS:
        ok = readSupportedVersions(buf, data, p, info);
        break;
      case ExtensionType.ENCRYPTED_CLIENT_HELLO:
        // Present: the real ClientHello (and name) is encrypted; the outer SNI is the ECH
        // public name. Chromium also sends a GREASE ECH extension that looks the same.
        info.ech = true;
        break;
    }
    if (!ok) return invalid(anomalies, 'tls.bad_extension');
  }
  return { kind: 'done', value: info };
}

function extensionBit(type: number): number {
  switch (type) {
    case ExtensionType.SERVER_NAME:
      return 1;
    case ExtensionType.ALPN:
      return 2;
    case ExtensionType.SUPPORTED_VERSIONS:
      return 4;
    case ExtensionType.ENCRYPTED_CLIENT_HELLO:
      return 8;
    default:
      return 0;
  }
}

/**
 * server_name: ServerNameList<1..2^16-1> of {name_type, HostName<1..2^16-1>}.
 * The first host_name is the name; one that is not a printable ASCII name
 * is not reported (sni stays null) and counted, the rest of the hello is kept.
 */
function readServerName(buf: Uint8Array, p: number, end: number, info: ClientHelloInfo, anomalies: Anomalies): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: shorter data fails the list-length check below (a negative length)
  if (end - p < 2) return false;
  if (u16be(buf, p) !== end - p - 2 || end - p === 2) return false;
  p += 2;
  while (p < end) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a cut entry ends past end, or has length 0, and fails the check below
    if (end - p < 3) return false;
    const nameType = buf[p];
    const nameLen = u16be(buf, p + 1);
    const name = p + 3;
    p = name + nameLen;
    if (p > end || nameLen === 0) return false;
    if (nameType !== NameType.HOST_NAME || info.sni !== null) continue;
    const host = hostName(buf, name, nameLen);
    if (host === null) anomalies.count('tls.bad_extension');
    else info.sni = host;
  }
  return true;
}

/** Lowercased ASCII when every byte is a printable, non-space character; null otherwise. */
function hostName(buf: Uint8Array, p: number, len: number): string | null {
  if (len > MAX_HOST_NAME) return null;
  return cachedName(buf, p, len);
}

/** ALPN: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>; non-printable bytes shown as \xNN. */
function readAlpn(buf: Uint8Array, p: number, end: number, info: ClientHelloInfo): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: shorter data fails the list-length check below (a negative length)
  if (end - p < 2) return false;
  if (u16be(buf, p) !== end - p - 2 || end - p === 2) return false;
  p += 2;
  while (p < end) {
    const n = buf[p];
    const name = p + 1;
    p = name + n;
    if (n === 0 || p > end) return false;
    if (info.alpn.length >= MAX_ALPN) continue;
    const known = knownAlpn(buf, name, n);
    // Stryker disable next-line BlockStatement: without the shortcut the name is made from its bytes below, the same text
    if (known !== null) {
      info.alpn.push(known);
      continue;
    }
    let s = '';
    for (let i = name; i < p; i++) {
      const c = buf[i];
      s += c > 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
    info.alpn.push(s);
  }
  return true;
}

/** Protocol names nearly every client offers (IANA "TLS ALPN Protocol IDs"), kept as one string each. */
const KNOWN_ALPN: readonly string[] = ['h2', 'http/1.1', 'h3', 'http/1.0', 'h3-29', 'dot', 'doq', 'h2c', 'acme-tls/1'];

/** buf[p, p + n) when it is one of KNOWN_ALPN, else null. */
// Stryker disable all: a shortcut only. A name it does not find (or finds wrongly short) is made from its bytes by
// readAlpn, the same text; it cannot find a wrong name, since the only bytes before p are the name's length (< 33)
function knownAlpn(buf: Uint8Array, p: number, n: number): string | null {
  for (const k of KNOWN_ALPN) {
    if (k.length !== n) continue;
    let i = 0;
    while (i < n && buf[p + i] === k.charCodeAt(i)) i++;
    if (i === n) return k;
  }
  return null;
}
// Stryker restore all

/** supported_versions in a ClientHello: ProtocolVersion versions<2..254>. */
function readSupportedVersions(buf: Uint8Array, p: number, end: number, info: ClientHelloInfo): boolean {
  const n = end - p - 1;
  if (n < 2 || buf[p] !== n || n % 2 !== 0) return false;
  for (let i = p + 1; i < end; i += 2) info.supportedVersions.push(u16be(buf, i));
  return true;
}
