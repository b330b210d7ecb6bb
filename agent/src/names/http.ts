// HTTP/1.x request line and Host header (RFC 9112 §3, RFC 9110 §7.2), from
// the first bytes a client sends on a TCP connection. The port is stripped
// from Host; an IPv6 literal keeps its address without brackets.

import type { Anomalies } from '../decode/anomaly.js';
import type { Outcome } from './types.js';

export interface HttpRequestInfo {
  method: string;
  target: string;
  version: string;
  /** Host header without port, lowercased; null when absent. */
  host: string | null;
  userAgent: string | null;
  /** Bytes of the request head, its closing blank line included. */
  headLength: number;
}

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];
/** The request head must fit in this many bytes; beyond it we give up (as servers do with 431). */
export const MAX_HEAD_BYTES = 8192;
const CR = 0x0d;
const LF = 0x0a;

/** Does this payload start like an HTTP/1.x request? Cheap: the method and a space. */
export function looksLikeHttpRequest(buf: Uint8Array, off: number, len: number): boolean {
  for (const m of METHODS) {
    if (len < m.length + 1) continue;
    let ok = buf[off + m.length] === 0x20;
    for (let i = 0; ok && i < m.length; i++) ok = buf[off + i] === m.charCodeAt(i);
    if (ok) return true;
  }
  return false;
}

export function parseHttpRequest(
  buf: Uint8Array,
  off: number,
  len: number,
  anomalies: Anomalies,
): Outcome<HttpRequestInfo> {
  const end = off + Math.min(len, MAX_HEAD_BYTES);
  let headEnd = -1;
  for (let i = off; i + 3 < end; i++) {
    if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) {
      headEnd = i;
      break;
    }
  }
  if (headEnd < 0) {
    if (len >= MAX_HEAD_BYTES) {
      anomalies.count('http.bad_request');
      return { kind: 'invalid', anomaly: 'http.bad_request' };
    }
    return { kind: 'need', bytes: len + 1 };
  }
  const head = Buffer.from(buf.buffer, buf.byteOffset + off, headEnd - off).toString('latin1');
  const lines = head.split('\r\n');
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]);
  if (m === null) {
    anomalies.count('http.bad_request');
    return { kind: 'invalid', anomaly: 'http.bad_request' };
  }
  let host: string | null = null;
  let userAgent: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon === -1) continue; // a line opening with ':' has an empty name, which no header below matches
    const name = lines[i].slice(0, colon).toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    if (name === 'host' && host === null) host = stripPort(value.toLowerCase());
    else if (name === 'user-agent' && userAgent === null) userAgent = value;
  }
  return {
    kind: 'done',
    value: { method: m[1], target: m[2], version: m[3], host: host || null, userAgent, headLength: headEnd + 4 - off },
  };
}

/** "example.org:8080" → "example.org"; "[2001:db8::1]:80" → "2001:db8::1". */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(1, close);
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}
