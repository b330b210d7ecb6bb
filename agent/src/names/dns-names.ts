// DNS in the names stage: every DNS message a flow carries, over UDP
// (RFC 1035 §4.2.1) or over TCP (RFC 7766: both directions reassembled and
// framed by length, RFC 1035 §4.2.2), becomes a dns event, and its answers
// feed the answer cache (dns-cache.ts) that names later connections.

import type { Anomalies } from '../decode/anomaly.js';
import type { Packet } from '../decode/packet.js';
import type { AppEventSink } from './app-events.js';
import { parseDnsMessage } from './dns.js';
import type { DnsAnswerCache } from './dns-cache.js';
import { DnsTcpFramer } from './dns-tcp.js';
import type { DnsTcpDirection, FlowApp } from './flow-app.js';
import { TcpStreamAssembler } from './stream.js';

export const DNS_PORT = 53;
/** DNS over TCP is read up to this many bytes per direction; beyond it only counters move. */
const DNS_TCP_MAX_BYTES = 65_536;
/** `next` of a DNS-over-TCP direction given up on. */
const DNS_DIRECTION_DEAD = -2;

export class DnsNames {
  constructor(
    private readonly anomalies: Anomalies,
    private readonly dnsCache: DnsAnswerCache,
    private readonly emit: AppEventSink,
    /** The names stage's bound on reassembly buffers (NamesEngine): false when this flow may not take one. */
    private readonly acquire: (app: FlowApp) => boolean,
  ) {}

  /** DNS over TCP (RFC 7766): both directions reassembled and framed; answers feed the cache. */
  onTcp(app: FlowApp, p: Packet, buf: Buffer, toServer: boolean, tsUs: number): boolean {
    const dir = app.dnsTcp?.[toServer ? 0 : 1];
    if (dir === undefined || p.payloadLen === 0) return false;
    const seq = p.tcpSeq;
    if (dir.next === DNS_DIRECTION_DEAD) return false;
    if (dir.stream === null) {
      if (dir.next === -1 || seq === dir.next) {
        dir.next = (seq + p.payloadLen) >>> 0;
        const chunk = buf.subarray(p.payloadOff, p.payloadOff + p.payloadLen);
        for (const msg of dir.framer.push(chunk)) this.message(app, msg, 0, msg.length, tsUs);
        return false;
      }
      if (((seq + p.payloadLen - dir.next) | 0) <= 0) return false; // a retransmission of what was framed
      if (!this.acquire(app)) {
        dir.next = DNS_DIRECTION_DEAD; // over the bound: this direction is read no further
        return false;
      }
      dir.stream = new TcpStreamAssembler(DNS_TCP_MAX_BYTES, this.anomalies);
      dir.stream.start((dir.next - 1) >>> 0);
    }
    dir.stream.add(seq, buf, p.payloadOff, p.payloadLen);
    this.frame(app, dir, tsUs);
    return false;
  }

  /** Frame what `dir`'s reassembly buffer holds in order beyond what was framed already. */
  frame(app: FlowApp, dir: DnsTcpDirection, tsUs: number): void {
    if (dir.stream === null) return;
    const head = dir.stream.contiguous();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the prefix never shrinks, and the framer takes an empty chunk as nothing
    if (head.length <= dir.framed) return;
    for (const msg of dir.framer.push(head.subarray(dir.framed))) this.message(app, msg, 0, msg.length, tsUs);
    dir.framed = head.length;
  }

  /** A direction of DNS over TCP, before its first data segment. */
  direction(): DnsTcpDirection {
    return { next: -1, stream: null, framer: new DnsTcpFramer(this.anomalies), framed: 0 };
  }

  /** One DNS message: an event, and its answers into the cache. */
  message(app: FlowApp, buf: Uint8Array, off: number, len: number, tsUs: number): void {
    const m = parseDnsMessage(buf, off, len, this.anomalies);
    if (m === null) return;
    // Stryker disable next-line ConditionalExpression: the cache records nothing from a query (DnsAnswerCache.record checks again)
    if (m.response) this.dnsCache.record(app.srcIp, m, tsUs);
    this.emit(app, tsUs, 'dns', null, { message: m, buf, off, len });
  }
}
