// What the names stage emits: the body of each app-layer event, with the
// field names of Suricata's EVE JSON (dns, tls, quic, http records; EVE's
// "dns" v2 format for answers), DNS types and response codes named as
// RFC 1035 §3.2.2 / §4.1.1 and the IANA DNS parameters registry name them,
// versions as RFC 8446 §4.2.1 (TLS) and RFC 9000 §15 (QUIC) number them.
// The pipeline adds time, flow id and tuple.

import type { DnsMessage } from './dns.js';
import type { AppProto, FlowApp } from './flow-app.js';
import type { HttpRequestInfo } from './http.js';
import type { ClientHelloInfo } from './types.js';

/**
 * A DNS event as the stage hands it on: the message parsed, and its bytes
 * (buf[off, off + len), valid only during the call). The event's body is
 * made from `message` only by an output that wants it (dnsEventBody); the
 * scan's event thread (output/event-ring.ts) takes the bytes instead.
 */
export interface DnsWire {
  message: DnsMessage;
  buf: Uint8Array;
  off: number;
  len: number;
}

/** How app-layer events leave the stage: the pipeline adds time, flow id and tuple. A DNS event comes as `dns`, with no body. */
export type AppEventSink = (
  app: FlowApp,
  tsUs: number,
  type: AppProto,
  body: Record<string, unknown> | null,
  dns: DnsWire | null,
) => void;

export function httpEventBody(req: HttpRequestInfo): Record<string, unknown> {
  return {
    hostname: req.host,
    http_method: req.method,
    url: req.target,
    protocol: req.version,
    http_user_agent: req.userAgent,
  };
}

/** A TLS or QUIC ClientHello; `version` is the QUIC version (absent: unknown). */
export function helloEventBody(
  hello: ClientHelloInfo,
  type: 'tls' | 'quic',
  version?: number,
): Record<string, unknown> {
  const body: Record<string, unknown> = { sni: hello.sni, alpn: hello.alpn, ech: hello.ech };
  if (type === 'tls') body.version = tlsVersionName(hello);
  else body.version = version === undefined ? null : hexVersion(version);
  return body;
}

export function hexVersion(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

export function dnsEventBody(m: DnsMessage): Record<string, unknown> {
  const q = m.questions[0];
  return {
    type: m.response ? 'answer' : 'query',
    id: m.id,
    rrname: q?.name ?? null,
    rrtype: q ? rrTypeName(q.type) : null,
    rcode: m.response ? rcodeName(m.rcode) : undefined,
    answers: m.response
      ? m.answers.map((a) => ({
          rrname: a.name,
          rrtype: rrTypeName(a.type),
          ttl: a.ttl,
          rdata: a.address ?? a.target ?? null,
        }))
      : undefined,
  };
}

const RR_TYPES: Record<number, string> = {
  1: 'A',
  5: 'CNAME',
  28: 'AAAA',
  2: 'NS',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  33: 'SRV',
  65: 'HTTPS',
};
const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

export function rrTypeName(t: number): string {
  return RR_TYPES[t] ?? `TYPE${t}`;
}

export function rcodeName(r: number): string {
  return RCODES[r] ?? `RCODE${r}`;
}

const TLS_VERSIONS: Record<number, string> = { 769: 'TLS 1.0', 770: 'TLS 1.1', 771: 'TLS 1.2', 772: 'TLS 1.3' };

function tlsVersionName(h: ClientHelloInfo): string {
  const v = h.supportedVersions.includes(0x0304) ? 0x0304 : h.legacyVersion;
  return TLS_VERSIONS[v] ?? `0x${v.toString(16)}`;
}
